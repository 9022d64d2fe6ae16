"""Control: any satisfying assignment of a small CNF formula is right; a
mutant (two bits swapped) is sometimes another solution."""
import itertools
import random
import re

from bootcamp import Basebootcamp


def _satisfies(bits, clauses):
    return all(any((bits[abs(l) - 1] == 1) == (l > 0) for l in c) for c in clauses)


def _solutions(n, clauses):
    return [bits for bits in itertools.product([0, 1], repeat=n) if _satisfies(bits, clauses)]


class Anyassignmentbootcamp(Basebootcamp):
    def __init__(self, variables=6):
        self.variables = variables

    def case_generator(self):
        n = self.variables
        clauses = []
        while True:
            vs = random.sample(range(1, n + 1), 3)
            clause = [v if random.random() < 0.5 else -v for v in vs]
            if not _solutions(n, clauses + [clause]):
                continue
            clauses.append(clause)
            if len(_solutions(n, clauses)) <= 3:
                return {"variables": n, "clauses": clauses}

    @staticmethod
    def prompt_func(identity):
        text = " AND ".join(
            "(" + " OR ".join(("x" if l > 0 else "NOT x") + str(abs(l)) for l in c) + ")"
            for c in identity["clauses"])
        n = identity["variables"]
        return (f"Find values (0 or 1) for x1..x{n} that make this formula true: {text}. "
                f"Any satisfying assignment is right. Answer with the {n} values in order, "
                "separated by spaces, as [answer]v1 v2 ...[/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\](.*?)\[/answer\]", output, re.S)
        if not found:
            return None
        values = found[-1].split()
        return [int(v) for v in values] if all(v in ("0", "1") for v in values) else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return (solution is not None and len(solution) == identity["variables"]
                and _satisfies(solution, identity["clauses"]))

    @staticmethod
    def reference_output(identity):
        bits = _solutions(identity["variables"], identity["clauses"])[0]
        return "[answer]" + " ".join(map(str, bits)) + "[/answer]"
