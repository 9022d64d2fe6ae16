"""Replaces the harness's reply with 100 MB of text: the host must refuse it
without copying it out of guest memory."""
import sys

from bootcamp import Basebootcamp

for _module in list(sys.modules.values()):
    if hasattr(_module, "_host_reply") and hasattr(_module, "_reply"):
        _send = _module._host_reply
        _module._reply = lambda text: _send(b"[" * (100 << 20))


class HugeReplybootcamp(Basebootcamp):
    def case_generator(self):
        return {"n": 1}

    @staticmethod
    def prompt_func(identity):
        return "Say 1. [answer]1[/answer]"

    @staticmethod
    def extract_output(output):
        return output

    @classmethod
    def _verify_correction(cls, solution, identity):
        return False
