import random, re
from bootcamp import Basebootcamp as Base
class B(Base):
    def case_generator(self):
        return {"a": random.randint(100, 999), "b": random.randint(100, 999)}
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
