"""A heavy generator (a random walk over a grid, then its shortest-path
summary) with a latent bug: roughly one case in 150 divides by zero. Bulk
generation must stop at that seed and keep every record before it whole."""
import random
import re
from collections import deque

from bootcamp import Basebootcamp


class GridWalkbootcamp(Basebootcamp):
    def __init__(self, size=12):
        self.size = size

    def case_generator(self):
        n = self.size
        walls = [[random.random() < 0.25 for _ in range(n)] for _ in range(n)]
        walls[0][0] = walls[n - 1][n - 1] = False
        dist = {(0, 0): 0}
        queue = deque([(0, 0)])
        while queue:
            r, c = queue.popleft()
            for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                nr, nc = r + dr, c + dc
                if 0 <= nr < n and 0 <= nc < n and not walls[nr][nc] and (nr, nc) not in dist:
                    dist[(nr, nc)] = dist[(r, c)] + 1
                    queue.append((nr, nc))
        reachable = len(dist)
        # The latent bug: a rare draw makes the divisor zero.
        divisor = 0 if random.random() < 1 / 150 else reachable
        density = round(reachable / divisor, 6)
        grid = ["".join("#" if w else "." for w in row) for row in walls]
        return {"grid": grid, "steps": dist.get((n - 1, n - 1), -1), "density": density}

    @staticmethod
    def prompt_func(identity):
        grid = "\n".join(identity["grid"])
        return ("Find the length of the shortest path from the top-left to the bottom-right "
                "cell moving up, down, left or right through '.' cells (-1 if none).\n"
                f"{grid}\nAnswer as [answer]N[/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*(-?\d+)\s*\[/answer\]", output)
        return int(found[-1]) if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == identity["steps"]
