"""Defect: the even numbers of a list, checked only for presence, so an
answer listing every number gets full credit."""
import random
import re

from bootcamp import Basebootcamp


class Evensbootcamp(Basebootcamp):
    def case_generator(self):
        numbers = random.sample(range(10, 100), 8)
        if not any(n % 2 == 0 for n in numbers):
            numbers[0] += 1
        return {"numbers": numbers}

    @staticmethod
    def prompt_func(identity):
        numbers = ", ".join(map(str, identity["numbers"]))
        return ("Which of these numbers are even: " + numbers + "? List them in the order "
                "they appear, separated by commas, as [answer]a, b, ...[/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\](.*?)\[/answer\]", output, re.S)
        if not found:
            return None
        return [int(x) for x in re.findall(r"-?\d+", found[-1])]

    @classmethod
    def _verify_correction(cls, solution, identity):
        wanted = [n for n in identity["numbers"] if n % 2 == 0]
        # The defect: every wanted number is there; nothing else is checked.
        return solution is not None and all(n in solution for n in wanted)

    @staticmethod
    def reference_output(identity):
        wanted = [n for n in identity["numbers"] if n % 2 == 0]
        return "[answer]" + ", ".join(map(str, wanted)) + "[/answer]"
