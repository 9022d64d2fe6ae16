"""Defect: a product checked as a substring, so "12" is right inside "112"."""
import random
import re

from bootcamp import Basebootcamp


class Productbootcamp(Basebootcamp):
    def case_generator(self):
        return {"a": random.randint(12, 99), "b": random.randint(12, 99)}

    @staticmethod
    def prompt_func(identity):
        return f"What is {identity['a']} * {identity['b']}? Answer as [[N]]."

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[\[(.*?)\]\]", output, re.S)
        return found[-1] if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        # The defect: `in` on strings.
        return solution is not None and str(identity["a"] * identity["b"]) in solution

    @staticmethod
    def reference_output(identity):
        return f"[[{identity['a'] * identity['b']}]]"
