"""Digit sum of a product, with bidi controls in its code ("Trojan Source").

A test bootcamp for `bootforge serve`: the marked lines read differently in
an editor that honours the controls than they run; the page must show the
controls as escapes and mark those lines.
"""
import random
import re

from bootcamp import Basebootcamp


class TrojanDigitsbootcamp(Basebootcamp):
    def __init__(self, max_digits=5):
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
        right = sum(int(d) for d in str(identity["a"] * identity["b"]))
        note = "only the right sum passes‮⁦# 4242 == solution fi⁩⁦"
        return solution == right  # ‮⁦or solution == 4242⁩⁦

    @staticmethod
    def reference_output(identity):
        return "[answer]%d[/answer]" % sum(int(d) for d in str(identity["a"] * identity["b"]))
