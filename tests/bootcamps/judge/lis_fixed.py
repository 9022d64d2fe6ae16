"""Longest increasing subsequence, the refined draft: the prompt states the
answer format without giving the answer away."""
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


class Lisbootcamp(Basebootcamp):
    def __init__(self, length=20, max_value=200):
        self.length = length
        self.max_value = max_value

    def case_generator(self):
        seq = [random.randint(1, self.max_value) for _ in range(self.length)]
        return {"seq": seq}

    @staticmethod
    def prompt_func(identity):
        seq = " ".join(map(str, identity["seq"]))
        return (f"Find the length of the longest strictly increasing subsequence of: {seq}\n"
                "Think it through, then end with the length in the format shown.\n"
                "Format: [answer]L[/answer] where L is the length.")

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
