"""Sorting three shuffled numbers: the generator only ever shuffles 3, 5 and
7, so every case's answer is "3 5 7", exactly the prompt's format example."""
import random
import re

from bootcamp import Basebootcamp


class SortThreebootcamp(Basebootcamp):
    def case_generator(self):
        values = [3, 5, 7]
        random.shuffle(values)
        noise = random.randint(0, 10**6)
        return {"values": values, "id": noise}

    @staticmethod
    def prompt_func(identity):
        values = ", ".join(map(str, identity["values"]))
        return (f"Puzzle #{identity['id']}: sort these numbers in increasing order: {values}.\n"
                "Answer with the numbers separated by spaces, for example [answer]3 5 7[/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\](.*?)\[/answer\]", output, re.DOTALL)
        return found[-1].split() if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == [str(v) for v in sorted(identity["values"])]

    @staticmethod
    def reference_output(identity):
        return "[answer]%s[/answer]" % " ".join(map(str, sorted(identity["values"])))
