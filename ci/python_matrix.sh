#!/usr/bin/env bash
# The tests on every Python minor version the package declares (its "Python :: 3.N"
# classifiers), each in a fresh venv holding the one abi3 wheel built by
# ci/check_packaging.sh:
#   ci/python_matrix.sh WHEEL
# The oldest and the newest run the whole suite; the others a fast subset and
# `ossresume demo`. Interpreters come from pyenv when it has them, else from PATH
# (python3.N); a version with neither is reported as SKIPPED. The tests run from
# the checkout but outside it (cwd is a temp dir), so `import ossresume_c` is the
# installed wheel (tests/conftest.py refuses to run otherwise).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
wheel=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -f "$wheel" ] || { echo "no wheel: $1" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

# the fast subset: the C module on this interpreter, signing, the transport, the
# scheduler's SIGTERM handling, the upload engine, the report, the sanitized build
fast=(tests/test_native.py tests/test_auth.py tests/test_transport.py tests/test_scheduler.py
      tests/test_upload.py tests/test_demo_lines.py tests/test_native_sanitize.py
      "tests/test_upload_reliability.py::test_sigterm_returns_a_status_and_keeps_the_checkpoint")

versions=$(sed -n 's/^ *"Programming Language :: Python :: \(3\.[0-9][0-9]*\)",*$/\1/p' "$here/pyproject.toml" |
           sort -t. -k2,2n)
[ -n "$versions" ] || { echo "pyproject.toml declares no 'Python :: 3.N' classifier" >&2; exit 2; }
oldest=$(echo "$versions" | head -n 1)
newest=$(echo "$versions" | tail -n 1)

find_python() {   # the newest patch release of minor version $1
    local v=$1 root cand
    if command -v pyenv >/dev/null 2>&1 && root=$(pyenv root 2>/dev/null) && [ -d "$root/versions" ]; then
        cand=$(ls -d "$root/versions/$v".[0-9]* 2>/dev/null | grep -E "/$v\.[0-9]+$" | sort -t. -k3,3n | tail -n 1)
        if [ -n "$cand" ] && [ -x "$cand/bin/python$v" ]; then echo "$cand/bin/python$v"; return 0; fi
    fi
    cand=$(command -v "python$v" 2>/dev/null) && "$cand" -c 'import sys' 2>/dev/null && echo "$cand"
}

summary=()
failed=0
for v in $versions; do
    py=$(find_python "$v")
    if [ -z "$py" ]; then
        echo "== Python $v: SKIPPED (no interpreter: neither pyenv nor python$v on PATH)"
        summary+=("$v  SKIPPED   no interpreter on this machine")
        continue
    fi
    t0=$(date +%s)
    venv=$work/py$v
    echo "== Python $v: $("$py" -c 'import sys; print(sys.version.split()[0])') ($py)"
    if ! "$py" -m venv "$venv" || ! "$venv/bin/pip" install -q "$wheel[test]"; then
        summary+=("$v  FAILED    could not install the wheel")
        failed=1
        continue
    fi
    # the v2 SDK's pinned dependencies differ per Python: its own directory per version
    PYTHON=$venv/bin/python bash "$here/ci/install_oss_v2.sh" "$work/oss-v2-$v" >/dev/null
    run=$work/run-$v
    mkdir -p "$run"
    rc=0
    if [ "$v" = "$oldest" ] || [ "$v" = "$newest" ]; then
        what="full suite"
        args=("$here/tests")
    else
        what="fast subset + demo"
        args=("${fast[@]/#/$here/}")
        (cd "$run" && "$venv/bin/ossresume" demo --size 32MiB --quiet) > "$run/demo.log" 2>&1 || rc=$?
        tail -n 9 "$run/demo.log"
        [ "$rc" -eq 0 ] || { echo "demo FAILED on Python $v (exit $rc)"; cat "$run/demo.log"; }
    fi
    echo "\$ python -m pytest -q -p no:cacheprovider ($what)"
    (cd "$run" && env -u PYTHONPATH OSSRESUME_TEST_INSTALLED="$venv" OSSRESUME_OSS_V2_DIR="$work/oss-v2-$v" \
        "$venv/bin/python" -m pytest -q -p no:cacheprovider "${args[@]}") > "$run/pytest.log" 2>&1
    prc=$?
    grep -E '^(FAILED|ERROR) ' "$run/pytest.log"
    counts=$(tail -n 1 "$run/pytest.log" | sed 's/^=* *//; s/ *=*$//')
    echo "$counts"
    [ "$prc" -eq 0 ] || { tail -n 60 "$run/pytest.log"; rc=1; }
    [ "$rc" -eq 0 ] && result=passed || { result=FAILED; failed=1; }
    summary+=("$v  $(printf '%-8s' "$result")  $what: $counts ($(( $(date +%s) - t0 ))s)")
done

echo "== Python versions (declared: $(echo $versions))"
printf '  %s\n' "${summary[@]}"
exit "$failed"
