"""Raises the harness's own case cap and sends 16 MiB cases: the guest's
check is advisory, the host's is not."""
import random
import sys

from bootcamp import Basebootcamp

for _module in list(sys.modules.values()):
    if hasattr(_module, "MAX_CASE_CHARS"):
        _module.MAX_CASE_CHARS = 1 << 40
    _session = getattr(_module, "_session", None)
    if _session is not None and hasattr(_session, "case_bytes"):
        _session.case_bytes = 1 << 40


class RaiseCapbootcamp(Basebootcamp):
    def case_generator(self):
        return {"pad": "x" * (16 << 20), "n": random.randint(1, 9)}

    @staticmethod
    def prompt_func(identity):
        return "What is n? [answer]n[/answer]"

    @staticmethod
    def extract_output(output):
        return output

    @classmethod
    def _verify_correction(cls, solution, identity):
        return False
