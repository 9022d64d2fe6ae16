import random, re
from bootcamp import Basebootcamp
class B(Basebootcamp):
    def case_generator(self):
        return {"x": [0]*5_000_000, "s": random.random()}
    @staticmethod
    def prompt_func(identity):
        return "Give [answer]N[/answer]."
    @staticmethod
    def extract_output(output):
        return output
    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == "x"
