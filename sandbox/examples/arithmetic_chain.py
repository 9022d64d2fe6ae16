"""Arithmetic chain: apply a sequence of operations to a start number.

An example bootcamp in InternBootcamp's style, shipped with bootforge.
"""
import random
import re

from bootcamp import Basebootcamp


class ArithmeticChainbootcamp(Basebootcamp):
    def __init__(self, min_steps=3, max_steps=6, max_operand=20):
        self.min_steps = min_steps
        self.max_steps = max_steps
        self.max_operand = max_operand

    def case_generator(self):
        start = random.randint(1, self.max_operand)
        steps = []
        for _ in range(random.randint(self.min_steps, self.max_steps)):
            op = random.choice(["+", "-", "*"])
            steps.append([op, random.randint(1, self.max_operand)])
        return {"start": start, "steps": steps}

    @staticmethod
    def prompt_func(identity):
        lines = [f"Start with {identity['start']}."]
        for op, value in identity["steps"]:
            word = {"+": "add", "-": "subtract", "*": "multiply by"}[op]
            lines.append(f"Then {word} {value}.")
        lines.append("What is the result? Give the final number as [answer]N[/answer].")
        return "\n".join(lines)

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\](.*?)\[/answer\]", output, re.DOTALL)
        return found[-1].strip() if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        try:
            value = int(solution)
        except ValueError:
            return False
        return value == cls.solve(identity)

    @staticmethod
    def solve(identity):
        value = identity["start"]
        for op, operand in identity["steps"]:
            if op == "+":
                value += operand
            elif op == "-":
                value -= operand
            else:
                value *= operand
        return value

    @classmethod
    def reference_output(cls, identity):
        return f"[answer]{cls.solve(identity)}[/answer]"
