"""Symbolic algebra with sympy: expand (x + a)*(x + b) - x**2 and give
the result in any equivalent form. The verifier decides equivalence with
sympy, so "(a+b)*x + a*b", "a*b + x*(a + b)" and the expanded form all score.
Used by the sympy-component tests; the fake solver reads a and b from the
prompt."""
import random
import re

import sympy as sp
from sympy.parsing.sympy_parser import parse_expr, standard_transformations

from bootcamp import Basebootcamp

X = sp.Symbol("x")


class SymbolicExpandbootcamp(Basebootcamp):
    def __init__(self, low=-9, high=9):
        self.low = low
        self.high = high

    def case_generator(self):
        a = random.randint(self.low, self.high)
        b = random.randint(self.low, self.high)
        expected = sp.expand((X + a) * (X + b) - X**2)
        return {"a": a, "b": b, "expected": sp.sstr(expected)}

    @staticmethod
    def prompt_func(identity):
        return (f"Let a = {identity['a']} and b = {identity['b']}. "
                "Expand (x + a)*(x + b) - x**2 and collect the terms: a polynomial in x. "
                "Give it as [answer]EXPRESSION[/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\](.*?)\[/answer\]", output, re.DOTALL)
        return found[-1].strip() if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        if not solution or len(solution) > 200 or not re.fullmatch(r"[0-9x+\-*/() ^]+", solution):
            return False
        # Two operators in a row ("7*x + + 12") is a slip, not an answer,
        # even where Python would read the second as a sign.
        if re.search(r"[+\-*/^]\s*[+*/^]", solution.replace("**", "^")):
            return False
        try:
            given = parse_expr(solution.replace("^", "**"), local_dict={"x": X},
                               transformations=standard_transformations)
        except Exception:
            return False
        expected = parse_expr(identity["expected"], local_dict={"x": X})
        return sp.expand(given - expected) == 0

    @staticmethod
    def reference_output(identity):
        return f"[answer]{identity['expected']}[/answer]"
