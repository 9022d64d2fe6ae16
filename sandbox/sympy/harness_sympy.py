"""The sympy component's entry module: the bootforge harness plus sympy and mpmath.

componentize-py runs this module's top level once, at build time, and
snapshots the interpreter, exactly as for the base component (see
``guest/harness.py``): a module not imported here does not exist at run time,
so every sympy and mpmath submodule (but their test suites) is imported now.
The exports are the harness's own ``WitWorld``; nothing of the protocol
differs from the base component.
"""

import gc
import importlib
import os
import pkgutil
import sys
import types

from harness import WitWorld  # noqa: F401  (the exports; also bundles the stdlib)

UNAVAILABLE = []


def _bundle(top):
    module = importlib.import_module(top)
    for info in pkgutil.walk_packages(module.__path__, top + ".", onerror=lambda _n: None):
        parts = info.name.split(".")
        if any(p in ("test", "tests", "benchmarks", "__main__") for p in parts):
            continue
        try:
            importlib.import_module(info.name)
        except BaseException:
            UNAVAILABLE.append(info.name)


# sympy.external.gmpy reads the C `long` size from ctypes, which WASI's
# CPython lacks. A stand-in answers for wasm32 (4 bytes) during the import
# only, so that a bootcamp's own `import ctypes` fails as on the base
# component.
_ctypes = types.ModuleType("ctypes")
_ctypes.c_long = type("c_long", (), {})
_ctypes.sizeof = lambda _t: 4
sys.modules.pop("ctypes", None)
sys.modules["ctypes"] = _ctypes
try:
    _bundle("mpmath")
    _bundle("sympy")
finally:
    del sys.modules["ctypes"]

# Importing the harness cleared the environment before sympy and mpmath read
# theirs (ground types, cache settings): they see what every run would see.
# Cleared again in case an import set a variable.
os.environ.clear()

# As at the end of the harness: the objects created so far go to the
# collector's permanent generation, so that no run walks (and copies) them.
gc.collect()
gc.freeze()
