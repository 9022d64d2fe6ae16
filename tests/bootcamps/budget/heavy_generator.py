"""A well-formed bootcamp whose generator burns a set amount of CPU time per
case (`work` steps of a hash chain whose result goes into the case), for the
budget tests: its verdict must not depend on what else runs on the machine."""
import random
import re

from bootcamp import Basebootcamp


class Heavyadditionbootcamp(Basebootcamp):
    def __init__(self, work=100000):
        self.work = work

    def case_generator(self):
        a = random.randint(1000, 9999)
        b = random.randint(1000, 9999)
        chain = a
        for i in range(self.work):
            chain = (chain * 31 + i) % 1000003
        return {"a": a, "b": b, "chain": chain}

    @staticmethod
    def prompt_func(identity):
        return (f"What is {identity['a']} + {identity['b']}? "
                "Give the final number as [answer]N[/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*(-?\d+)\s*\[/answer\]", output)
        return int(found[-1]) if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == identity["a"] + identity["b"]

    @staticmethod
    def reference_output(identity):
        return f"[answer]{identity['a'] + identity['b']}[/answer]"
