"""Merging intervals (the example campaign's accepted first draft)."""
import random
import re

from bootcamp import Basebootcamp


class IntervalMergebootcamp(Basebootcamp):
    def __init__(self, min_intervals=5, max_intervals=12, max_coord=100):
        self.min_intervals = min_intervals
        self.max_intervals = max_intervals
        self.max_coord = max_coord

    def case_generator(self):
        intervals = []
        for _ in range(random.randint(self.min_intervals, self.max_intervals)):
            l = random.randint(0, self.max_coord - 1)
            r = random.randint(l, min(self.max_coord, l + 30))
            intervals.append([l, r])
        return {"intervals": intervals}

    @staticmethod
    def covered(intervals):
        total, current = 0, None
        for l, r in sorted(intervals):
            if current is None or l > current[1]:
                if current is not None:
                    total += current[1] - current[0]
                current = [l, r]
            else:
                current[1] = max(current[1], r)
        if current is not None:
            total += current[1] - current[0]
        return total

    @staticmethod
    def prompt_func(identity):
        listed = ", ".join(f"[{l}, {r}]" for l, r in identity["intervals"])
        return ("Merge the overlapping closed intervals below and give the total length they cover "
                f"(the sum of r - l over the merged intervals).\nIntervals: {listed}\n"
                "Put the final integer between [answer] and [/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*(-?\d+)\s*\[/answer\]", output)
        return int(found[-1]) if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == cls.covered(identity["intervals"])

    @classmethod
    def reference_output(cls, identity):
        return "[answer]%d[/answer]" % cls.covered(identity["intervals"])
