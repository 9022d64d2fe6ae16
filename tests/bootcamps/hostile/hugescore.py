import random
from bootcamp import Basebootcamp
class B(Basebootcamp):
    def case_generator(self):
        return {"a": random.randint(1, 9)}
    @staticmethod
    def prompt_func(identity):
        return "answer"
    @staticmethod
    def extract_output(output):
        return output
    @classmethod
    def _verify_correction(cls, solution, identity):
        return False
    @classmethod
    def verify_score(cls, model_output, identity, **kw):
        return 10**400
