"""InternBootcamp's double-bracket format on a task whose answer is always
"yes" (every generated number is a multiple of 6, and the question asks
whether it is even): guessing "[[yes]]" solves it."""
import random
import re

from bootcamp import Basebootcamp


class EvenSixbootcamp(Basebootcamp):
    def case_generator(self):
        return {"n": 6 * random.randint(1, 10_000)}

    @staticmethod
    def prompt_func(identity):
        return (f"Is {identity['n']} an even number? Think step by step, then reply yes or "
                "no in double brackets, e.g. [[your answer]].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[\[(.*?)\]\]", output)
        return found[-1].strip().lower() if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == ("yes" if identity["n"] % 2 == 0 else "no")
