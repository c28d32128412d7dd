#!/usr/bin/env bash
# The official C SDK's own test suites against the emulator (issue 14).
#
#   ci/csdk_suite.sh SDK_SRC_DIR [SUITE...]
#
# SDK_SRC_DIR is a checkout of github.com/aliyun/aliyun-oss-c-sdk (3.11.2). The script copies it
# into a work directory (OSSRESUME_CSDK_WORK, default a new temporary one; the source stays
# untouched), builds the SDK and its test program (Debian: libapr1-dev libaprutil1-dev
# libcurl4-openssl-dev libmxml-dev cmake), then runs each suite (default: test_oss_resumable
# test_oss_multipart test_oss_object) on both endpoint styles:
#   ip         http://127.0.0.1:PORT (path style)
#   localhost  http://localhost:PORT with --virtual-host-suffix localhost (virtual-host style)
# Every run gets a fresh emulator (the suites' teardown deletes buckets) and a loopback callback
# server (OSS_TEST_CALLBACK_URL). Prints one line per run ("suite style passed/total") and the
# failing cases. Exits 1 when a run of a required suite (OSSRESUME_CSDK_REQUIRED, default
# test_oss_resumable) did not pass completely, 2 when it could not run at all, else 0; the other
# suites' counts are reported (they use operations the emulator does not implement, see the note).
#
# Some of the SDK's object tests point the client at other hosts (192.168.1.1, www.test.com...):
# everything runs in a network namespace of its own (unshare -n, loopback only) so that no request
# leaves the machine. Without one (no unshare/ip, or not permitted) test_oss_object is skipped.
set -uo pipefail

src=${1:?usage: ci/csdk_suite.sh SDK_SRC_DIR [SUITE...]}
shift
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(test_oss_resumable test_oss_multipart test_oss_object)
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${OSSRESUME_CSDK_WORK:-$(mktemp -d -t ossresume-csdk-XXXXXX)}
python=${PYTHON:-$(command -v python || command -v python3)}
[ -f "$src/oss_c_sdk_test/test_oss_resumable.c" ] || { echo "not a C SDK source tree: $src" >&2; exit 2; }
if [ -z "${OSSRESUME_CSDK_ISOLATED:-}" ] && command -v ip > /dev/null && unshare -n true 2> /dev/null; then
    exec unshare -n env OSSRESUME_CSDK_ISOLATED=1 bash -c 'ip link set lo up && exec bash "$@"' bash "$0" "$src" "${suites[@]}"
fi
mkdir -p "$work"

echo "== build the C SDK and its tests in $work"
if [ ! -x "$work/build/build/Release/bin/oss_c_sdk_test" ]; then
    rm -rf "$work/src" && cp -r "$src" "$work/src"
    mkdir -p "$work/build"
    (cd "$work/build" \
        && cmake -DCMAKE_BUILD_TYPE=Release -DCMAKE_POLICY_VERSION_MINIMUM=3.5 ../src > cmake.log 2>&1 \
        && make -j"$(nproc)" oss_c_sdk_test > make.log 2>&1) \
        || { echo "build failed: see $work/build/cmake.log and make.log" >&2; exit 2; }
fi
binary=$work/build/build/Release/bin/oss_c_sdk_test

# start_server LOG CMD...: run CMD in the background, wait for its "listening on URL" line, set
# $server_pid and $server_url.
start_server() {
    local log=$1
    shift
    "$@" > "$log.out" 2> "$log.err" &
    server_pid=$!
    server_url=""
    for _ in $(seq 1 300); do
        server_url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$log.out" | head -n 1)
        [ -n "$server_url" ] && return 0
        kill -0 "$server_pid" 2> /dev/null || break
        sleep 0.1
    done
    echo "server did not start: $*" >&2
    cat "$log.err" >&2
    return 1
}

ak=csdk-suite-ak
sk=csdk-suite-secret
status=0
summary=$work/summary.txt
: > "$summary"
for style in ip localhost; do
    for suite in "${suites[@]}"; do
        if [ "$suite" = test_oss_object ] && [ -z "${OSSRESUME_CSDK_ISOLATED:-}" ]; then
            echo "$suite $style skipped: it sends requests to other hosts, and no network namespace is available" \
                | tee -a "$summary"
            continue
        fi
        run=$work/runs/$style-$suite
        rm -rf "$run" && mkdir -p "$run/store" "$run/cwd"
        vhost=()
        [ "$style" = localhost ] && vhost=(--virtual-host-suffix localhost)
        start_server "$run/callback" "$python" "$repo/ci/csdk_callback_server.py" 0 "$run/callbacks.jsonl" || exit 2
        callback_pid=$server_pid
        callback_url=$server_url
        start_server "$run/emulator" env PYTHONPATH="$repo" OSSRESUME_EMULATOR_ACCESS_KEY_ID=$ak \
            OSSRESUME_EMULATOR_ACCESS_KEY_SECRET=$sk "$python" -m ossresume_c.emulator \
            --root "$run/store" --request-log "$run/requests.jsonl" "${vhost[@]}" || exit 2
        emulator_pid=$server_pid
        endpoint=$server_url
        [ "$style" = localhost ] && endpoint=${endpoint/127.0.0.1/localhost}
        (cd "$run/cwd" && OSS_TEST_ENDPOINT=$endpoint OSS_TEST_ACCESS_KEY_ID=$ak OSS_TEST_ACCESS_KEY_SECRET=$sk \
            OSS_TEST_REGION=cn-hangzhou OSS_TEST_CALLBACK_URL=$callback_url \
            timeout 1800 "$binary" "$suite" > "$run/output.txt" 2>&1)
        kill "$emulator_pid" "$callback_pid" 2> /dev/null
        wait "$emulator_pid" "$callback_pid" 2> /dev/null
        if ok=$(grep -m1 -o 'OK ([0-9]* tests\?)' "$run/output.txt"); then
            total=${ok//[^0-9]/}
            passed=$total
        elif line=$(grep -m1 '^Runs: [0-9]* Passes: [0-9]* Fails: [0-9]*' "$run/output.txt"); then
            total=$(echo "$line" | awk '{print $2}')
            passed=$(echo "$line" | awk '{print $4}')
        else
            total="?"
            passed=0
        fi
        echo "$suite $style $passed/$total" | tee -a "$summary"
        if [ "$passed" != "$total" ]; then
            case " ${OSSRESUME_CSDK_REQUIRED:-test_oss_resumable} " in *" $suite "*) status=1 ;; esac
            grep -E '^[0-9]+\) test_' "$run/output.txt" | sed 's/^/    /' | tee -a "$summary"
            [ "$total" = "?" ] && tail -n 5 "$run/output.txt" | sed 's/^/    /' | tee -a "$summary"
        fi
    done
done
echo "== summary in $summary; per-run output, request log and callbacks under $work/runs"
exit $status
