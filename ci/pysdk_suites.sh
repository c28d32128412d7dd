#!/usr/bin/env bash
# Runs the official Python SDKs' own integration suites against the emulator and reports
# pass counts per test file and the failures grouped by cause.
#
#   ci/pysdk_suites.sh OSS2_SRC V2_SRC
#
# OSS2_SRC: a checkout of github.com/aliyun/aliyun-oss-python-sdk (runs tests/ files listed in
# OSS2_FILES, once with V1 signing and once with V4). V2_SRC: a checkout of
# github.com/aliyun/alibabacloud-oss-python-sdk-v2 (runs tests/integration/ files listed in
# V2_FILES over HTTPS, V4). Pass "-" to skip one. Each SDK gets its own venv under
# $OSSRESUME_PYSDK_WORK (default /tmp/ossresume-pysdk): their crcmod packages clash. Every run
# gets a fresh emulator (the suites' teardowns delete buckets). Needs network access to PyPI the
# first time (the venvs are reused afterwards). Exit status 0 unless a run could not start;
# the counts are the result.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
oss2_src=${1:-"-"}
v2_src=${2:-"-"}
work=${OSSRESUME_PYSDK_WORK:-/tmp/ossresume-pysdk}
python=${PYTHON:-$(command -v python || command -v python3)}
mkdir -p "$work"

# The files exercising what the emulator emulates (docs/emulator.md lists the tests among them
# that need a real cloud service). Override with space-separated names.
OSS2_FILES=${OSS2_FILES:-"test_bucket test_object test_upload test_download test_multipart test_iterator
 test_list_objects_v2 test_utils test_chinese test_exception_ec test_crc64_combine test_headers"}
V2_FILES=${V2_FILES:-"test_client test_client_filelike test_object_basic test_paginator test_presign
 test_encryption_client test_bucket_cors_client test_bucket_encryption_client test_bucket_lifecycle_client
 test_bucket_logging_client test_bucket_referer_client test_bucket_tags_client"}

venv() {  # venv DIR SRC EXTRA...: a venv with the SDK from SRC installed (once per SRC)
    local dir=$1 src=$2; shift 2
    if [ ! -f "$dir/.installed" ] || [ "$(cat "$dir/.installed")" != "$src" ]; then
        rm -rf "$dir"
        "$python" -m venv "$dir"
        "$dir/bin/pip" install --disable-pip-version-check -q "$src" pytest "$@"
        echo "$src" > "$dir/.installed"
    fi
}

emulator_pid=""
stop_emulator() {
    if [ -n "$emulator_pid" ]; then
        kill "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
        emulator_pid=""
    fi
}
trap stop_emulator EXIT

start_emulator() {  # start_emulator RUN_DIR [emulator options]: sets $endpoint
    local run=$1; shift
    rm -rf "$run" && mkdir -p "$run/store"
    PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" "$python" -m ossresume_c.emulator --root "$run/store" \
        --access-key-id "$ak" --access-key-secret "$sk" "$@" > "$run/emulator.out" 2> "$run/emulator.err" &
    emulator_pid=$!
    local line=""
    for _ in $(seq 1 300); do   # the ready line, or the process gone
        line=$(head -n 1 "$run/emulator.out" 2>/dev/null || true)
        [ -n "$line" ] && break
        kill -0 "$emulator_pid" 2>/dev/null || break
        sleep 0.1
    done
    case "$line" in
        "ossresume emulator listening on "*) endpoint=${line#ossresume emulator listening on } ;;
        *) echo "emulator did not start:" >&2; cat "$run/emulator.err" >&2; exit 1 ;;
    esac
}

report() {  # report LABEL JUNIT_XML
    "$python" "$here/ci/pysdk_report.py" "$1" "$2" | tee -a "$work/summary.txt"
}

# Some tests name cloud hosts (KMS, fixed regional endpoints): send anything not for the
# loopback emulator to a closed loopback port, so it fails without leaving this machine.
# Called inside the test subshells only (pip needs the network).
no_egress() {
    export HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost
    export http_proxy=$HTTP_PROXY https_proxy=$HTTPS_PROXY no_proxy=$NO_PROXY
}

ak=ossresume-pysdk-ak
sk=ossresume-pysdk-secret
: > "$work/summary.txt"

if [ "$oss2_src" != "-" ]; then
    oss2_src=$(cd "$oss2_src" && pwd)
    venv "$work/oss2-venv" "$oss2_src" mock
    for version in v1 v4; do
        run="$work/oss2-$version"
        start_emulator "$run"
        files=$(for f in $OSS2_FILES; do printf 'tests/%s.py ' "$f"; done)
        echo "== oss2 $version: $endpoint"
        # OSS_TEST_BUCKET stays unset: the suite's default bucket prefix (oss-python-sdk-) is
        # what test_bucket_with_group_id lists buckets by.
        # shellcheck disable=SC2086
        (cd "$oss2_src" && no_egress && OSS_TEST_ACCESS_KEY_ID=$ak OSS_TEST_ACCESS_KEY_SECRET=$sk \
            OSS_TEST_ENDPOINT=$endpoint OSS_TEST_REGION=cn-hangzhou OSS_TEST_AUTH_VERSION=$version \
            timeout "${OSSRESUME_PYSDK_TIMEOUT:-3600}" "$work/oss2-venv/bin/python" -m pytest -q \
            -p no:cacheprovider -o log_level=WARNING --junitxml="$run/junit.xml" $files \
            > "$run/pytest.out" 2>&1) || true
        stop_emulator
        report "oss2 $version" "$run/junit.xml"
    done
fi

if [ "$v2_src" != "-" ]; then
    v2_src=$(cd "$v2_src" && pwd)
    venv "$work/v2-venv" "$v2_src" aiohttp
    run="$work/v2-https"
    mkdir -p "$work/tls"
    if [ ! -f "$work/tls/cert.pem" ]; then  # a self-signed certificate for 127.0.0.1
        openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=127.0.0.1" \
            -addext "subjectAltName=IP:127.0.0.1" \
            -keyout "$work/tls/key.pem" -out "$work/tls/cert.pem" 2>/dev/null
    fi
    # alibabacloud-oss-v2's suite is written against today's OSS, whose new buckets block public
    # access (since October 2025); oss2's predates that and sets public ACLs on new buckets.
    start_emulator "$run" --tls-cert "$work/tls/cert.pem" --tls-key "$work/tls/key.pem" --block-public-access
    files=$(for f in $V2_FILES; do printf 'tests/integration/%s.py ' "$f"; done)
    echo "== alibabacloud-oss-v2 https: $endpoint"
    # requests trusts REQUESTS_CA_BUNDLE, aiohttp/ssl SSL_CERT_FILE: both name our certificate.
    # shellcheck disable=SC2086
    (cd "$v2_src" && no_egress && OSS_TEST_ACCESS_KEY_ID=$ak OSS_TEST_ACCESS_KEY_SECRET=$sk \
        OSS_TEST_ENDPOINT=$endpoint OSS_TEST_REGION=cn-hangzhou \
        REQUESTS_CA_BUNDLE="$work/tls/cert.pem" SSL_CERT_FILE="$work/tls/cert.pem" \
        timeout "${OSSRESUME_PYSDK_TIMEOUT:-3600}" "$work/v2-venv/bin/python" -m pytest -q \
        -p no:cacheprovider --junitxml="$run/junit.xml" $files > "$run/pytest.out" 2>&1) || true
    stop_emulator
    report "oss-v2 https" "$run/junit.xml"
fi
echo "== summary in $work/summary.txt"
