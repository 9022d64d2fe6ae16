"""Digit sum of a product, with markup in its code, prompt and answers.

A test bootcamp for `bootforge serve`: everything here reaches the item page
and must show as text. <script>document.title='pwned-code'</script>
<img src=x onerror="document.title='pwned-code-img'">
"""
import random
import re

from bootcamp import Basebootcamp

BANNER = "<script>document.title='pwned-prompt'</script>"


class HostileDigitsbootcamp(Basebootcamp):
    def __init__(self, max_digits=5):
        self.max_digits = max_digits

    def case_generator(self):
        a = random.randint(10, 10 ** self.max_digits - 1)
        b = random.randint(10, 10 ** self.max_digits - 1)
        return {"a": a, "b": b, "label": "<img src=x onerror=\"document.title='pwned-case'\">"}

    @staticmethod
    def prompt_func(identity):
        return (BANNER + f"\nWhat is the sum of the decimal digits of {identity['a']} * {identity['b']}? "
                "<img src=x onerror=\"document.title='pwned-prompt-img'\"> "
                "Put the final integer between [answer] and [/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*(-?\d+)\s*\[/answer\]", output)
        return int(found[-1]) if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == sum(int(d) for d in str(identity["a"] * identity["b"]))

    @staticmethod
    def reference_output(identity):
        return "[answer]%d[/answer]" % sum(int(d) for d in str(identity["a"] * identity["b"]))
