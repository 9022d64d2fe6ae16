#!/usr/bin/env bash
# Build the sandbox component: CPython + the bootforge harness, as a
# WebAssembly component, compressed for the repository.
#
#   bash sandbox/build.sh          # rebuild harness.wasm.zst and harness.inputs
#
# Needs python3 with pip (it installs the pinned componentize-py) and zstd.
# Building bootforge itself needs none of this: the built component is
# committed, and a test fails when the inputs below change without a rebuild.
set -euo pipefail

COMPONENTIZE_PY_VERSION=0.25.1

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if [ "$(componentize-py --version 2>/dev/null | awk '{print $2}')" != "$COMPONENTIZE_PY_VERSION" ]; then
    python3 -m pip install --quiet "componentize-py==$COMPONENTIZE_PY_VERSION"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r guest/. "$work/"
find "$work" -name __pycache__ -prune -exec rm -rf {} +
(cd "$work" && componentize-py -d "$here/wit" -w harness componentize harness -o "$work/harness.wasm")
zstd -19 -T0 -q -f "$work/harness.wasm" -o harness.wasm.zst
python3 inputs_hash.py > harness.inputs
echo "built $(stat -c %s "$work/harness.wasm") bytes ($(stat -c %s harness.wasm.zst) compressed); inputs $(cat harness.inputs)"
