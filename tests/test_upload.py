"""resumable_upload_file against the emulator: the C SDK's own scenarios, ported,
with our better outcomes where the C SDK's are defects."""
from __future__ import annotations

import os
import threading

import pytest

import ossresume_c as oss
from ossresume_c import checkpoint_codec as codec
from ossresume_c import native, ops
from ossresume_c.checkpoint_file import CheckpointFile
from ossresume_c.transport import Transport

from helpers import (file_crc, get_bytes, head, make_file, options_for, ops_in_log, rewrite,
                     upload_part_requests)

KB = 1024


def upload(emu, key, path, part_size=100 * KB, threads=3, checkpoint=True, cp_path=None,
           callback=None, headers=None, resp_headers=None, resp_body=None, **opts):
    params = oss.create_resumable_clt_params(part_size, threads, checkpoint, cp_path)
    return oss.resumable_upload_file(options_for(emu, **opts), emu.bucket, key, path, headers, None,
                                     params, callback, resp_headers, resp_body)


def assert_object_is_file(emu, key, path):
    status, meta = head(emu, key)
    assert status.is_ok(), status
    assert meta.size == os.path.getsize(path)
    assert meta.crc64 == file_crc(path)
    with open(path, "rb") as fh:
        assert get_bytes(emu, key) == fh.read()


@pytest.mark.parametrize("checkpoint", [True, False])
def test_upload_with_and_without_checkpoint(oss_emulator, tmp_path, checkpoint):
    path = make_file(tmp_path / "f.bin", 550_000, seed=1)
    resp_headers, resp_body = {}, []
    status = upload(oss_emulator, "dir/obj.bin", path, checkpoint=checkpoint,
                    resp_headers=resp_headers, resp_body=resp_body)
    assert status.is_ok(), status
    assert status.req_id and resp_headers.get("x-oss-request-id") == status.req_id
    assert resp_body and b"CompleteMultipartUploadResult" in resp_body[0]
    assert_object_is_file(oss_emulator, "dir/obj.bin", path)
    assert not os.path.exists(path + ".ucp")
    assert len(upload_part_requests(oss_emulator)) == 6


@pytest.mark.parametrize("part_size,threads", [(10 * 1024 * KB, 3), (200 * KB, 1), (200 * KB, 5),
                                               (100 * KB, 10)])
def test_part_sizes_and_thread_counts(oss_emulator, tmp_path, part_size, threads):
    path = make_file(tmp_path / "f.bin", 1_300_000 if part_size < 1024 * KB else 21_000_000, seed=2)
    status = upload(oss_emulator, "k", path, part_size=part_size, threads=threads)
    assert status.is_ok(), status
    assert_object_is_file(oss_emulator, "k", path)
    expected_parts = -(-os.path.getsize(path) // part_size)
    assert len(upload_part_requests(oss_emulator)) == expected_parts


def test_empty_and_small_files_go_as_one_put(oss_emulator, tmp_path):
    empty = make_file(tmp_path / "empty", 0)
    assert upload(oss_emulator, "empty", empty, part_size=0).is_ok()
    small = make_file(tmp_path / "small", 1000)
    assert upload(oss_emulator, "small", small).is_ok()
    assert ops_in_log(oss_emulator).count("PutObject") == 2
    assert "InitiateMultipartUpload" not in ops_in_log(oss_emulator)
    assert_object_is_file(oss_emulator, "empty", empty)
    assert_object_is_file(oss_emulator, "small", small)


def test_garbage_checkpoint_is_discarded(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 350_000, seed=3)
    with open(path + ".ucp", "wb") as fh:
        fh.write(b"HiOSS")
    assert upload(oss_emulator, "k", path).is_ok()
    assert_object_is_file(oss_emulator, "k", path)
    assert not os.path.exists(path + ".ucp")


def test_checkpoint_in_missing_directory_is_created(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 350_000, seed=4)
    cp = tmp_path / "no" / "such" / "dir" / "f.ucp"
    assert upload(oss_emulator, "k", path, cp_path=str(cp)).is_ok()
    assert cp.parent.is_dir() and not cp.exists()


def test_checkpoint_directory_gets_a_derived_name(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 350_000, seed=5)
    cpdir = tmp_path / "cps"
    cpdir.mkdir()
    oss_emulator.server.add_fault(op="UploadPart", action="status", status=400, nth=2)
    status = upload(oss_emulator, "a/b/c.bin", path, cp_path=str(cpdir), threads=1, max_retries=0)
    assert not status.is_ok()
    files = [f for f in os.listdir(cpdir) if f.endswith(".ucp")]
    assert len(files) == 1 and files[0].startswith("c.bin.")
    assert (os.stat(cpdir / files[0]).st_mode & 0o777) == 0o600
    oss_emulator.server.clear_faults()
    assert upload(oss_emulator, "a/b/c.bin", path, cp_path=str(cpdir)).is_ok()
    assert [f for f in os.listdir(cpdir) if f.endswith(".ucp")] == []


def _interrupted_upload(emu, path, key="k", fail_nth=3, **kw):
    """An upload whose 3rd UploadPart fails for good: leaves a checkpoint."""
    emu.server.add_fault(op="UploadPart", action="status", status=403, nth=fail_nth)
    status = upload(emu, key, path, threads=1, max_retries=0, **kw)
    emu.server.clear_faults()
    assert status.code == 403, status
    assert os.path.exists(path + ".ucp")
    emu.server.clear_request_log()
    return status


def test_resume_sends_only_missing_parts(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 1_000_000, seed=6)     # 10 parts
    _interrupted_upload(oss_emulator, path)
    cp = codec.load(open(path + ".ucp", "rb").read())
    assert cp.upload_id and sum(p.completed for p in cp.parts) == 2
    calls = []
    status = upload(oss_emulator, "k", path, threads=1, callback=lambda c, t: calls.append((c, t)))
    assert status.is_ok(), status
    sent = sorted(int(e["part_number"]) for e in upload_part_requests(oss_emulator))
    assert sent == list(range(3, 11))
    assert "ListParts" in ops_in_log(oss_emulator)
    assert "InitiateMultipartUpload" not in ops_in_log(oss_emulator)
    assert calls[0][0] >= 2 * 100 * KB            # restored parts count at the first call
    assert calls[-1] == (1_000_000, 1_000_000)
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
    assert_object_is_file(oss_emulator, "k", path)


def test_resume_of_a_c_sdk_written_checkpoint(oss_emulator, tmp_path):
    """A checkpoint in the C SDK's exact bytes (empty MD5, Crc64 0, empty key) with
    parts 1 and 3 completed: only the others are sent."""
    path = make_file(tmp_path / "f.bin", 550_000, seed=7)
    emu = oss_emulator
    with Transport(options_for(emu)) as t:
        status, upload_id = ops.initiate_multipart_upload(t, emu.bucket, "k")
        assert status.is_ok()
        etags = {}
        data = open(path, "rb").read()
        for n in (1, 3):
            status, res = ops.upload_part(t, emu.bucket, "k", upload_id, n,
                                          data[(n - 1) * 102400:n * 102400])
            assert status.is_ok()
            etags[n] = res.etag
    st_ = os.stat(path)
    sizes = [102400] * 5 + [550000 - 5 * 102400]
    parts = [codec.CheckpointPart(i, i * 102400, s, (i + 1) in etags, etags.get(i + 1, ""), 0)
             for i, s in enumerate(sizes)]
    cp = codec.Checkpoint(type=1, file_path=path, file_size=550000, file_mtime=st_.st_mtime_ns // 1000,
                          object_key="", object_size=0, object_last_modified="", object_etag="",
                          upload_id=upload_id, part_size=102400, parts=parts)
    raw = codec.dump(cp, fill_md5=False)
    assert b"<MD5></MD5><Type>1</Type>" in raw
    with open(path + ".ucp", "wb") as fh:
        fh.write(raw)
    emu.server.clear_request_log()
    assert upload(emu, "k", path).is_ok()
    assert sorted(int(e["part_number"]) for e in upload_part_requests(emu)) == [2, 4, 5, 6]
    assert_object_is_file(emu, "k", path)


def test_checkpoint_with_size_zero_starts_over(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 350_000, seed=8)
    _interrupted_upload(oss_emulator, path)
    cp = codec.load(open(path + ".ucp", "rb").read())
    old_id = cp.upload_id
    raw = open(path + ".ucp", "rb").read().replace(b"<Size>350000</Size>", b"<Size>0</Size>", 1)
    open(path + ".ucp", "wb").write(raw)
    assert upload(oss_emulator, "k", path).is_ok()
    assert "InitiateMultipartUpload" in ops_in_log(oss_emulator)
    assert_object_is_file(oss_emulator, "k", path)
    # our better outcome: the discarded upload was aborted, not leaked
    with Transport(options_for(oss_emulator)) as t:
        status, uploads = ops.list_multipart_uploads(t, oss_emulator.bucket)
    assert status.is_ok() and old_id not in [u.upload_id for u in uploads]


def test_bogus_upload_id_starts_over(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 350_000, seed=9)
    _interrupted_upload(oss_emulator, path)
    cp = codec.load(open(path + ".ucp", "rb").read())
    cp.upload_id = "0" * 32
    open(path + ".ucp", "wb").write(codec.dump(cp))
    status = upload(oss_emulator, "k", path)
    assert status.is_ok(), status        # the C SDK fails with 404 forever here
    assert_object_is_file(oss_emulator, "k", path)


def test_server_parts_with_other_bytes_are_resent(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 500_000, seed=10)
    _interrupted_upload(oss_emulator, path)
    cp = codec.load(open(path + ".ucp", "rb").read())
    with Transport(options_for(oss_emulator)) as t:     # overwrite part 1 with other bytes
        status, _ = ops.upload_part(t, oss_emulator.bucket, "k", cp.upload_id, 1, b"x" * 102400)
        assert status.is_ok()
    oss_emulator.server.clear_request_log()
    assert upload(oss_emulator, "k", path, threads=1).is_ok()
    assert 1 in [int(e["part_number"]) for e in upload_part_requests(oss_emulator)]
    assert_object_is_file(oss_emulator, "k", path)


def test_file_change_between_runs_starts_over(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 500_000, seed=11)
    _interrupted_upload(oss_emulator, path)
    rewrite(path, b"changed!")
    assert upload(oss_emulator, "k", path).is_ok()
    assert "InitiateMultipartUpload" in ops_in_log(oss_emulator)
    assert "AbortMultipartUpload" in ops_in_log(oss_emulator)
    assert_object_is_file(oss_emulator, "k", path)


def test_file_modified_during_upload_never_gives_a_wrong_object(oss_emulator, tmp_path, monkeypatch):
    from ossresume_c.part_head import PartHeads
    path = make_file(tmp_path / "f.bin", 800_000, seed=12)
    real = PartHeads.build

    def modify_before_part_2(self, bucket, key, upload_id, part_number, *a):
        if part_number == 2:     # part 1 went out with the old bytes
            rewrite(path, b"\0" * 1000)
        return real(self, bucket, key, upload_id, part_number, *a)

    monkeypatch.setattr(PartHeads, "build", modify_before_part_2)
    status = upload(oss_emulator, "k", path, threads=1)
    monkeypatch.undo()
    assert not status.is_ok()
    assert status.error_code == "FileChanged" and status.code == -978
    assert os.path.exists(path + ".ucp")              # checkpoint kept
    st_, _meta = head(oss_emulator, "k")
    assert st_.code == 404                            # nothing was completed
    assert upload(oss_emulator, "k", path).is_ok()    # a new run uploads the new content
    assert_object_is_file(oss_emulator, "k", path)


def test_missing_file_and_directory(oss_emulator, tmp_path):
    status = upload(oss_emulator, "k", str(tmp_path / "nope"))
    assert (status.code, status.error_code) == (2, "OpenFileFail")
    status = upload(oss_emulator, "k", str(tmp_path))
    assert status.error_code == "OpenFileFail" and status.code in (21, 13)
    assert ops_in_log(oss_emulator) == []


def test_too_small_part_size_is_refused_before_sending(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 300_000, seed=13)
    status = upload(oss_emulator, "k", path, part_size=64 * KB)
    assert status.code == -994 and "minimum" in status.error_msg
    assert ops_in_log(oss_emulator) == []


BAD_BUCKETS = ["", "a", "ab", "A" * 10, "-abc", "abc-", "ab_c", "ab.c", "abC", "a" * 64, "ab c",
               "中文桶", "ab/c", "ab\\c", "..", "ab#c", "ab?c"]


@pytest.mark.parametrize("bucket", BAD_BUCKETS)
def test_invalid_bucket_names(oss_emulator, tmp_path, bucket):
    path = make_file(tmp_path / "f.bin", 10)
    params = oss.create_resumable_clt_params(0, 1, False, None)
    status = oss.resumable_upload_file(options_for(oss_emulator), bucket, "k", path, None, None, params)
    assert (status.code, status.error_code) == (-994, "BucketNameInvalidError")


def test_none_arguments_do_not_crash(oss_emulator, tmp_path):
    opts = options_for(oss_emulator)
    for args in [(None, "k", "f"), ("bucket-x", None, "f"), ("bucket-x", "k", None)]:
        status = oss.resumable_upload_file(opts, *args)
        assert status.code == -994
    with pytest.raises(TypeError):
        oss.resumable_upload_file(None, "bucket-x", "k", "f")


def test_nonexistent_bucket(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 350_000)
    params = oss.create_resumable_clt_params(100 * KB, 2, False, None)
    status = oss.resumable_upload_file(options_for(oss_emulator), "no-such-bucket-zz", "k", path,
                                       clt_params=params)
    assert (status.code, status.error_code) == (404, "NoSuchBucket")
    assert len(status.req_id) == 24


def test_content_type_guessed_from_key(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 300_000)
    assert upload(oss_emulator, "video/seg.ts", path).is_ok()
    assert upload(oss_emulator, "x.json", path, headers={"x-oss-meta-a": "1"}).is_ok()
    assert upload(oss_emulator, "y.json", path, headers={"Content-Type": "text/x-mine"}).is_ok()
    assert head(oss_emulator, "video/seg.ts")[1].content_type == "video/MP2T"
    meta = head(oss_emulator, "x.json")[1]
    assert meta.content_type == "application/json" and meta.headers.get("x-oss-meta-a") == "1"
    assert head(oss_emulator, "y.json")[1].content_type == "text/x-mine"


def test_retries_through_injected_faults(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 1_000_000, seed=14)
    emu = oss_emulator
    emu.server.add_fault(op="UploadPart", action="status", status=503, nth=2)
    emu.server.add_fault(op="UploadPart", action="status", status=500, nth=5)
    emu.server.add_fault(op="UploadPart", action="bad_crc", nth=7)
    emu.server.add_fault(op="UploadPart", action="reset", after_bytes=50_000, nth=9)
    # with 2 threads one part can meet all four faults (the other thread taking the
    # requests in between): 4 retries, so that any interleaving ends in success
    status = upload(emu, "k", path, threads=2, max_retries=4)
    assert status.is_ok(), status
    assert len(upload_part_requests(emu)) >= 10 + 3
    assert_object_is_file(emu, "k", path)


def test_client_errors_are_not_retried_and_upload_without_checkpoint_is_aborted(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 500_000, seed=15)
    emu = oss_emulator
    emu.server.add_fault(op="UploadPart", action="status", status=403, nth=2)
    status = upload(emu, "k", path, threads=1, checkpoint=False)
    assert status.code == 403
    log = ops_in_log(emu)
    assert log.count("UploadPart") == 2             # not retried, no part scheduled after it
    assert log[-1] == "AbortMultipartUpload"


def test_whole_object_crc_is_checked_after_complete(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 500_000, seed=16)
    oss_emulator.server.add_fault(op="CompleteMultipartUpload", action="bad_crc")
    status = upload(oss_emulator, "k", path)
    assert (status.code, status.error_code) == (-978, "InconsistentError")


def test_whole_object_crc_is_checked_after_a_resume(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 500_000, seed=17)
    _interrupted_upload(oss_emulator, path)
    oss_emulator.server.add_fault(op="CompleteMultipartUpload", action="bad_crc")
    status = upload(oss_emulator, "k", path)
    assert (status.code, status.error_code) == (-978, "InconsistentError")


def test_callback_exception_cancels_and_keeps_checkpoint(oss_emulator, tmp_path, monkeypatch):
    from ossresume_c.scheduler import PartRunner
    path = make_file(tmp_path / "f.bin", 1_000_000, seed=18)
    called = threading.Event()

    def stop(consumed, total):
        called.set()
        raise RuntimeError("user said stop")

    # the worker takes no part after its first ones until the callback has run
    real_one, real_many = PartRunner._guarded, PartRunner._guarded_many

    def after_the_callback(real):
        def run(self, work, index_or_indexes):
            first = index_or_indexes if isinstance(index_or_indexes, int) else index_or_indexes[0]
            if first > 0:
                assert called.wait(60)
            return real(self, work, index_or_indexes)
        return run

    monkeypatch.setattr(PartRunner, "_guarded", after_the_callback(real_one))
    monkeypatch.setattr(PartRunner, "_guarded_many", after_the_callback(real_many))
    status = upload(oss_emulator, "k", path, threads=1, callback=stop)
    monkeypatch.undo()
    assert status.code == -997 and "user said stop" in status.error_msg
    assert os.path.exists(path + ".ucp")
    before = len(upload_part_requests(oss_emulator))
    assert before < 10
    oss_emulator.server.clear_request_log()
    assert upload(oss_emulator, "k", path, threads=1).is_ok()
    assert len(upload_part_requests(oss_emulator)) == 10 - before
    assert_object_is_file(oss_emulator, "k", path)


def test_keyboard_interrupt_keeps_a_resumable_checkpoint(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 1_000_000, seed=19)

    def ctrl_c(consumed, total):
        if consumed >= 300 * KB:
            raise KeyboardInterrupt

    oss_emulator.server.add_fault(op="UploadPart", action="delay", seconds=0.05)
    with pytest.raises(KeyboardInterrupt):
        upload(oss_emulator, "k", path, threads=2, callback=ctrl_c)
    oss_emulator.server.clear_faults()
    cp = codec.load(open(path + ".ucp", "rb").read())
    assert sum(p.completed for p in cp.parts) >= 3
    oss_emulator.server.clear_request_log()
    assert upload(oss_emulator, "k", path).is_ok()
    assert len(upload_part_requests(oss_emulator)) <= 7
    assert_object_is_file(oss_emulator, "k", path)


def test_checkpoint_locked_by_another_holder(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 500_000, seed=20)
    other = CheckpointFile(path + ".ucp")
    other.lock()        # a separate open file description: conflicts like another process
    try:
        status = upload(oss_emulator, "k", path)
    finally:
        other.unlock()
    assert (status.code, status.error_code) == (-993, "CheckpointLocked")
    assert ops_in_log(oss_emulator) == []


def test_lost_complete_response_is_confirmed_by_head(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 500_000, seed=21)
    # the server completes, then the connection drops before the response
    oss_emulator.server.add_fault(op="CompleteMultipartUpload", action="status", status=500,
                                  phase="after", nth=1)
    status = upload(oss_emulator, "k", path)
    assert status.is_ok(), status
    assert ops_in_log(oss_emulator).count("CompleteMultipartUpload") == 2
    assert "HeadObject" in ops_in_log(oss_emulator)
    assert_object_is_file(oss_emulator, "k", path)


def test_threads_really_overlap(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 2_000_000, seed=22)
    oss_emulator.server.add_fault(op="UploadPart", action="delay", seconds=0.2)
    names = set()
    from ossresume_c.upload import UploadJob

    def spy(real):
        def run(*a, **kw):
            names.add(threading.current_thread().name)
            return real(*a, **kw)
        return run

    with pytest.MonkeyPatch.context() as mp:   # one part at a time or several in a row
        mp.setattr(UploadJob, "_upload_part", spy(UploadJob._upload_part))
        mp.setattr(UploadJob, "_upload_parts", spy(UploadJob._upload_parts))
        assert upload(oss_emulator, "k", path, part_size=200 * KB, threads=4).is_ok()
    assert len(names) == 4


def test_callback_raising_at_the_final_call_still_returns_the_success_status(oss_emulator, tmp_path):
    # found by the CLI work: the final consumed == total call used to escape as an exception
    for size in (1000, 500_000):      # single PUT and multipart
        path = make_file(tmp_path / f"f{size}.bin", size)

        def progress(consumed, total):
            if consumed == total:
                raise RuntimeError("raised at the end")

        status = upload(oss_emulator, f"k{size}", path, callback=progress)
        assert status.is_ok(), status
        assert_object_is_file(oss_emulator, f"k{size}", path)


def test_ctrl_c_without_checkpoint_aborts_the_upload(oss_emulator, tmp_path):
    path = make_file(tmp_path / "f.bin", 500 * KB)

    def ctrl_c(consumed, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        upload(oss_emulator, "k", path, checkpoint=False, callback=ctrl_c)
    with Transport(options_for(oss_emulator)) as t:
        status, uploads = ops.list_multipart_uploads(t, oss_emulator.bucket)
    assert status.is_ok() and uploads == []
    assert "AbortMultipartUpload" in ops_in_log(oss_emulator)
