"""A test bootcamp for calibrate: add up numbers, how many drawn from a
range given by its two ends. The constructor refuses a range inside out, so
raising `min_size` alone soon breaks it; the scripted solver is right less
often the more numbers it must add."""
import random
import re

from bootcamp import Basebootcamp


class SumRangebootcamp(Basebootcamp):
    def __init__(self, min_size=2, max_size=4):
        if min_size > max_size:
            raise ValueError(f"min_size {min_size} > max_size {max_size}")
        self.min_size = min_size
        self.max_size = max_size

    def case_generator(self):
        size = random.randint(self.min_size, self.max_size)
        return {"numbers": [random.randint(1, 99) for _ in range(size)]}

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
