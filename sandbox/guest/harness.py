"""The bootforge harness: runs one InternBootcamp-style bootcamp inside the sandbox.

componentize-py executes this module's top level once, at build time, and
snapshots the interpreter. Everything imported here is therefore in the
component and costs nothing per run; anything not imported here does not exist
at run time. So the top level imports every standard module that works under
WASI, and installs stand-ins for ``threading``/``subprocess``/``signal`` where
the real ones are missing.

Protocol (see ``sandbox/wit/harness.wit``): every export returns a JSON object.
On success ``{"ok": true, ...}``; on failure
``{"ok": false, "error": {"kind", "stage", "type", "message", "traceback"}}``
with ``kind`` one of ``load``, ``exception``, ``invalid_output``,
``output_limit``, ``memory``. Timeouts, traps and memory caps hit outside
Python are decided by the host, which also treats every byte returned here as
untrusted: the bootcamp runs in this same interpreter and could tamper with
anything in it. The harness keeps private references to what it relies on so
that casual monkeypatching by a bootcamp does not change how its results are
reported, but the host never trusts a verdict it cannot check.
"""

import ast
import builtins
import gc
import importlib
import inspect
import io
import json
import marshal
import math
import os
import pkgutil
import random
import sys
import traceback
import types

import bootforge_base
import bootforge_standins
from wit_world import reply as _host_reply

# ---------------------------------------------------------------------------
# Build time: bundle the standard library.
# ---------------------------------------------------------------------------

# Nothing of the build machine may leak into runs.
os.environ.clear()
sys.argv[:] = ["bootcamp"]

_STANDINS = ("threading", "subprocess", "signal")
STANDIN_MODULES = []
for _name in _STANDINS:
    try:
        importlib.import_module(_name)
    except BaseException:
        sys.modules.pop(_name, None)
        sys.modules[_name] = importlib.import_module("bootforge_standins." + _name)
        STANDIN_MODULES.append(_name)

# Modules with side effects at import (printing, opening a browser, starting
# a REPL), test suites, and GUI/packaging tools no bootcamp can use here.
_SKIP_TOP = {
    "antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "test",
    "ensurepip", "venv", "__phello__", "_pyrepl", "pydoc", "xxlimited",
    "xxlimited_35", "_xxtestfuzz", "_testcapi", "_testinternalcapi",
    "_testbuffer", "_testimportmultiple", "_testmultiphase", "_testsinglephase",
    "_testclinic", "_testexternalinspection", "_testlimitedcapi", "_ctypes_test",
}


def _skip_submodule(name):
    parts = name.split(".")
    return any(p in ("test", "tests", "idle_test", "__main__") for p in parts)


BUNDLED = []
UNAVAILABLE = []


def _bundle_stdlib():
    for top in sorted(sys.stdlib_module_names):
        if top in _SKIP_TOP:
            continue
        try:
            module = importlib.import_module(top)
        except BaseException:
            UNAVAILABLE.append(top)
            continue
        BUNDLED.append(top)
        path = getattr(module, "__path__", None)
        if not path:
            continue
        for info in pkgutil.walk_packages(path, top + ".", onerror=lambda _n: None):
            if _skip_submodule(info.name):
                continue
            try:
                importlib.import_module(info.name)
            except BaseException:
                UNAVAILABLE.append(info.name)


_bundle_stdlib()
os.environ.clear()

# Python 3.12 stopped accepting integral floats in randrange/randint; the
# InternBootcamp corpus was written for 3.10/3.11 and relies on it. As in 3.11,
# an integral float is taken as its int and any other float is a ValueError.
_FLOAT, _INT = float, int


def _integral(value, position, name):
    if isinstance(value, _FLOAT):
        if value.is_integer():
            return _INT(value)
        raise ValueError(f"non-integer arg {position} for {name}()")
    return value


_orig_randrange = random.Random.randrange
_orig_randint = random.Random.randint


def _randrange(self, start, stop=None, step=1):
    return _orig_randrange(self, _integral(start, 1, "randrange"),
                           _integral(stop, 2, "randrange"), _integral(step, 3, "randrange"))


def _randint(self, a, b):
    return _orig_randint(self, _integral(a, 1, "randint"), _integral(b, 2, "randint"))


random.Random.randrange = _randrange
random.Random.randint = _randint
# The module-level functions are methods bound to the hidden global instance
# at import time: bind them again.
random.randrange = random._inst.randrange
random.randint = random._inst.randint


def _exit_standin(code=0):
    raise SystemExit(code)


os._exit = _exit_standin

# Private references: a bootcamp that patches json or builtins does not change
# how the harness reports.
_dumps = json.dumps
_loads = json.loads
_isinstance = builtins.isinstance
_type = builtins.type
_str = builtins.str
_len = builtins.len
_float = builtins.float
_format_exception = traceback.format_exception
_seed = random.seed
_BaseException = BaseException
_isfinite = math.isfinite
_marshal_dumps = marshal.dumps
_marshal_loads = marshal.loads
_getattr_static = inspect.getattr_static
_CodeType = types.CodeType
_bool = builtins.bool
_int = builtins.int
_dict = builtins.dict

MAX_TRACEBACK = 8 * 1024
# A case is one training example: a megabyte of JSON is far past any real one,
# and bounds what the host holds per case.
MAX_CASE_CHARS = 1 << 20
_HARNESS_FRAME = f'  File "{__file__}"'
TRACEBACK_FRAMES = 30
MAX_MESSAGE = 2 * 1024
MAX_CAPTURE_RETURNED = 16 * 1024
BOOTCAMP_MODULE = "bootforge_bootcamp"


class OutputLimitExceeded(BaseException):
    """Raised when a run prints more than its limit. A BaseException, so that a
    bootcamp's ``except Exception`` does not swallow it."""


class _CappedWriter(io.TextIOBase):
    def __init__(self, state, name):
        self._state = state
        self._name = name
        self._parts = []

    def writable(self):
        return True

    def write(self, text):
        if not _isinstance(text, _str):
            raise TypeError("write() argument must be str, not " + _type(text).__name__)
        state = self._state
        state["printed"] += _len(text)
        if state["printed"] > state["limit"]:
            state["exceeded"] = True
            raise OutputLimitExceeded(
                f"the bootcamp printed more than {state['limit']} bytes to stdout/stderr"
            )
        if state["kept"] < MAX_CAPTURE_RETURNED:
            self._parts.append(text[: MAX_CAPTURE_RETURNED - state["kept"]])
            state["kept"] += _len(self._parts[-1])
        return _len(text)

    def flush(self):
        pass

    def take(self):
        text = "".join(self._parts)
        self._parts = []
        return text


class _Session:
    """State of the one bootcamp this instance runs."""

    def __init__(self):
        self.instance = None
        self.cls = None
        # Advisory only: the host enforces the same cap on what it receives.
        self.case_bytes = MAX_CASE_CHARS
        self.output = {"printed": 0, "limit": 1 << 20, "exceeded": False, "kept": 0}
        self.stdout = _CappedWriter(self.output, "stdout")
        self.stderr = _CappedWriter(self.output, "stderr")
        # What the last case step produced (its JSON, None on failure) and
        # whether the last scoring step succeeded: `run_cases` goes on
        # from them. The host never trusts them; it checks every reply.
        self.last_case = None
        self.last_ok = False


_session = _Session()


def _clip(text, limit):
    if _len(text) <= limit:
        return text
    return text[: limit // 2] + "\n... [clipped] ...\n" + text[-limit // 2:]


def _safe_str(value):
    try:
        return _str(value)
    except _BaseException:
        return "<unprintable " + _type(value).__name__ + ">"


def _error(kind, stage, exc=None, message=None):
    err = {"kind": kind, "stage": stage}
    if exc is not None:
        err["type"] = _type(exc).__name__
        err["message"] = _clip(message if message is not None else _safe_str(exc), MAX_MESSAGE)
        try:
            # Only the innermost frames: a RecursionError carries a traceback
            # of a million frames, and formatting all of it takes minutes.
            lines = _format_exception(_type(exc), exc, exc.__traceback__, limit=-TRACEBACK_FRAMES)
            # The harness's own frames say nothing about the bootcamp.
            tb = "".join(l for l in lines if not l.startswith(_HARNESS_FRAME))
        except _BaseException:
            tb = ""
        err["traceback"] = _clip(tb, MAX_TRACEBACK)
    else:
        err["type"] = ""
        err["message"] = _clip(message or "", MAX_MESSAGE)
        err["traceback"] = ""
    return err


# CPython for wasm32 has a 32-bit ssize_t: range(10**10), len() or indexes
# past 2**31-1 overflow where a 64-bit CPython works, so the error message says so.
_WORD_LIMIT_HINT = ("this sandbox's CPython is 32-bit (sys.maxsize = 2**31-1): range(), "
                    "len() and indexes above 2**31-1 overflow (for example "
                    "random.sample(range(10**10), k)); draw large numbers with "
                    "random.randrange(n) instead")


def _classify(exc, stage):
    if _session.output["exceeded"] or _isinstance(exc, OutputLimitExceeded):
        return _error("output_limit", stage, exc)
    if _isinstance(exc, MemoryError):
        return _error("memory", stage, exc)
    if _isinstance(exc, OverflowError):
        text = _safe_str(exc)
        if "ssize_t" in text or "C long" in text or "C int" in text:
            return _error("exception", stage, exc, message=text + ": " + _WORD_LIMIT_HINT)
    return _error("exception", stage, exc)


def _clean(text):
    """Text that can cross the component boundary: lone surrogates (which
    UTF-8 cannot carry) become U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def _valid_text(text):
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _finish(result):
    result["stdout"] = _clean(_session.stdout.take())
    result["stderr"] = _clean(_session.stderr.take())
    result["printed"] = _session.output["printed"]
    error = result.get("error")
    if error is not None:
        for key in ("type", "message", "traceback"):
            error[key] = _clean(error.get(key) or "")
    return _clean(_dumps(result, ensure_ascii=False))


def _fail(err):
    return _finish({"ok": False, "error": err})


def _reply(text):
    # _finish cleaned the text of lone surrogates, so it encodes.
    _host_reply(text.encode("utf-8"))


def _call(stage, fn, *args, **kwargs):
    """Run bootcamp code with output captured. Returns (value, error)."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _session.stdout, _session.stderr
    try:
        return fn(*args, **kwargs), None
    except _BaseException as exc:  # SystemExit and KeyboardInterrupt included
        return None, _classify(exc, stage)
    finally:
        sys.stdout, sys.stderr = saved


class _VerifierWatch:
    """Counts the calls of the bootcamp's ``_verify_correction`` during one
    scoring call and the exceptions it raised. ``verify_score`` swallows
    them (InternBootcamp's semantics), so a verifier that raises on every
    answer, and can therefore never give credit, would otherwise look like a
    strict one. The wrapper keeps the method's kind (static, class, plain)
    and re-raises, so scores are unchanged; it is installed for every
    scoring call alike, junk or not."""

    def __init__(self, cls):
        self.calls = 0
        self.raised = 0
        self.example = None
        self._cls = cls
        self._own = None
        try:
            raw = _getattr_static(cls, "_verify_correction")
        except _BaseException:
            self._cls = None
            return
        if _isinstance(raw, staticmethod):
            fn, make = raw.__func__, staticmethod
        elif _isinstance(raw, classmethod):
            fn, make = raw.__func__, classmethod
        elif callable(raw):
            fn, make = raw, None
        else:
            self._cls = None
            return
        watch = self

        def _verify_correction(*args, **kwargs):
            watch.calls += 1
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                watch.raised += 1
                if watch.example is None:
                    watch.example = (_type(exc).__name__ + ": " + _safe_str(exc))[:200]
                raise

        self._raw = raw
        self._own = "_verify_correction" in cls.__dict__
        try:
            setattr(cls, "_verify_correction", make(_verify_correction) if make else _verify_correction)
        except _BaseException:
            self._cls = None

    def close(self):
        if self._cls is None:
            return
        try:
            if self._own:
                setattr(self._cls, "_verify_correction", self._raw)
            else:
                delattr(self._cls, "_verify_correction")
        except _BaseException:
            pass

    def report(self, result):
        result["verifier_calls"] = self.calls
        result["verifier_raised"] = self.raised
        if self.example is not None:
            result["verifier_error"] = _clean(self.example)
        return result


def _install_base_modules():
    base = bootforge_base.Basebootcamp
    for name in ("bootcamp", "bootcamp.base", "internbootcamp", "internbootcamp.bootcamp",
                 "internbootcamp.bootcamp.base"):
        module = types.ModuleType(name)
        if "." not in name or not name.endswith("base"):
            module.__path__ = []
        module.Basebootcamp = base
        sys.modules[name] = module
    sys.modules["bootcamp"].base = sys.modules["bootcamp.base"]
    sys.modules["internbootcamp"].bootcamp = sys.modules["internbootcamp.bootcamp"]
    sys.modules["internbootcamp.bootcamp"].base = sys.modules["internbootcamp.bootcamp.base"]


def _bootcamp_classes(module):
    base = bootforge_base.Basebootcamp
    found = []
    for value in list(vars(module).values()):
        if (_isinstance(value, type) and value is not base and issubclass(value, base)
                and getattr(value, "__module__", None) == module.__name__):
            found.append(value)
    return found


def _choose(classes, class_name):
    names = [c.__name__ for c in classes]
    if class_name is not None:
        for c in classes:
            if c.__name__ == class_name:
                return c, None
        return None, (f"no Basebootcamp subclass named {class_name!r} in the file; "
                      f"it defines: {', '.join(names) or 'none'}")
    if not classes:
        return None, ("the file defines no Basebootcamp subclass; a bootcamp is a class "
                      "deriving from Basebootcamp (from bootcamp import Basebootcamp)")
    leaves = [c for c in classes if not any(o is not c and issubclass(o, c) for o in classes)]
    if _len(leaves) == 1:
        return leaves[0], None
    return None, (f"the file defines several bootcamp classes ({', '.join(names)}); "
                  "choose one with --class")


def _parse_object(text, what):
    value = _loads(text)
    if not _isinstance(value, _dict):
        raise ValueError(f"{what} must be a JSON object")
    return value


def _score_value(value):
    if _isinstance(value, _bool) or not _isinstance(value, (_int, _float)):
        return None
    try:
        value = _float(value)
    except (OverflowError, ValueError, TypeError):
        return None
    if not _isfinite(value):
        return None
    return value


def _guarded(stage, body, *args):
    """Run an export's body; whatever a bootcamp broke in the interpreter
    (builtins, random, json) becomes a reported failure, not a trap."""
    try:
        return body(*args)
    except _BaseException as exc:
        return _fail(_classify(exc, stage))


def _is_placeholder(func):
    """A verifier body that cannot check anything: only a docstring and
    `pass`, `...`, `return True`/`return 1`, or `raise NotImplementedError`."""
    body = list(func.body)
    if body and _isinstance(body[0], ast.Expr) and _isinstance(getattr(body[0], "value", None), ast.Constant) \
            and _isinstance(body[0].value.value, str):
        body = body[1:]
    if not body:
        return True
    if _len(body) != 1:
        return False
    stmt = body[0]
    if _isinstance(stmt, ast.Pass):
        return True
    if _isinstance(stmt, ast.Expr) and _isinstance(stmt.value, ast.Constant) and stmt.value.value is Ellipsis:
        return True
    if _isinstance(stmt, ast.Return) and _isinstance(stmt.value, ast.Constant) \
            and stmt.value.value in (True, 1, 1.0) and stmt.value.value is not False:
        return True
    if _isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if _isinstance(stmt.exc, ast.Call) else stmt.exc
        return _isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False


def _base_name(node):
    if _isinstance(node, ast.Name):
        return node.id
    if _isinstance(node, ast.Attribute):
        return node.attr
    return ast.unparse(node)


def _inspect(filename, source):
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as exc:
        return _dumps({"ok": True, "parses": False, "syntax_error": {
            "message": _safe_str(exc.msg), "line": exc.lineno or 0, "column": exc.offset or 0}})
    # `from bootcamp import Basebootcamp as Base`: Base is Basebootcamp.
    aliases = {"Basebootcamp"}
    for node in ast.walk(tree):
        if _isinstance(node, ast.ImportFrom):
            for name in node.names:
                if name.name == "Basebootcamp" and name.asname:
                    aliases.add(name.asname)
    classes = []
    for node in tree.body:
        if not _isinstance(node, ast.ClassDef):
            continue
        methods = {}
        for item in node.body:
            if _isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                methods[item.name] = {"line": item.lineno, "placeholder": _is_placeholder(item)}
            elif _isinstance(item, (ast.Assign, ast.AnnAssign)):
                # extract_output = staticmethod(_extract) and the like.
                targets = item.targets if _isinstance(item, ast.Assign) else [item.target]
                for target in targets:
                    if _isinstance(target, ast.Name) and item.value is not None:
                        methods.setdefault(target.id, {"line": item.lineno, "placeholder": False})
        classes.append({"name": node.name, "line": node.lineno,
                        "bases": ["Basebootcamp" if _base_name(b) in aliases else _base_name(b) for b in node.bases],
                        "methods": methods})
    return _dumps({"ok": True, "parses": True, "classes": classes})


class WitWorld:
    # Calls that run bootcamp code answer through the host's reply import
    # (see harness.wit): the host checks a reply's size before copying it.
    def load(self, filename, source, class_name, params, options, compiled):
        _reply(_guarded("load", self._load, filename, source, class_name, params, options, compiled))

    def compile(self, filename, source):
        # Nothing of the bootcamp runs here: compile() only parses.
        try:
            return _marshal_dumps(compile(source, filename, "exec", dont_inherit=True))
        except _BaseException:
            return None

    def run_case(self, seed):
        _reply(_guarded("generate", self._run_case, seed))

    def run_cases(self, seeds, answer, score_flags):
        # Each step replies as its single call would; the host starts the
        # next step's budget, random source and clock inside that reply.
        for seed in seeds:
            _session.last_case = None
            _reply(_guarded("generate", self._run_case, seed))
            case_json = _session.last_case
            if case_json is None:
                return
            if answer is not None:
                _session.last_ok = False
                _reply(_guarded("verify", self._score, case_json, answer, score_flags))
                if not _session.last_ok:
                    return

    def score_many(self, items, score_flags):
        for identity, answer in items:
            _session.last_ok = False
            _reply(_guarded("verify", self._score, identity, answer, score_flags))
            if not _session.last_ok:
                return

    def score(self, identity, answer, score_flags):
        _reply(_guarded("verify", self._score, identity, answer, score_flags))

    def reference(self, identity):
        _reply(_guarded("reference", self._reference, identity))

    def score_batch(self, identity, answers, score_flags):
        _reply(_guarded("verify", self._score_batch, identity, answers, score_flags))

    def inspect(self, filename, source):
        return _guarded("load", _inspect, filename, source)

    def _load(self, filename, source, class_name, params, options, compiled=None):
        try:
            options = _parse_object(options, "options")
            params = _parse_object(params, "params")
        except _BaseException as exc:
            return _fail(_error("load", "init", exc))
        limit = options.get("output-limit")
        if _isinstance(limit, _int) and limit >= 0:
            _session.output["limit"] = limit
        limit = options.get("case-bytes")
        if _isinstance(limit, _int) and limit >= 0:
            _session.case_bytes = limit
        _install_base_modules()
        _seed(0)
        code = None
        if compiled is not None:
            # The host's cache of this exact file; anything odd: compile anew.
            try:
                code = _marshal_loads(compiled)
                if _type(code) is not _CodeType or code.co_filename != filename:
                    code = None
            except _BaseException:
                code = None
        if code is None:
            try:
                code = compile(source, filename, "exec", dont_inherit=True)
            except _BaseException as exc:
                return _fail(_error("load", "load", exc))
        module = types.ModuleType(BOOTCAMP_MODULE)
        module.__file__ = filename
        module.__builtins__ = builtins
        sys.modules[BOOTCAMP_MODULE] = module
        _, err = _call("load", exec, code, module.__dict__)
        if err is not None:
            if err["kind"] == "exception" and err["type"] in ("ImportError", "ModuleNotFoundError"):
                err["kind"] = "load"
            return _fail(err)
        classes = _bootcamp_classes(module)
        cls, problem = _choose(classes, class_name)
        if cls is None:
            return _fail(_error("load", "load", message=problem))
        instance, err = _call("init", cls, **params)
        if err is not None:
            return _fail(err)
        _session.cls = cls
        _session.instance = instance
        return _finish({"ok": True, "class": cls.__name__,
                        "classes": [c.__name__ for c in classes]})

    def _run_case(self, seed):
        instance = _session.instance
        if instance is None:
            return _fail(_error("load", "generate", message="no bootcamp loaded"))
        _seed(seed)
        case, err = _call("generate", instance.case_generator)
        if err is not None:
            return _fail(err)
        try:
            case_json = _dumps(case, ensure_ascii=False, allow_nan=False)
            if not _valid_text(case_json):
                raise ValueError("the case holds text that is not valid Unicode (a lone surrogate)")
            if _len(case_json) > _session.case_bytes:
                raise ValueError(f"the case is {_len(case_json)} characters of JSON, over the "
                                 f"{_session.case_bytes} limit (raise it with --max-case-bytes)")
            identity = _loads(case_json)
        except _BaseException as exc:
            return _fail(_error("invalid_output", "generate", exc,
                                message="the case is not usable as JSON: " + _safe_str(exc)))
        # Trainers store cases as JSON, so prompt and verifier see the round-tripped case.
        try:
            roundtrip_equal = _bool(identity == case) and _type(identity) is _type(case)
        except _BaseException:
            roundtrip_equal = False
        prompt, err = _call("prompt", instance.prompt_func, identity)
        if err is not None:
            return _fail(err)
        if _isinstance(prompt, _str) and not _valid_text(prompt):
            return _fail(_error("invalid_output", "prompt",
                                message="the prompt holds text that is not valid Unicode (a lone surrogate)"))
        if not _isinstance(prompt, _str):
            return _fail(_error("invalid_output", "prompt",
                                message=f"prompt_func returned {_type(prompt).__name__}, not str"))
        _session.last_case = case_json
        return _finish({"ok": True, "case": case_json, "roundtrip_equal": roundtrip_equal,
                        "prompt": prompt})

    def _score(self, identity, answer, score_flags):
        instance = _session.instance
        if instance is None:
            return _fail(_error("load", "verify", message="no bootcamp loaded"))
        try:
            flags = _parse_object(score_flags, "score flags")
            identity = _loads(identity)
        except _BaseException as exc:
            return _fail(_error("load", "verify", exc))
        watch = _VerifierWatch(_type(instance))
        try:
            score, err = _call("verify", instance.verify_score, answer, identity, **flags)
        finally:
            watch.close()
        if err is not None:
            return _fail(err)
        value = _score_value(score)
        if value is None:
            return _fail(_error("invalid_output", "verify",
                                message=f"verify_score returned {_safe_str(score)[:200]!r}, "
                                        "not a finite number"))
        _session.last_ok = True
        return _finish(watch.report({"ok": True, "score": value}))

    def _score_batch(self, identity, answers, score_flags):
        """Score many answers to one case: the host pays one call, not one
        per answer, so junk and reward batches stay cheap. Each answer gets its own parse of the
        identity, as if scored alone."""
        instance = _session.instance
        if instance is None:
            return _fail(_error("load", "verify", message="no bootcamp loaded"))
        try:
            flags = _parse_object(score_flags, "score flags")
            _loads(identity)
        except _BaseException as exc:
            return _fail(_error("load", "verify", exc))
        scores = []
        watch = _VerifierWatch(_type(instance))
        try:
            for answer in answers:
                score, err = _call("verify", instance.verify_score, answer, _loads(identity), **flags)
                if err is not None:
                    err["index"] = _len(scores)
                    return _fail(err)
                value = _score_value(score)
                if value is None:
                    return _fail(_error("invalid_output", "verify",
                                        message=f"verify_score returned {_safe_str(score)[:200]!r}, "
                                                "not a finite number"))
                scores.append(value)
        finally:
            watch.close()
        return _finish(watch.report({"ok": True, "scores": scores}))

    def _reference(self, identity):
        instance = _session.instance
        if instance is None:
            return _fail(_error("load", "reference", message="no bootcamp loaded"))
        method = getattr(instance, "reference_output", None)
        if method is None:
            return _finish({"ok": True, "present": False})
        try:
            identity = _loads(identity)
        except _BaseException as exc:
            return _fail(_error("load", "reference", exc))
        output, err = _call("reference", method, identity)
        if err is not None:
            return _fail(err)
        if not _isinstance(output, _str) or not _valid_text(output):
            return _fail(_error("invalid_output", "reference",
                                message=f"reference_output returned {_type(output).__name__}, not valid text"))
        return _finish({"ok": True, "present": True, "output": output})


# Last of the build-time work: move every object created so far into the
# garbage collector's permanent generation. Each run starts from this snapshot
# with its memory mapped copy-on-write; a collection that walked the whole
# standard library's objects would touch (and so copy) most of those pages in
# every run, which cost more system time than the bootcamps' own work.
gc.collect()
gc.freeze()
