"""Defect: the task is to sort, the verifier compares sorted copies, so any
order of the right numbers gets full credit."""
import random
import re

from bootcamp import Basebootcamp


class Sortdescbootcamp(Basebootcamp):
    def case_generator(self):
        return {"numbers": random.sample(range(100, 1000), random.randint(5, 9))}

    @staticmethod
    def prompt_func(identity):
        numbers = " ".join(map(str, identity["numbers"]))
        return ("Sort these numbers from largest to smallest: " + numbers +
                ". Reply with the sorted numbers separated by spaces as [answer]...[/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\](.*?)\[/answer\]", output, re.S)
        if not found:
            return None
        return [int(x) for x in re.findall(r"-?\d+", found[-1])]

    @classmethod
    def _verify_correction(cls, solution, identity):
        # The defect: the order, which is the whole task, is thrown away.
        return solution is not None and sorted(solution) == sorted(identity["numbers"])

    @staticmethod
    def reference_output(identity):
        return "[answer]" + " ".join(map(str, sorted(identity["numbers"], reverse=True))) + "[/answer]"
