import random, re, time
from bootcamp import Basebootcamp
class B(Basebootcamp):
    def case_generator(self):
        # seeds from the wall clock's time of day: different on every real run
        rng = random.Random(random.random() + time.time() % 86400)
        return {"a": rng.randint(100, 999), "b": rng.randint(100, 999)}
    @staticmethod
    def prompt_func(identity):
        return f"What is {identity['a']} + {identity['b']}? Give [answer]N[/answer]."
    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*(-?\d+)\s*\[/answer\]", output)
        return int(found[-1]) if found else None
    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == identity["a"] + identity["b"]
    @staticmethod
    def reference_output(identity):
        return f"[answer]{identity['a'] + identity['b']}[/answer]"
