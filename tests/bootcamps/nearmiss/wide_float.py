"""Defect: a quotient asked to two decimals, accepted within a whole unit."""
import random
import re

from bootcamp import Basebootcamp


class Quotientbootcamp(Basebootcamp):
    def case_generator(self):
        return {"a": random.randint(100, 999), "b": random.randint(20, 90)}

    @staticmethod
    def prompt_func(identity):
        return (f"Compute {identity['a']} / {identity['b']} rounded to 2 decimal places. "
                "Answer as [answer]x.xx[/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*(-?\d+(?:\.\d+)?)\s*\[/answer\]", output)
        return float(found[-1]) if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        # The defect: a tolerance a hundred times the precision asked for.
        return solution is not None and abs(solution - identity["a"] / identity["b"]) < 1.0

    @staticmethod
    def reference_output(identity):
        return f"[answer]{identity['a'] / identity['b']:.2f}[/answer]"
