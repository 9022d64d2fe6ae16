import random, re
from bootcamp import Basebootcamp
class B(Basebootcamp):
    def case_generator(self):
        return {"a": 2, "b": 2, "id": random.random()}   # the same task every time
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
