"""Defect: the total of a list, accepted when off by one either way, and no
reference_output: the near misses come from the solver's right answers."""
import random
import re

from bootcamp import Basebootcamp


class Totalbootcamp(Basebootcamp):
    def case_generator(self):
        return {"numbers": [random.randint(10, 99) for _ in range(random.randint(4, 8))]}

    @staticmethod
    def prompt_func(identity):
        numbers = ", ".join(map(str, identity["numbers"]))
        return f"Add up these numbers: {numbers}. Give the total as [answer]N[/answer]."

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*(-?\d+)\s*\[/answer\]", output)
        return int(found[-1]) if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        # The defect: "close enough" is full credit.
        return solution is not None and abs(solution - sum(identity["numbers"])) <= 1
