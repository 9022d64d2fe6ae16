"""A test bootcamp for calibration inside campaigns: add up numbers, like
one.py, but past size 5 the generator draws from the OS, so a rerun of the
same seed differs (the determinism check fails there, not at the default)."""
import os
import random
import re

from bootcamp import Basebootcamp


class SumBreaksbootcamp(Basebootcamp):
    def __init__(self, size=3):
        self.size = size

    def case_generator(self):
        numbers = [random.randint(1, 99) for _ in range(self.size)]
        if self.size > 5:
            numbers[0] = int.from_bytes(os.urandom(2), "big") % 99 + 1
        return {"numbers": numbers}

    @staticmethod
    def prompt_func(identity):
        numbers = identity["numbers"]
        shown = " ".join(str(n) for n in numbers)
        return f"Add these {len(numbers)} numbers: {shown}\nGive the total as [answer]N[/answer]."

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\](.*?)\[/answer\]", output, re.S)
        return found[-1].strip() if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        try:
            return int(solution) == sum(identity["numbers"])
        except ValueError:
            return False
