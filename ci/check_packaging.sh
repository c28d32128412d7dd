#!/usr/bin/env bash
# Build the sdist and a wheel with an isolated PEP 517 build (from the sdist, as
# cibuildwheel and pip do), install the wheel into a fresh venv and use the module.
#   ci/check_packaging.sh [DIST_DIR]   keeps the sdist and the abi3 wheel in DIST_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python -m pip install -q build
# Without --sdist/--wheel, build makes the sdist and then the wheel from that sdist,
# so a file missing from the sdist fails here.
python -m build --outdir "$work/dist" .
ls -l "$work/dist"
wheel=$(ls "$work"/dist/*.whl)
case "$wheel" in *abi3*) ;; *) echo "wheel is not abi3: $wheel" >&2; exit 1;; esac
python -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$wheel"
(cd "$work" && "$work/venv/bin/python" - <<'PY'
import ossresume_c, ossresume_c.native as n
from ossresume_c import checkpoint_codec
assert n.crc64(b"123456789") == 0x995DC9BBDF1939FA, hex(n.crc64(b"123456789"))
print("wheel OK:", ossresume_c.__version__, "crc64 implementation:", n.implementation)
PY
)
if [ -n "${1:-}" ]; then mkdir -p "$1" && cp "$work"/dist/* "$1"/ && echo "kept in $1: $(ls "$1")"; fi
