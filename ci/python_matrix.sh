#!/usr/bin/env bash
# The tests on every Python minor version the package declares (its "Python :: 3.N"
# classifiers), each in a fresh venv holding the one abi3 wheel built by
# ci/check_packaging.sh:
#   ci/python_matrix.sh WHEEL
# The oldest and the newest run the whole suite; the others a fast subset and
# `ossresume demo`. Interpreters come from pyenv when it has them, else from PATH
# (python3.N); a version with neither is reported as SKIPPED. The tests run from
# the checkout but outside it (cwd is a temp dir), so `import ossresume_c` is the
# installed wheel (tests/conftest.py refuses to run otherwise). Versions run
# OSSRESUME_CI_JOBS at a time (default 2: the suite waits on sockets and child
# processes more than it computes); each one's output is printed whole, in order.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
wheel=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -f "$wheel" ] || { echo "no wheel: $1" >&2; exit 2; }
jobs_max=${OSSRESUME_CI_JOBS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

# the fast subset: the C module on this interpreter, signing, the transport, the
# scheduler's SIGTERM handling, the upload engine, the report, the sanitized build
fast=(tests/test_native.py tests/test_auth.py tests/test_transport.py tests/test_scheduler.py
      tests/test_upload.py tests/test_demo_lines.py tests/test_native_sanitize.py
      tests/test_python_version.py
      "tests/test_upload_reliability.py::test_sigterm_returns_a_status_and_keeps_the_checkpoint")

versions=$(sed -n 's/^ *"Programming Language :: Python :: \(3\.[0-9][0-9]*\)",*$/\1/p' "$here/pyproject.toml" |
           sort -t. -k2,2n)
[ -n "$versions" ] || { echo "pyproject.toml declares no 'Python :: 3.N' classifier" >&2; exit 2; }
oldest=$(echo "$versions" | head -n 1)
newest=$(echo "$versions" | tail -n 1)

find_python() {   # the newest patch release of minor version $1
    local v=$1 root cand
    if command -v pyenv >/dev/null 2>&1 && root=$(pyenv root 2>/dev/null) && [ -d "$root/versions" ]; then
        cand=$(ls -d "$root/versions/$v".[0-9]* 2>/dev/null | grep -E "/$v\.[0-9]+$" | sort -V | tail -n 1)
        if [ -n "$cand" ] && [ -x "$cand/bin/python$v" ]; then echo "$cand/bin/python$v"; return 0; fi
    fi
    cand=$(command -v "python$v" 2>/dev/null) && "$cand" -c 'import sys' 2>/dev/null && echo "$cand"
}

# one version: writes its report line to $work/result-$v (output goes to the caller's file)
run_version() {
    local v=$1 py=$2 t0 venv run rc=0 prc what counts result
    local -a args
    t0=$(date +%s)
    venv=$work/py$v
    run=$work/run-$v
    mkdir -p "$run"
    echo "== Python $v: $("$py" -c 'import sys; print(sys.version.split()[0])') ($py)"
    if ! "$py" -m venv "$venv" || ! "$venv/bin/pip" install -q "$wheel[test]" > "$run/pip.log" 2>&1; then
        grep -v '^WARNING: Location' "$run/pip.log"
        echo "$v  FAILED    could not install the wheel" > "$work/result-$v"
        return 1
    fi
    # the v2 SDK's pinned dependencies differ per Python: its own directory per version
    PYTHON=$venv/bin/python bash "$here/ci/install_oss_v2.sh" "$work/oss-v2-$v" > "$run/pip-v2.log" 2>&1 ||
        grep -v '^WARNING: Location' "$run/pip-v2.log"
    if [ "$v" = "$oldest" ] || [ "$v" = "$newest" ]; then
        what="full suite"
        args=("$here/tests")
    else
        what="fast subset + demo"
        args=("${fast[@]/#/$here/}")
        (cd "$run" && "$venv/bin/ossresume" demo --size 32MiB --quiet) > "$run/demo.log" 2>&1 || rc=$?
        if [ "$rc" -eq 0 ]; then tail -n 9 "$run/demo.log"; else echo "demo FAILED (exit $rc)"; cat "$run/demo.log"; fi
    fi
    echo "\$ python -m pytest -q -p no:cacheprovider ($what)"
    (cd "$run" && env -u PYTHONPATH OSSRESUME_TEST_INSTALLED="$venv" OSSRESUME_OSS_V2_DIR="$work/oss-v2-$v" \
        "$venv/bin/python" -m pytest -q -p no:cacheprovider "${args[@]}") > "$run/pytest.log" 2>&1
    prc=$?
    grep -E '^(FAILED|ERROR) ' "$run/pytest.log"
    counts=$(tail -n 1 "$run/pytest.log" | sed 's/^=* *//; s/ *=*$//')
    echo "$counts"
    [ "$prc" -eq 0 ] || { tail -n 60 "$run/pytest.log"; rc=1; }
    [ "$rc" -eq 0 ] && result=passed || result=FAILED
    echo "$v  $(printf '%-8s' "$result")  $what: $counts ($(( $(date +%s) - t0 ))s)" > "$work/result-$v"
    [ "$rc" -eq 0 ]
}

# the two full runs start first: they are the longest
order=$( (echo "$oldest"; echo "$newest"; echo "$versions") | awk '!seen[$0]++')
for v in $order; do
    py=$(find_python "$v")
    if [ -z "$py" ]; then
        echo "$v  SKIPPED   no interpreter on this machine (neither pyenv nor python$v on PATH)" > "$work/result-$v"
        continue
    fi
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
    run_version "$v" "$py" > "$work/out-$v" 2>&1 &
done
wait

failed=0
for v in $versions; do
    if [ -f "$work/out-$v" ]; then cat "$work/out-$v"; else echo "== Python $v: SKIPPED (no interpreter)"; fi
    grep -q '^[^ ]*  passed' "$work/result-$v" 2>/dev/null || grep -q SKIPPED "$work/result-$v" || failed=1
done
echo "== Python versions (declared: $(echo $versions); $jobs_max at a time)"
sed 's/^/  /' $(for v in $versions; do echo "$work/result-$v"; done)
exit "$failed"
