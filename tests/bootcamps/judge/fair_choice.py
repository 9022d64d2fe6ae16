"""Which option is the sum? A fair multiple-choice task: four options, the
right one at a uniformly random letter; the format example says "A"."""
import random
import re

from bootcamp import Basebootcamp

LETTERS = "ABCD"


class SumChoicebootcamp(Basebootcamp):
    def case_generator(self):
        a, b = random.randint(100, 999), random.randint(100, 999)
        right = a + b
        options = {right}
        while len(options) < 4:
            options.add(right + random.choice([-20, -10, -2, -1, 1, 2, 10, 20]))
        options = sorted(options)
        random.shuffle(options)
        return {"a": a, "b": b, "options": options, "correct": LETTERS[options.index(right)]}

    @staticmethod
    def prompt_func(identity):
        lines = [f"What is {identity['a']} + {identity['b']}?"]
        for letter, value in zip(LETTERS, identity["options"]):
            lines.append(f"{letter}) {value}")
        lines.append("Reply with the letter of the right option, e.g. [answer]A[/answer].")
        return "\n".join(lines)

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*([A-D])\s*\[/answer\]", output)
        return found[-1] if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        right = identity["a"] + identity["b"]
        return solution is not None and identity["options"][LETTERS.index(solution)] == right

    @staticmethod
    def reference_output(identity):
        return f"[answer]{identity['correct']}[/answer]"
