"""Subset counting with a search-heavy generator (the shape of the slowest
InternBootcamp files): each case brute-forces every subset to find a target
with a handful of solutions. The verifier only compares numbers."""
import itertools
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


class SubsetCountbootcamp(Basebootcamp):
    def __init__(self, size=13, max_value=40):
        self.size = size
        self.max_value = max_value

    def case_generator(self):
        while True:
            values = [random.randint(1, self.max_value) for _ in range(self.size)]
            target = random.randint(self.max_value, self.max_value * self.size // 3)
            count = count_subsets(values, target)
            if 1 <= count <= 40:
                return {"values": values, "target": target, "count": count}

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
        return solution == identity["count"]

    @staticmethod
    def reference_output(identity):
        return "[answer]%d[/answer]" % identity["count"]
