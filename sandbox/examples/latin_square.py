"""Latin square completion: fill an N x N grid so every row and column holds 1..N once.

A bootcamp in InternBootcamp's style, shipped with bootforge as an example and
used by the benchmarks (it is about 200 lines, the size the cold-start
target is stated for). The generator builds a random Latin square, then removes
clues while the puzzle keeps a unique solution, checked by a backtracking
solver; the verifier checks the rules and the clues rather than comparing with
one stored answer.
"""
import json
import random
import re

from bootcamp import Basebootcamp


class LatinSquarebootcamp(Basebootcamp):
    """Complete a partially filled Latin square."""

    def __init__(self, size=5, min_clues=None, max_remove_attempts=None):
        if size < 2 or size > 9:
            raise ValueError("size must be between 2 and 9")
        self.size = size
        # Fewer clues make harder puzzles; by default keep about 40 percent.
        self.min_clues = min_clues if min_clues is not None else max(size, (size * size * 2) // 5)
        self.max_remove_attempts = max_remove_attempts or size * size

    # ------------------------------------------------------------------
    # Generation
    # ------------------------------------------------------------------

    def _random_square(self):
        """A random Latin square: a cyclic square with shuffled rows, columns and symbols."""
        n = self.size
        base = [[(r + c) % n for c in range(n)] for r in range(n)]
        rows = list(range(n))
        cols = list(range(n))
        symbols = list(range(1, n + 1))
        random.shuffle(rows)
        random.shuffle(cols)
        random.shuffle(symbols)
        return [[symbols[base[r][c]] for c in cols] for r in rows]

    def case_generator(self):
        n = self.size
        solution = self._random_square()
        puzzle = [row[:] for row in solution]
        cells = [(r, c) for r in range(n) for c in range(n)]
        random.shuffle(cells)
        clues = n * n
        attempts = 0
        for r, c in cells:
            if clues <= self.min_clues or attempts >= self.max_remove_attempts:
                break
            attempts += 1
            kept = puzzle[r][c]
            puzzle[r][c] = 0
            if self.count_solutions(puzzle, limit=2) != 1:
                puzzle[r][c] = kept
            else:
                clues -= 1
        return {
            "size": n,
            "puzzle": puzzle,
            "clues": clues,
            "solution": solution,
        }

    # ------------------------------------------------------------------
    # Solving (used by the generator to keep the solution unique)
    # ------------------------------------------------------------------

    @staticmethod
    def _candidates(grid, r, c):
        n = len(grid)
        used = set(grid[r])
        used.update(grid[i][c] for i in range(n))
        return [v for v in range(1, n + 1) if v not in used]

    @classmethod
    def count_solutions(cls, grid, limit=2):
        """Count completions of `grid` (0 = empty), stopping at `limit`."""
        grid = [row[:] for row in grid]
        n = len(grid)
        empties = [(r, c) for r in range(n) for c in range(n) if grid[r][c] == 0]
        count = 0

        def search(index):
            nonlocal count
            if count >= limit:
                return
            if index == len(empties):
                count += 1
                return
            # Most constrained cell first keeps the search small.
            best = None
            best_options = None
            for j in range(index, len(empties)):
                r, c = empties[j]
                options = cls._candidates(grid, r, c)
                if best_options is None or len(options) < len(best_options):
                    best, best_options = j, options
                    if len(options) <= 1:
                        break
            empties[index], empties[best] = empties[best], empties[index]
            r, c = empties[index]
            for value in best_options:
                grid[r][c] = value
                search(index + 1)
                grid[r][c] = 0
                if count >= limit:
                    break
            empties[index], empties[best] = empties[best], empties[index]

        search(0)
        return count

    # ------------------------------------------------------------------
    # Prompt
    # ------------------------------------------------------------------

    @staticmethod
    def prompt_func(question_case) -> str:
        n = question_case["size"]
        rows = []
        for row in question_case["puzzle"]:
            rows.append(" ".join(str(v) if v else "." for v in row))
        grid = "\n".join(rows)
        return (
            f"Complete this {n}x{n} Latin square. Every row and every column must "
            f"contain each number from 1 to {n} exactly once. Dots are empty cells; "
            f"the given numbers must stay where they are.\n\n{grid}\n\n"
            "Write the completed grid, one row per line with numbers separated by "
            "spaces, between [answer] and [/answer], for example:\n"
            "[answer]\n1 2\n2 1\n[/answer]"
        )

    # ------------------------------------------------------------------
    # Extraction and verification
    # ------------------------------------------------------------------

    @staticmethod
    def extract_output(output):
        blocks = re.findall(r"\[answer\](.*?)\[/answer\]", output, re.DOTALL)
        if not blocks:
            return None
        grid = []
        for line in blocks[-1].strip().splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                grid.append([int(tok) for tok in re.split(r"[\s,]+", line) if tok])
            except ValueError:
                return None
        return grid or None

    @classmethod
    def _verify_correction(cls, solution, identity):
        n = identity["size"]
        puzzle = identity["puzzle"]
        if len(solution) != n or any(len(row) != n for row in solution):
            return False
        expected = set(range(1, n + 1))
        for row in solution:
            if set(row) != expected:
                return False
        for c in range(n):
            if {solution[r][c] for r in range(n)} != expected:
                return False
        for r in range(n):
            for c in range(n):
                if puzzle[r][c] and puzzle[r][c] != solution[r][c]:
                    return False
        return True

    # ------------------------------------------------------------------
    # Helpers for curators
    # ------------------------------------------------------------------

    @staticmethod
    def render_solution(identity):
        """The reference answer in the format the prompt asks for."""
        rows = [" ".join(str(v) for v in row) for row in identity["solution"]]
        return "[answer]\n" + "\n".join(rows) + "\n[/answer]"

    @staticmethod
    def difficulty(identity):
        """Share of empty cells: 0 (solved) to 1 (blank)."""
        n = identity["size"]
        return round(1 - identity["clues"] / (n * n), 3)

    @classmethod
    def describe(cls, identity):
        return json.dumps(
            {"size": identity["size"], "clues": identity["clues"],
             "difficulty": cls.difficulty(identity)},
            sort_keys=True,
        )
