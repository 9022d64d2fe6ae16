"""Modular product of big integers: the case holds integers above 2**64, so
any tool that passes cases through floats corrupts them. The prompt carries
terminal escape sequences, as hostile guest text can."""
import random
import re

from bootcamp import Basebootcamp


class BigModProductbootcamp(Basebootcamp):
    def __init__(self, digits=22, modulus_digits=9):
        self.digits = digits
        self.modulus_digits = modulus_digits

    def case_generator(self):
        a = random.randint(10 ** (self.digits - 1), 10 ** self.digits - 1)
        b = random.randint(10 ** (self.digits - 1), 10 ** self.digits - 1)
        m = random.randint(10 ** (self.modulus_digits - 1), 10 ** self.modulus_digits - 1)
        return {"a": a, "b": b, "m": m}

    @staticmethod
    def prompt_func(identity):
        return (
            "\x1b[1mCompute\x1b[0m the remainder of a * b divided by m, where\n"
            f"a = {identity['a']}\nb = {identity['b']}\nm = {identity['m']}\n"
            "Think step by step, then give the final integer as \\boxed{N}."
        )

    @staticmethod
    def extract_output(output):
        if "</think>" in output:
            output = output.rsplit("</think>", 1)[1]
        found = re.findall(r"\\boxed\{\s*(-?\d+)\s*\}", output)
        return int(found[-1]) if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == (identity["a"] * identity["b"]) % identity["m"]

    @staticmethod
    def reference_output(identity):
        value = (identity["a"] * identity["b"]) % identity["m"]
        return f"<think>multiply, then reduce</think>\\boxed{{{value}}}"
