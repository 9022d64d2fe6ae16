"""Longest increasing subsequence, whose prompt shows the case's own answer
as its worked "Example" (a leak found in a published bootcamp)."""
import random
import re

from bootcamp import Basebootcamp


def lis_length(seq):
    tails = []
    for x in seq:
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if tails[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        if lo == len(tails):
            tails.append(x)
        else:
            tails[lo] = x
    return len(tails)


class LeakyLisbootcamp(Basebootcamp):
    def __init__(self, length=14, max_value=60):
        self.length = length
        self.max_value = max_value

    def case_generator(self):
        seq = [random.randint(1, self.max_value) for _ in range(self.length)]
        return {"seq": seq, "answer": lis_length(seq)}

    @staticmethod
    def prompt_func(identity):
        seq = " ".join(map(str, identity["seq"]))
        return (f"Find the length of the longest strictly increasing subsequence of: {seq}\n"
                "Think it through, then end with the length in the format shown.\n"
                f"Example: [answer]{identity['answer']}[/answer]")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*(\d+)\s*\[/answer\]", output)
        return int(found[-1]) if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == lis_length(identity["seq"])

    @staticmethod
    def reference_output(identity):
        return "<think>Patience sorting over the sequence.</think>[answer]%d[/answer]" % lis_length(identity["seq"])
