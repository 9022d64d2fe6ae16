"""Add two integers: the reward service's plain, right-or-wrong bootcamp."""
import random
import re

from internbootcamp.bootcamp.base import Basebootcamp


class SumPairbootcamp(Basebootcamp):
    def __init__(self, low=1, high=1000):
        self.low = low
        self.high = high

    def case_generator(self):
        return {"a": random.randint(self.low, self.high), "b": random.randint(self.low, self.high)}

    @staticmethod
    def prompt_func(identity):
        return f"What is {identity['a']} + {identity['b']}? Answer as [answer]N[/answer]."

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*(-?\d+)\s*\[/answer\]", output)
        return int(found[-1]) if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == identity["a"] + identity["b"]
