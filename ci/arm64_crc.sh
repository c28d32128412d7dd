#!/usr/bin/env bash
# The ARM64 CRC-64 path, proven under emulation: cross-compile csrc/'s CRC core with
# Debian's gcc-aarch64-linux-gnu, run it under qemu-user with a CPU that has PMULL
# (-cpu max), check the vectors (tests/data/crc64.json) and a random PMULL == portable
# equivalence (ci/arm64/crc_check.c).  Installs the toolchain with apt-get when it is
# missing; skips (exit 0, with a message) when neither the tools nor apt are there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_install=0
command -v aarch64-linux-gnu-gcc >/dev/null || need_install=1
command -v qemu-aarch64 >/dev/null || command -v qemu-aarch64-static >/dev/null || need_install=1
if [ "$need_install" = 1 ]; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "installing gcc-aarch64-linux-gnu and qemu-user"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q gcc-aarch64-linux-gnu qemu-user >/dev/null 2>&1 ||
            { apt-get update -q >/dev/null && apt-get install -y -q gcc-aarch64-linux-gnu qemu-user >/dev/null; } ||
            { echo "SKIP arm64 CRC check: apt-get could not install the cross toolchain"; exit 0; }
    else
        echo "SKIP arm64 CRC check: no aarch64-linux-gnu-gcc/qemu-aarch64 and no apt-get as root"
        exit 0
    fi
fi
qemu=$(command -v qemu-aarch64 || command -v qemu-aarch64-static)

build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
# Static, so qemu-user needs no aarch64 sysroot; -O2 as the extension is built.
aarch64-linux-gnu-gcc -O2 -Wall -Wextra -Werror -std=c99 -D_GNU_SOURCE -static -pthread \
    -Icsrc -o "$build/crc_check" ci/arm64/crc_check.c csrc/crc64.c csrc/crc64_arm.c

# The crypto extension is not in the baseline: without -march flags PMULL must come from
# crc64_arm.c's target attribute, which is what a distribution's wheel build does.
aarch64-linux-gnu-objdump -d "$build/crc_check" >"$build/disasm"
pmulls=$(grep -cP '\tpmull2?\s' "$build/disasm" || true)
[ "$pmulls" -gt 0 ] || { echo "FAIL: the cross build contains no PMULL instruction" >&2; exit 1; }
echo "cross build: $pmulls PMULL instructions"

mapfile -t args < <(python3 - <<'EOF'
import json
data = json.load(open("tests/data/crc64.json"))
for v in data["vectors"]:
    print(f"{v['name']}={v['crc64']}")
c = data["combine"]
print(f"combine={c['crc_a']},{c['crc_b']},{c['len_b']},{c['crc_ab']}")
EOF
)
echo "qemu: $("$qemu" --version | head -n 1)"
echo "CPU max (has PMULL):"
"$qemu" -cpu max "$build/crc_check" "${args[@]}"
# The override the Python tests use to pin an implementation works on ARM64 too.
echo "OSSRESUME_CRC64_IMPL=portable:"
OSSRESUME_CRC64_IMPL=portable CRC_CHECK_EXPECT=portable "$qemu" -cpu max "$build/crc_check" "${args[@]}"
echo "arm64 CRC-64: OK"
