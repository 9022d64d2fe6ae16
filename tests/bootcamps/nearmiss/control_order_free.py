"""Control: the primes of a list, in any order (the prompt says so): the
verifier compares sets, which is right here."""
import random
import re

from bootcamp import Basebootcamp


def _prime(n):
    return n > 1 and all(n % d for d in range(2, int(n ** 0.5) + 1))


class Primesetbootcamp(Basebootcamp):
    def case_generator(self):
        while True:
            numbers = random.sample(range(10, 100), 9)
            if sum(_prime(n) for n in numbers) >= 2:
                return {"numbers": numbers}

    @staticmethod
    def prompt_func(identity):
        numbers = ", ".join(map(str, identity["numbers"]))
        return (f"Which of these numbers are prime: {numbers}? List every prime, in any order, "
                "separated by commas, as [answer]p, q, ...[/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\](.*?)\[/answer\]", output, re.S)
        if not found:
            return None
        return [int(x) for x in re.findall(r"-?\d+", found[-1])]

    @classmethod
    def _verify_correction(cls, solution, identity):
        wanted = {n for n in identity["numbers"] if _prime(n)}
        return solution is not None and set(solution) == wanted

    @staticmethod
    def reference_output(identity):
        primes = sorted(n for n in identity["numbers"] if _prime(n))
        return "[answer]" + ", ".join(map(str, primes)) + "[/answer]"
