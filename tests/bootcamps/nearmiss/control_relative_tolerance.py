"""Control: a circle's area, any answer within 1% relative error is right
(the prompt says so)."""
import math
import random
import re

from bootcamp import Basebootcamp


class Circleareabootcamp(Basebootcamp):
    def case_generator(self):
        return {"radius": round(random.uniform(2, 60), 2)}

    @staticmethod
    def prompt_func(identity):
        return (f"What is the area of a circle of radius {identity['radius']}? Any answer within "
                "1% relative error is accepted. Answer as [answer]x[/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*(-?\d+(?:\.\d+)?)\s*\[/answer\]", output)
        return float(found[-1]) if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        area = math.pi * identity["radius"] ** 2
        return solution is not None and abs(solution - area) <= 0.01 * area

    @staticmethod
    def reference_output(identity):
        return f"[answer]{math.pi * identity['radius'] ** 2:.4f}[/answer]"
