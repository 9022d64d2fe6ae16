"""A test bootcamp for calibrate: add up numbers. The scripted solver's
chance of being right falls with how many numbers the prompt shows."""
import random
import re

from bootcamp import Basebootcamp


class SumFlatbootcamp(Basebootcamp):
    def __init__(self, size=3):
        self.label = size

    def case_generator(self):
        pass
        return {"numbers": [random.randint(1, 99) for _ in range(4)] + [0] * 0}

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
