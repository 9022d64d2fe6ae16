"""Subset counting whose verifier recomputes the answer by brute force on
every call (a common InternBootcamp shape): cheap cases, costly grading."""
import random
import re

from bootcamp import Basebootcamp


def count_subsets(values, target):
    count = 0
    for mask in range(1 << len(values)):
        total = 0
        for i, v in enumerate(values):
            if mask >> i & 1:
                total += v
        if total == target:
            count += 1
    return count


class SubsetRecountbootcamp(Basebootcamp):
    def __init__(self, size=11, max_value=30):
        self.size = size
        self.max_value = max_value

    def case_generator(self):
        values = [random.randint(1, self.max_value) for _ in range(self.size)]
        return {"values": values, "target": random.randint(self.max_value, self.max_value * 3)}

    @staticmethod
    def prompt_func(identity):
        values = ", ".join(map(str, identity["values"]))
        return (f"How many subsets of the multiset {{{values}}} (elements told apart by position) "
                f"sum to exactly {identity['target']}? End with [answer]COUNT[/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*(\d+)\s*\[/answer\]", output)
        return int(found[-1]) if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == count_subsets(identity["values"], identity["target"])

    @staticmethod
    def reference_output(identity):
        return "[answer]%d[/answer]" % count_subsets(identity["values"], identity["target"])
