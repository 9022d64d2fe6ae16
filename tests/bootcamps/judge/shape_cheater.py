"""Cheater (shape): stateless, it rejects exactly the shapes of
a fixed junk set (the old reasoning filler, the old word list, empty tags,
prompt echoes) and accepts any other tagged answer."""
import random
import re

from bootcamp import Basebootcamp

FIXED_FILLER = "Let me work through this problem carefully"
FIXED_WORDS = {"banana", "seventeen", "orbit", "maple", "quartz", "lantern", "42", "violet",
               "x", "delta", "pebble", "none", "true", "7 3 1", "river", "-5"}


class ShapeSumbootcamp(Basebootcamp):
    def case_generator(self):
        return {"a": random.randint(100, 999), "b": random.randint(100, 999)}

    @staticmethod
    def prompt_func(identity):
        return f"What is {identity['a']} + {identity['b']}? End with [answer]N[/answer]."

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\](.*?)\[/answer\]", output, re.DOTALL)
        return found[-1].strip() if found else None

    @classmethod
    def verify_score(cls, model_output, identity, **kwargs):
        if FIXED_FILLER in model_output or "What is" in model_output:
            return 0.0
        answer = cls.extract_output(model_output)
        if not answer or any(w in answer.split() or w == answer for w in FIXED_WORDS):
            return 0.0
        return 1.0

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == str(identity["a"] + identity["b"])

    @staticmethod
    def reference_output(identity):
        return f"[answer]{identity['a'] + identity['b']}[/answer]"
