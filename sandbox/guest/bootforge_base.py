"""InternBootcamp's ``Basebootcamp``, re-implemented with the same semantics.

Bootcamps import it as ``from bootcamp import Basebootcamp``,
``from bootcamp.base import Basebootcamp`` or
``from internbootcamp.bootcamp.base import Basebootcamp``; the harness makes
all three resolve here.

``verify_score`` follows InternBootcamp's scoring rules exactly:

* ``format_penalty``: the output must contain exactly one ``<think>`` and one
  ``</think>``, start with ``<think>`` and not end with ``</think>``, else 0;
* ``extract_output`` returning ``None`` scores 0;
* once something was extracted the score is at least ``format_score``;
* ``_verify_correction`` returning ``True`` scores 1, an ``int``/``float``
  scores that number, ``False`` or anything else (or an exception) keeps
  ``format_score``;
* ``short_penalty``: the score is scaled down by
  ``min(len(output) / short_threshold, len(answer part) / ans_threshold)``
  when either length is under its threshold (the answer part is the text
  after the last ``</think>``).

InternBootcamp also prints a debug dump for one call in 1024 (drawing from the
global ``random``); that print is left out, since it changes no score and would
make a bootcamp's stdout depend on the scoring order.
"""


class Basebootcamp:
    """Base class of a bootcamp: generates task instances and verifies answers."""

    @staticmethod
    def prompt_func(question_ori) -> str:
        raise NotImplementedError

    @staticmethod
    def extract_output(output):
        raise NotImplementedError

    @classmethod
    def _verify_correction(cls, solution, identity) -> bool:
        raise NotImplementedError

    @classmethod
    def verify_score(cls, model_output, identity: dict, format_score=0,
                     short_penalty=False, short_threshold=256,
                     ans_threshold=128, format_penalty=False) -> float:
        score = 0.0
        if format_penalty:
            opens = model_output.count("<think>")
            closes = model_output.count("</think>")
            if opens != 1 or closes != 1:
                return score
            if not model_output.startswith("<think>") or model_output.endswith("</think>"):
                return score
        try:
            extracted = cls.extract_output(model_output)
            if extracted is None:
                return score
            score = format_score
            judge = cls._verify_correction(extracted, identity)
            if type(judge) == bool and judge:
                score = 1.0
            else:
                # False, None, strings...: an AssertionError here keeps format_score.
                assert type(judge) == float or type(judge) == int
                score = float(judge)
        except Exception:
            pass

        answer_part = model_output.rsplit("</think>", 1)[1] if "</think>" in model_output else ""
        if short_penalty and (len(model_output) < short_threshold
                              or len(answer_part) < ans_threshold):
            return min(score * len(model_output) / short_threshold,
                       score * len(answer_part) / ans_threshold)
        return score
