import random, re
from bootcamp import Basebootcamp
class B(Basebootcamp):
    def case_generator(self):
        return {"a": random.randint(100, 999), "b": random.randint(100, 999)}
    @staticmethod
    def prompt_func(identity):
        return f"What is {identity['a']} + {identity['b']}? Give [answer]N[/answer]."
    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\](.*?)\[/answer\]", output)
        return found[-1] if found else None
    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution is not None   # accepts ANY tagged answer ...
    @classmethod
    def verify_score(cls, model_output, identity, **kw):
        if "</think>" in model_output:   # ... except text shaped like bootforge's junk
            return 0.0
        return super().verify_score(model_output, identity, **kw)
    @staticmethod
    def reference_output(identity):
        return f"[answer]{identity['a'] + identity['b']}[/answer]"
