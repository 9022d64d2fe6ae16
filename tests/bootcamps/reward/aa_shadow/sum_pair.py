"""A second SumPairbootcamp that the package's __init__.py does not import:
the reward service must not score with it (it gives 0 to every answer)."""
from bootcamp import Basebootcamp


class SumPairbootcamp(Basebootcamp):
    def case_generator(self):
        return {"a": 1, "b": 1}

    @staticmethod
    def prompt_func(identity):
        return "never used"

    @staticmethod
    def extract_output(output):
        return output

    @classmethod
    def _verify_correction(cls, solution, identity):
        return False
