"""The total of a list, checked exactly: the fixed draft of a campaign test."""
import random
import re

from bootcamp import Basebootcamp


class Totalbootcamp(Basebootcamp):
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
        return solution is not None and solution == sum(identity["numbers"])

    @staticmethod
    def reference_output(identity):
        return f"[answer]{sum(identity['numbers'])}[/answer]"
