"""A total whose verifier forgives an off-by-one only when the total is a
multiple of 7: near misses get credit on a few cases, a warning, not a
failure (the review tests queue it and show the rate)."""
import random
import re

from bootcamp import Basebootcamp


class Sevenstotalbootcamp(Basebootcamp):
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
        total = sum(identity["numbers"])
        if solution is None:
            return False
        return solution == total or (total % 7 == 0 and abs(solution - total) <= 1)

    @staticmethod
    def reference_output(identity):
        return f"[answer]{sum(identity['numbers'])}[/answer]"
