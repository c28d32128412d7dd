"""The pytest plugin as a third party sees it: a test file that knows only the
``oss_emulator`` fixture (auto-loaded through the ``pytest11`` entry point)."""
from __future__ import annotations

import textwrap

pytest_plugins = ["pytester"]

THIRD_PARTY_TESTS = textwrap.dedent(
    '''
    import os

    import ossresume_c as oss

    SEEN_BUCKETS = []


    def _upload(emu, tmp_path, key="k", **ctl):
        path = tmp_path / "f.bin"
        path.write_bytes(os.urandom(300 * 1024))
        params = oss.create_resumable_clt_params(100 * 1024, 2, True, None)
        return oss.resumable_upload_file(emu.options(**ctl), emu.bucket, key, str(path), clt_params=params)


    def test_upload(oss_emulator, tmp_path):
        SEEN_BUCKETS.append(oss_emulator.bucket)
        assert oss_emulator.endpoint.startswith("http://127.0.0.1:")
        assert oss_emulator.region == "cn-hangzhou"
        status = _upload(oss_emulator, tmp_path)
        assert status.is_ok(), status
        ops = [entry["op"] for entry in oss_emulator.request_log()]
        assert ops.count("UploadPart") == 3 and ops[-1] in ("CompleteMultipartUpload", "HeadObject")


    def test_injected_fault_is_retried(oss_emulator, tmp_path):
        SEEN_BUCKETS.append(oss_emulator.bucket)
        assert oss_emulator.request_log() == []  # cleared for each test
        oss_emulator.add_fault(op="UploadPart", action="status", status=503, nth=1)
        status = _upload(oss_emulator, tmp_path, backoff_base=0.01)
        assert status.is_ok(), status
        assert oss_emulator.counters()["faults_fired"] == {"status": 1}


    def test_buckets_are_fresh_and_faults_cleared(oss_emulator):
        assert oss_emulator.bucket not in SEEN_BUCKETS and len(set(SEEN_BUCKETS)) == 2
        assert oss_emulator.faults() == []
        assert oss_emulator.server.health()["status"] == "ok"
    '''
)


def test_third_party_test_file_runs(pytester):
    pytester.makepyfile(test_third_party=THIRD_PARTY_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
