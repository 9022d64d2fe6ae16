#!/usr/bin/env bash
# Build the sandbox components: CPython + the bootforge harness, as
# WebAssembly components, compressed for the repository.
#
#   bash sandbox/build.sh          # rebuild both components
#   bash sandbox/build.sh base     # only harness.wasm.zst and harness.inputs
#   bash sandbox/build.sh sympy    # only harness-sympy.wasm.zst and harness-sympy.inputs
#
# The sympy component is the same guest plus sympy and mpmath (pinned wheels
# from sympy/requirements.txt); bootforge uses it only for bootcamps that
# import them.
#
# Needs python3 with pip (it installs the pinned componentize-py, and
# downloads the sympy component's wheels) and zstd. Building bootforge itself
# needs none of this: the built components are committed, and a test fails
# when the inputs below change without a rebuild.
set -euo pipefail

COMPONENTIZE_PY_VERSION=0.25.1

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

which="${1:-all}"
case "$which" in
    all | base | sympy) ;;
    *)
        echo "usage: bash sandbox/build.sh [all|base|sympy]" >&2
        exit 2
        ;;
esac

if [ "$(componentize-py --version 2>/dev/null | awk '{print $2}')" != "$COMPONENTIZE_PY_VERSION" ]; then
    python3 -m pip install --quiet "componentize-py==$COMPONENTIZE_PY_VERSION"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ "$which" != sympy ]; then
    mkdir "$work/base"
    cp -r guest/. "$work/base/"
    find "$work/base" -name __pycache__ -prune -exec rm -rf {} +
    (cd "$work/base" && componentize-py -d "$here/wit" -w harness componentize harness -o "$work/harness.wasm")
    zstd -19 -T0 -q -f "$work/harness.wasm" -o harness.wasm.zst
    python3 inputs_hash.py > harness.inputs
    echo "built harness: $(stat -c %s "$work/harness.wasm") bytes ($(stat -c %s harness.wasm.zst) compressed); inputs $(cat harness.inputs)"
fi

if [ "$which" != base ]; then
    mkdir "$work/sympy" "$work/wheels" "$work/site"
    cp -r guest/. "$work/sympy/"
    cp sympy/harness_sympy.py "$work/sympy/"
    find "$work/sympy" -name __pycache__ -prune -exec rm -rf {} +
    python3 -m pip download --quiet --no-deps --only-binary=:all: --require-hashes \
        -r sympy/requirements.txt -d "$work/wheels"
    for wheel in "$work"/wheels/*.whl; do
        python3 -m zipfile -e "$wheel" "$work/site"
    done
    (cd "$work/sympy" && componentize-py -d "$here/wit" -w harness componentize harness_sympy \
        -p . -p "$work/site" -o "$work/harness-sympy.wasm")
    zstd -19 -T0 -q -f "$work/harness-sympy.wasm" -o harness-sympy.wasm.zst
    python3 inputs_hash.py sympy > harness-sympy.inputs
    echo "built harness-sympy: $(stat -c %s "$work/harness-sympy.wasm") bytes ($(stat -c %s harness-sympy.wasm.zst) compressed); inputs $(cat harness-sympy.inputs)"
fi
