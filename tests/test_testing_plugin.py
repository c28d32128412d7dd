"""``ossresume_c.testing`` as a user sees it: a test file of theirs that knows only the
``oss_emulator`` fixture (loaded through the ``pytest11`` entry point, no conftest) runs in a
separate pytest process, sees the faults it injects, and fails when a fault breaks it."""
from __future__ import annotations

import textwrap

pytest_plugins = ["pytester"]

USER_TESTS = textwrap.dedent(
    '''
    import os

    import ossresume_c as oss

    KB = 1024


    def _file(tmp_path, name, size):
        path = tmp_path / name
        path.write_bytes(os.urandom(size))
        return str(path)


    def test_round_trip(oss_emulator, tmp_path):
        src = _file(tmp_path, "src.bin", 700 * KB)
        params = oss.create_resumable_clt_params(128 * KB, 3, True, None)
        status = oss.resumable_upload_file(oss_emulator.options(), oss_emulator.bucket, "dir/obj.bin", src,
                                           clt_params=params)
        assert status.is_ok(), status
        dst = str(tmp_path / "dst.bin")
        status = oss.resumable_download_file(oss_emulator.options(), oss_emulator.bucket, "dir/obj.bin", dst,
                                             clt_params=params)
        assert status.is_ok(), status
        assert open(dst, "rb").read() == open(src, "rb").read()
        assert not os.path.exists(src + ".ucp") and not os.path.exists(dst + ".dcp")


    def test_injected_fault_is_seen_then_resumed(oss_emulator, tmp_path):
        src = _file(tmp_path, "src.bin", 600 * KB)
        params = oss.create_resumable_clt_params(100 * KB, 2, True, None)
        rule = oss_emulator.add_fault(op="UploadPart", action="status", status=500, part_number=4)
        status = oss.resumable_upload_file(oss_emulator.options(max_retries=0), oss_emulator.bucket, "k", src,
                                           clt_params=params)
        assert (status.code, status.error_code) == (500, "InternalError"), status
        assert os.path.exists(src + ".ucp")
        counters = oss_emulator.counters()
        assert [r["fired"] for r in counters["fault_rules"] if r["id"] == rule] == [1]
        assert counters["faults_fired"] == {"status": 1}
        oss_emulator.clear_faults()
        oss_emulator.clear_request_log()
        status = oss.resumable_upload_file(oss_emulator.options(), oss_emulator.bucket, "k", src,
                                           clt_params=params)
        assert status.is_ok(), status
        ops = [entry["op"] for entry in oss_emulator.request_log()]
        assert "InitiateMultipartUpload" not in ops and "ListParts" in ops   # resumed, not restarted
        assert not os.path.exists(src + ".ucp")


    def test_naive_upload_under_a_fault(oss_emulator, tmp_path):
        # the user's code ignores faults: every UploadPart fails and retries are off
        src = _file(tmp_path, "src.bin", 300 * KB)
        oss_emulator.add_fault(op="UploadPart", action="status", status=500)
        status = oss.resumable_upload_file(oss_emulator.options(max_retries=0), oss_emulator.bucket, "n", src,
                                           clt_params=oss.create_resumable_clt_params(100 * KB, 1, True, None))
        assert status.is_ok(), "upload failed: %s" % status
    '''
)


def test_user_file_runs_sees_faults_and_fails_when_broken(pytester):
    pytester.makepyfile(test_user_side=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*test_round_trip PASSED*",
        "*test_injected_fault_is_seen_then_resumed PASSED*",
        "*test_naive_upload_under_a_fault FAILED*",
    ])
    # the failure is the injected one, reported through the user's own assertion
    result.stdout.fnmatch_lines(["*upload failed: error 500 InternalError*"])


def test_fixture_comes_from_the_entry_point(pytester):
    """With the entry point's plugin disabled, the same file has no ``oss_emulator``: nothing
    else (a conftest, this suite's setup) provides it."""
    pytester.makepyfile(test_user_side=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:ossresume_c")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["*fixture 'oss_emulator' not found*"])
