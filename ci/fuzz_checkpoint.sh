#!/usr/bin/env bash
# Fuzz the C checkpoint codec (csrc/checkpoint.c) with libFuzzer + ASan + UBSan.
#
#   ci/fuzz_checkpoint.sh [seconds]      (default 60)
#
# Finds clang (installing Debian's with apt-get when run as root and it is
# missing), builds tests/fuzz/fuzz_checkpoint.c, runs it seeded with
# tests/fuzz/corpus/ and exits non-zero on any crash, sanitizer report, leak,
# timeout or harness check failure.  New inputs and crash artifacts go to
# $OSSRESUME_FUZZ_DIR (default build/fuzz/), never into the repository: copy a
# fixed crash into tests/fuzz/corpus/ by hand as a regression input.
set -euo pipefail

seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OSSRESUME_FUZZ_DIR:-$root/build/fuzz}
mkdir -p "$out/corpus" "$out/artifacts"

find_clang() {
    local c
    for c in clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14; do
        if command -v "$c" >/dev/null 2>&1; then echo "$c"; return 0; fi
    done
    return 1
}

cc=$(find_clang || true)
if [ -z "$cc" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "fuzz: installing clang with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >/dev/null ||
        { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >/dev/null; }
    cc=$(find_clang || true)
fi
if [ -z "$cc" ]; then
    echo "fuzz: no clang found (install clang, e.g. 'apt-get install clang')" >&2
    exit 2
fi
echo "fuzz: $($cc --version | head -n 1)"

build() {
    "$cc" -std=c99 -g -O1 -fno-omit-frame-pointer -Wall -Wextra \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        -I"$root/csrc" \
        "$root/tests/fuzz/fuzz_checkpoint.c" "$root/tests/fuzz/fuzz_checkpoint_nofast.c" \
        "$root/csrc/checkpoint.c" "$root/csrc/md5.c" \
        -o "$out/fuzz_checkpoint"
}

if ! build 2>"$out/build.log"; then
    # Newer Debian ships libFuzzer's runtime separately from clang.
    ver=$("$cc" --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -n 1)
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -n "$ver" ]; then
        echo "fuzz: build failed; trying libclang-rt-$ver-dev" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "libclang-rt-$ver-dev" >/dev/null 2>&1 || true
    fi
    if ! build 2>"$out/build.log"; then
        cat "$out/build.log" >&2
        echo "fuzz: cannot build the libFuzzer harness" >&2
        exit 2
    fi
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "fuzz: running for ${seconds}s (work corpus $out/corpus, seeds tests/fuzz/corpus)"
set +e
"$out/fuzz_checkpoint" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -dict="$root/tests/fuzz/checkpoint.dict" \
    -artifact_prefix="$out/artifacts/" -print_final_stats=1 \
    "$out/corpus" "$root/tests/fuzz/corpus" 2>&1 | tee "$out/fuzz.log" | grep -E "^#[0-9]+.*(DONE|pulse)|ERROR|SUMMARY|stat::|check failed|artifact" 
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
    echo "fuzz: FAILED (exit $rc); full log $out/fuzz.log, inputs in $out/artifacts/" >&2
    exit 1
fi
echo "fuzz: no finding in ${seconds}s"

# OSSRESUME_FUZZ_COVERAGE=1: line/branch coverage of csrc/checkpoint.c by the
# corpus (work corpus + seeds), with clang's source-based coverage.
if [ "${OSSRESUME_FUZZ_COVERAGE:-0}" = 1 ]; then
    ver=$("$cc" --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -n 1)
    profdata=$(command -v "llvm-profdata-$ver" || command -v llvm-profdata)
    llvmcov=$(command -v "llvm-cov-$ver" || command -v llvm-cov)
    "$cc" -std=c99 -g -O1 -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping \
        -I"$root/csrc" \
        "$root/tests/fuzz/fuzz_checkpoint.c" "$root/tests/fuzz/fuzz_checkpoint_nofast.c" \
        "$root/csrc/checkpoint.c" "$root/csrc/md5.c" -o "$out/fuzz_checkpoint_cov"
    LLVM_PROFILE_FILE="$out/cov.profraw" "$out/fuzz_checkpoint_cov" -runs=0 \
        "$out/corpus" "$root/tests/fuzz/corpus" >/dev/null 2>&1
    "$profdata" merge -sparse "$out/cov.profraw" -o "$out/cov.profdata"
    "$llvmcov" report "$out/fuzz_checkpoint_cov" -instr-profile="$out/cov.profdata" \
        "$root/csrc/checkpoint.c"
fi
