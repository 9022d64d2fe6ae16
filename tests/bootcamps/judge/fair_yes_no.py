"""Is n prime? A fair yes/no task: half the cases are primes, half products
of two primes, and the format example says "yes"."""
import random
import re

from bootcamp import Basebootcamp


def is_prime(n):
    if n < 2:
        return False
    d = 2
    while d * d <= n:
        if n % d == 0:
            return False
        d += 1
    return True


def random_prime(low, high):
    while True:
        n = random.randint(low, high)
        if is_prime(n):
            return n


class PrimeQuestionbootcamp(Basebootcamp):
    def __init__(self, low=1000, high=99999):
        self.low = low
        self.high = high

    def case_generator(self):
        if random.random() < 0.5:
            n = random_prime(self.low, self.high)
        else:
            n = random_prime(11, 300) * random_prime(11, 300)
        return {"n": n}

    @staticmethod
    def prompt_func(identity):
        return (f"Is {identity['n']} a prime number? Reason carefully, then answer yes or no "
                "in the form [answer]yes[/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*(yes|no)\s*\[/answer\]", output, re.IGNORECASE)
        return found[-1].lower() if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == ("yes" if is_prime(identity["n"]) else "no")

    @staticmethod
    def reference_output(identity):
        verdict = "yes" if is_prime(identity["n"]) else "no"
        return f"<think>Trial division up to the square root.</think>[answer]{verdict}[/answer]"
