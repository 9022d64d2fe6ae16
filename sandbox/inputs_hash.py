"""Print the SHA-256 of a sandbox component's inputs.

    python3 inputs_hash.py          # the base component (harness.inputs)
    python3 inputs_hash.py sympy    # the sympy component (harness-sympy.inputs)

The inputs are build.sh (which pins componentize-py), the WIT world and the
guest's Python sources, and for the sympy component also sympy/ (its entry
module and pinned wheels), each hashed as "<relative path>\\0<length>\\0<bytes>"
in sorted path order. `tests/component.rs` computes the same hashes and fails
when one differs from its `.inputs` file: that committed component is then
stale.
"""
import hashlib
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
roots = ["wit", "guest"]
if sys.argv[1:] == ["sympy"]:
    roots.append("sympy")
elif sys.argv[1:]:
    sys.exit("usage: python3 inputs_hash.py [sympy]")
files = ["build.sh"]
for root in roots:
    for dirpath, dirnames, filenames in os.walk(os.path.join(here, root)):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            if name.endswith(".pyc"):
                continue
            files.append(os.path.relpath(os.path.join(dirpath, name), here))
digest = hashlib.sha256()
for rel in sorted(f.replace(os.sep, "/") for f in files):
    data = open(os.path.join(here, rel), "rb").read()
    digest.update(rel.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
sys.stdout.write(digest.hexdigest() + "\n")
