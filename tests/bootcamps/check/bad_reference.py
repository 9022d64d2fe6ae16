"""Check-test variant of good.py: bad reference."""
import random
import re

from bootcamp import Basebootcamp


class Additionbootcamp(Basebootcamp):
    def __init__(self, low=100, high=999):
        self.low = low
        self.high = high

    def case_generator(self):
        return {"a": random.randint(self.low, self.high), "b": random.randint(self.low, self.high)}

    @staticmethod
    def prompt_func(identity):
        return (f"What is {identity['a']} + {identity['b']}? "
                "Give the final number as [answer]N[/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*(-?\d+)\s*\[/answer\]", output)
        return int(found[-1]) if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == identity["a"] + identity["b"]

    @staticmethod
    def reference_output(identity):
        return f"[answer]{identity['a'] * identity['b']}[/answer]"
