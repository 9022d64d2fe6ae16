"""Defect: a reversed word checked as a prefix of the right answer, so half
the answer is full credit."""
import random
import re

from bootcamp import Basebootcamp

ALPHABET = "abcdefghijklmnopqrstuvwxyz"


class Reversebootcamp(Basebootcamp):
    def case_generator(self):
        return {"word": "".join(random.choice(ALPHABET) for _ in range(random.randint(6, 12)))}

    @staticmethod
    def prompt_func(identity):
        return f"Write the string {identity['word']} backwards. Answer as [answer]...[/answer]."

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\](.*?)\[/answer\]", output, re.S)
        return found[-1].strip() if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        # The defect: startswith instead of equality.
        return bool(solution) and identity["word"][::-1].startswith(solution)

    @staticmethod
    def reference_output(identity):
        return f"[answer]{identity['word'][::-1]}[/answer]"
