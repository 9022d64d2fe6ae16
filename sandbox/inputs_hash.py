"""Print the SHA-256 of the sandbox component's inputs.

The inputs are build.sh (which pins componentize-py), the WIT world and the
guest's Python sources, each hashed as "<relative path>\\0<length>\\0<bytes>"
in sorted path order. `tests/sandbox.rs` computes the same hash and fails when
it differs from `harness.inputs`: the committed component is then stale.
"""
import hashlib
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
files = ["build.sh"]
for root in ("wit", "guest"):
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
