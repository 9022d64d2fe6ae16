"""Control: any path from s to t in a directed graph is right. Mutants of
the reference path (a shortest one) are sometimes other valid paths."""
import random
import re
from collections import deque

from bootcamp import Basebootcamp


class Anypathbootcamp(Basebootcamp):
    def __init__(self, nodes=9, density=0.3):
        self.nodes = nodes
        self.density = density

    def case_generator(self):
        while True:
            n = self.nodes
            edges = sorted({(u, v) for u in range(n) for v in range(n)
                            if u != v and random.random() < self.density})
            s, t = random.sample(range(n), 2)
            if _shortest(edges, s, t, n) and len(_shortest(edges, s, t, n)) >= 3:
                return {"nodes": n, "edges": [list(e) for e in edges], "s": s, "t": t}

    @staticmethod
    def prompt_func(identity):
        edges = "; ".join(f"{u}->{v}" for u, v in identity["edges"])
        return (f"A directed graph has nodes 0..{identity['nodes'] - 1} and edges: {edges}. "
                f"Give any path from node {identity['s']} to node {identity['t']} that follows "
                "the edges, as the node numbers separated by spaces: [answer]s ... t[/answer]. "
                "Any such path is right.")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\](.*?)\[/answer\]", output, re.S)
        if not found:
            return None
        return [int(x) for x in re.findall(r"-?\d+", found[-1])]

    @classmethod
    def _verify_correction(cls, solution, identity):
        if not solution or solution[0] != identity["s"] or solution[-1] != identity["t"]:
            return False
        edges = {tuple(e) for e in identity["edges"]}
        return all((u, v) in edges for u, v in zip(solution, solution[1:]))

    @staticmethod
    def reference_output(identity):
        edges = [tuple(e) for e in identity["edges"]]
        path = _shortest(edges, identity["s"], identity["t"], identity["nodes"])
        return "[answer]" + " ".join(map(str, path)) + "[/answer]"


def _shortest(edges, s, t, n):
    out = {u: [] for u in range(n)}
    for u, v in edges:
        out[u].append(v)
    prev = {s: None}
    queue = deque([s])
    while queue:
        u = queue.popleft()
        if u == t:
            path = []
            while u is not None:
                path.append(u)
                u = prev[u]
            return path[::-1]
        for v in out[u]:
            if v not in prev:
                prev[v] = u
                queue.append(v)
    return None
