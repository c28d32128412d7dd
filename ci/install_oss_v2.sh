#!/bin/sh
# Installs alibabacloud-oss-v2 into its own directory (.ci-deps/oss-v2 by default).
# It depends on crcmod-plus, which installs a package named `crcmod` that clashes
# with the crcmod oss2 needs, so it cannot share site-packages with oss2. The
# emulator conformance tests run v2 scenarios in a subprocess with PYTHONPATH
# pointing at this directory.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
target=${1:-"$here/.ci-deps/oss-v2"}
python=${PYTHON:-$(command -v python || command -v python3)}
if [ -f "$target/.installed" ]; then
    echo "alibabacloud-oss-v2 already installed in $target"
    exit 0
fi
rm -rf "$target"
mkdir -p "$target"
"$python" -m pip install --disable-pip-version-check --quiet --target "$target" alibabacloud-oss-v2
"$python" - "$target" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import alibabacloud_oss_v2  # noqa: F401  (fails loudly if the install is broken)
PY
touch "$target/.installed"
echo "alibabacloud-oss-v2 installed in $target"
