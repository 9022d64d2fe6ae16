"""Cases of 340,000 zeros each: just under the 1 MiB case cap as JSON text,
but 20-30 times that as a parsed JSON tree. The host must not pay for them."""
import random
import re

from bootcamp import Basebootcamp


class Zerosbootcamp(Basebootcamp):
    def __init__(self, size=340_000):
        self.size = size

    def case_generator(self):
        cells = [0] * self.size
        cells[random.randrange(self.size)] = random.randint(1, 9)
        return {"cells": cells}

    @staticmethod
    def prompt_func(identity):
        return (f"One cell of a row of {len(identity['cells'])} is not zero; it is at "
                f"index {max(range(len(identity['cells'])), key=identity['cells'].__getitem__)}. "
                "Which value does it hold? Put the digit in [answer]...[/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\](.*?)\[/answer\]", output)
        return found[-1].strip() if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == str(max(identity["cells"]))

    @staticmethod
    def reference_output(identity):
        return f"[answer]{max(identity['cells'])}[/answer]"
