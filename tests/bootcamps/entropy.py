"""Uses every source of nondeterminism a bootcamp might reach for."""
import os
import random
import time
import uuid

from bootcamp import Basebootcamp


class Entropybootcamp(Basebootcamp):
    def __init__(self):
        # Unseeded generators of its own, created at load time.
        self.rng = random.Random()
        self.sys_rng = random.SystemRandom()

    def case_generator(self):
        random.seed()  # reseeds from the OS: must still be reproducible
        return {
            "global": random.random(),
            "own": self.rng.random(),
            "system": self.sys_rng.randint(0, 10**9),
            "urandom": os.urandom(8).hex(),
            "uuid": str(uuid.uuid4()),
            "time": time.time(),
            "monotonic": time.monotonic(),
            "perf": time.perf_counter_ns(),
            "set_order": list({"apple", "banana", "cherry", "date", "elder"}),
        }

    @staticmethod
    def prompt_func(identity):
        return f"Repeat the number {identity['system']} as [answer]N[/answer]."

    @staticmethod
    def extract_output(output):
        return output.rsplit("[answer]", 1)[-1].split("[/answer]")[0] if "[answer]" in output else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution.strip() == str(identity["system"])
