"""A sum task whose verifier looks up a key its generator never writes: it
raises KeyError on every answer, verify_score turns that into 0, and the
bootcamp can never give credit, while looking strict against junk."""
import random
import re

from bootcamp import Basebootcamp


class TypoSumbootcamp(Basebootcamp):
    def case_generator(self):
        return {"a": random.randint(10, 999), "b": random.randint(10, 999)}

    @staticmethod
    def prompt_func(identity):
        return (f"Add {identity['a']} and {identity['b']}. Think it through, then give the "
                "sum as [answer]N[/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*(-?\d+)\s*\[/answer\]", output)
        return int(found[-1]) if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == identity["total"]
