import random, re
from bootcamp import Basebootcamp
def _extract(output):
    found = re.findall(r"\[answer\]\s*(-?\d+)\s*\[/answer\]", output)
    return int(found[-1]) if found else None
class B(Basebootcamp):
    def case_generator(self):
        return {"a": random.randint(100, 999), "b": random.randint(100, 999)}
    @staticmethod
    def prompt_func(identity):
        return f"What is {identity['a']} + {identity['b']}? Give [answer]N[/answer]."
    extract_output = staticmethod(_extract)
    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == identity["a"] + identity["b"]
