"""A bootcamp whose verifier gives credit to any answer at all: `review add`
must refuse it with its findings."""
import random

from bootcamp import Basebootcamp


class Parity2bootcamp(Basebootcamp):
    def case_generator(self):
        return {"n": random.randint(1, 10 ** 6)}

    @staticmethod
    def prompt_func(identity):
        return f"Is {identity['n']} even? Answer [answer]yes[/answer] or [answer]no[/answer]."

    @staticmethod
    def extract_output(output):
        return output

    @classmethod
    def _verify_correction(cls, solution, identity):
        return True
