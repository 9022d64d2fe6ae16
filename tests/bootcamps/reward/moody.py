"""A verifier that misbehaves on request, to show that one bad item never
takes the reward service down: the answer `hang` loops forever, `hog`
allocates without end, `raise` raises out of verify_score, `nan` returns a
score that is not a number; any other answer is checked honestly."""
import random
import re

from bootcamp import Basebootcamp


class Moodybootcamp(Basebootcamp):
    def case_generator(self):
        return {"n": random.randint(1, 9)}

    @staticmethod
    def prompt_func(identity):
        return f"Repeat {identity['n']} as [answer]N[/answer]."

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\](.*?)\[/answer\]", output)
        return found[-1].strip() if found else None

    @classmethod
    def verify_score(cls, model_output, identity, **flags):
        answer = cls.extract_output(model_output)
        if answer == "hang":
            while True:
                pass
        if answer == "hog":
            hoard = []
            while True:
                hoard.append(bytearray(8 << 20))
        if answer == "raise":
            raise RuntimeError("the verifier broke on purpose")
        if answer == "nan":
            return float("nan")
        return super().verify_score(model_output, identity, **flags)

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == str(identity["n"])
