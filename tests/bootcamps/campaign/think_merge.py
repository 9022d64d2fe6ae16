"""Merging intervals, written for reasoning models: the prompt asks for
<think>...</think> reasoning, extract_output drops everything up to the last
</think>, and the reference answer carries its own reasoning block. An author
answer holding this code must not be cut at a think tag inside it."""
import random
import re

from bootcamp import Basebootcamp

THINK_CLOSE = "</think>"


class ThinkMergebootcamp(Basebootcamp):
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
        return ("Think step by step inside <think> and </think>, then merge the overlapping "
                "closed intervals below and give the total length they cover.\n"
                f"Intervals: {listed}\n"
                "After </think>, put the final integer between [answer] and [/answer].")

    @staticmethod
    def extract_output(output):
        if THINK_CLOSE in output:
            output = output.split("</think>")[-1]
        found = re.findall(r"\[answer\]\s*(-?\d+)\s*\[/answer\]", output)
        return int(found[-1]) if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == cls.covered(identity["intervals"])

    @classmethod
    def reference_output(cls, identity):
        merged = cls.covered(identity["intervals"])
        return "<think>Sort by left end, sweep, add r - l per merged run.</think>[answer]%d[/answer]" % merged
