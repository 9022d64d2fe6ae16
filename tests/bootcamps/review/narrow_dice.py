"""Sum of two dice: only 11 distinct prompts exist, so bulk generation must
drop the repeats and count them."""
import random
import re

from bootcamp import Basebootcamp


class DiceSumbootcamp(Basebootcamp):
    def case_generator(self):
        return {"d1": random.randint(1, 6), "d2": random.randint(1, 6)}

    @staticmethod
    def prompt_func(identity):
        return (f"Two dice show a total of {identity['d1'] + identity['d2']}. "
                "What is the largest value one die can show? Answer as [answer]N[/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*(\d+)\s*\[/answer\]", output)
        return int(found[-1]) if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == min(6, identity["d1"] + identity["d2"] - 1)
