"""A bootcamp in InternBootcamp's style that exercises the features real ones use:
global random, re, itertools, collections, fractions, heapq, classmethods and
staticmethods, and a _verify_correction that returns a bool or a float."""
import heapq
import itertools
import random
import re
from collections import Counter, defaultdict, deque
from fractions import Fraction

from internbootcamp.bootcamp.base import Basebootcamp


class Knapsackbootcamp(Basebootcamp):
    def __init__(self, n_items=6, max_weight=12, partial_credit=False):
        self.n_items = n_items
        self.max_weight = max_weight
        self.partial_credit = partial_credit

    def case_generator(self):
        items = [
            {"name": chr(ord("A") + i), "weight": random.randint(1, self.max_weight // 2),
             "value": random.randint(1, 30)}
            for i in range(self.n_items)
        ]
        capacity = random.randint(self.max_weight // 2, self.max_weight)
        ratio = Fraction(capacity, self.max_weight)
        heaviest = heapq.nlargest(1, items, key=lambda it: it["weight"])[0]["name"]
        letters = Counter(it["name"] for it in items)
        by_weight = defaultdict(list)
        for it in items:
            by_weight[it["weight"]].append(it["name"])
        order = deque(sorted(by_weight))
        order.rotate(1)
        return {"items": items, "capacity": capacity, "ratio": str(ratio),
                "heaviest": heaviest, "distinct": len(letters), "partial": self.partial_credit,
                "weights": list(order)}

    @staticmethod
    def prompt_func(question_case) -> str:
        lines = [f"{it['name']}: weight {it['weight']}, value {it['value']}" for it in question_case["items"]]
        return ("Choose items with total weight at most {} maximising total value.\n{}\n"
                "Answer with the item letters, e.g. [answer]A,C[/answer].").format(
                    question_case["capacity"], "\n".join(lines))

    @staticmethod
    def extract_output(output):
        matches = re.findall(r"\[answer\](.*?)\[/answer\]", output, re.DOTALL)
        if not matches:
            return None
        return [p.strip() for p in matches[-1].split(",") if p.strip()]

    @classmethod
    def best_value(cls, identity):
        items = identity["items"]
        best = 0
        for r in range(len(items) + 1):
            for combo in itertools.combinations(items, r):
                if sum(it["weight"] for it in combo) <= identity["capacity"]:
                    best = max(best, sum(it["value"] for it in combo))
        return best

    @classmethod
    def _verify_correction(cls, solution, identity):
        by_name = {it["name"]: it for it in identity["items"]}
        if len(set(solution)) != len(solution) or any(s not in by_name for s in solution):
            return False
        weight = sum(by_name[s]["weight"] for s in solution)
        if weight > identity["capacity"]:
            return False
        value = sum(by_name[s]["value"] for s in solution)
        best = cls.best_value(identity)
        if identity["partial"]:
            return value / best if best else 1.0
        return value == best

    @classmethod
    def reference_answer(cls, identity):
        items = identity["items"]
        best, choice = -1, ()
        for r in range(len(items) + 1):
            for combo in itertools.combinations(items, r):
                if sum(it["weight"] for it in combo) <= identity["capacity"]:
                    value = sum(it["value"] for it in combo)
                    if value > best:
                        best, choice = value, combo
        return "[answer]" + ",".join(it["name"] for it in choice) + "[/answer]"
