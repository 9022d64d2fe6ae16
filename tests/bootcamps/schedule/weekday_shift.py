"""Weekday arithmetic: which day comes some days after a given one.

A small instance space on purpose (7 days x 3 shifts): among a dozen seeds
some cases repeat, so an evaluation asks the solver the same prompt twice.
"""
import random
import re

from bootcamp import Basebootcamp

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class WeekdayShiftbootcamp(Basebootcamp):
    def __init__(self, max_shift=3):
        self.max_shift = max_shift

    def case_generator(self):
        return {"day": random.randint(0, 6), "shift": random.randint(1, self.max_shift)}

    @staticmethod
    def prompt_func(identity):
        return (f"Today is {DAYS[identity['day']]}. Which weekday is it {identity['shift']} days from today? "
                "Think it through, then put the weekday between [answer] and [/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*([A-Za-z]+)\s*\[/answer\]", output)
        return found[-1] if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        if not isinstance(solution, str):
            return False
        return solution.strip().lower() == DAYS[(identity["day"] + identity["shift"]) % 7].lower()
