"""Digit sum of a product (the example campaign's refined draft)."""
import random
import re

from bootcamp import Basebootcamp


class DigitSumbootcamp(Basebootcamp):
    def __init__(self, max_digits=6):
        self.max_digits = max_digits

    def case_generator(self):
        a = random.randint(10, 10 ** self.max_digits - 1)
        b = random.randint(10, 10 ** self.max_digits - 1)
        return {"a": a, "b": b}

    @staticmethod
    def prompt_func(identity):
        return (f"What is the sum of the decimal digits of {identity['a']} * {identity['b']}? "
                "Put the final integer between [answer] and [/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*(-?\d+)\s*\[/answer\]", output)
        return int(found[-1]) if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == sum(int(d) for d in str(identity["a"] * identity["b"]))

    @staticmethod
    def reference_output(identity):
        return "[answer]%d[/answer]" % sum(int(d) for d in str(identity["a"] * identity["b"]))
