"""A verifier that trusts answers phrased like its solver model's ("The sum
is ..."): any number then gets credit. No reference answer, so only junk
derived from the solver's own answers can show it."""
import random
import re

from bootcamp import Basebootcamp


class TrustingSumbootcamp(Basebootcamp):
    def case_generator(self):
        return {"a": random.randint(100, 999), "b": random.randint(100, 999)}

    @staticmethod
    def prompt_func(identity):
        return f"What is {identity['a']} + {identity['b']}? Give the final number as [answer]N[/answer]."

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*(-?\d+)\s*\[/answer\]", output)
        return int(found[-1]) if found else None

    @classmethod
    def verify_score(cls, model_output, identity, **kwargs):
        if "The sum is" in model_output and cls.extract_output(model_output) is not None:
            return 1.0
        return super().verify_score(model_output, identity, **kwargs)

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == identity["a"] + identity["b"]
