"""engine: the job steps upload and download share, on a small job of their own."""
from __future__ import annotations

import os

import pytest

import ossresume_c as oss
from ossresume_c import checkpoint_codec as codec
from ossresume_c import native
from ossresume_c import status as st
from ossresume_c.engine import JobFailed, PartDone, TransferJob, copy_out
from ossresume_c.layout import plan_parts

from helpers import make_file

KB = 1024


class FileJob(TransferJob):
    """Reads a local file's parts: enough to drive every shared step."""

    def __init__(self, path: str, cp_path, part_size: int = 100 * KB) -> None:
        options = oss.request_options_create(endpoint="http://127.0.0.1:9")
        clt = oss.create_resumable_clt_params(part_size, 2, cp_path is not None, cp_path)
        super().__init__(options, "bkt", "k", path, None, clt, None, 1.0)
        self.abandoned = []

    def steps(self) -> st.Status:
        self.fd = os.open(self.filepath, os.O_RDONLY)
        self.progress.total = os.fstat(self.fd).st_size
        self.lock(".ucp")
        self.begin(plan_parts(self.progress.total, self.clt.part_size), {})
        self.save(strict=True)
        failure = self.run_parts(self.read_part, "test-job")
        if failure is not None:
            return self.fail(failure)
        return self.finish(st.Status(200))

    def read_part(self, index: int):
        part = self.plan.parts[index]
        n, crc = native.crc64_file_range(self.fd, part.offset, part.size)
        return None, PartDone(crc)

    def checkpoint(self) -> codec.Checkpoint:
        parts = [codec.CheckpointPart(p.index, p.offset, p.size, p.index in self.done, "",
                                      self.done.get(p.index, PartDone(0)).crc64) for p in self.plan.parts]
        return codec.Checkpoint(type=codec.UPLOAD, file_path=self.filepath, file_size=self.progress.total,
                                file_mtime=1, object_key=self.key, object_size=0,
                                object_last_modified="", object_etag="", upload_id="0" * 32,
                                part_size=self.plan.part_size, parts=parts)

    def abandon(self, why: str) -> None:
        self.abandoned.append(why)


def test_parts_are_recorded_combined_and_the_checkpoint_removed(tmp_path):
    path = make_file(tmp_path / "f.bin", 450 * KB + 7, seed=3)
    job = FileJob(path, str(tmp_path / "cp" / "f.ucp"))
    assert job.run().is_ok()
    assert sorted(job.done) == [0, 1, 2, 3, 4] and job.progress.consumed == 450 * KB + 7
    assert job.combined_crc() == native.crc64(open(path, "rb").read())
    assert not os.path.exists(tmp_path / "cp" / "f.ucp") and job.abandoned == []


def test_crc_ranges_say_none_past_the_end(tmp_path):
    path = make_file(tmp_path / "f.bin", 1000, seed=4)
    job = FileJob(path, None)
    job.fd = os.open(path, os.O_RDONLY)
    try:
        data = open(path, "rb").read()
        got = job.crc_ranges([(0, 0, 500), (1, 500, 500), (2, 900, 200)])
    finally:
        os.close(job.fd)
        job.fd = -1
    assert got == {0: native.crc64(data[:500]), 1: native.crc64(data[500:]), 2: None}
    assert job.crc_ranges([]) == {}


def test_a_failure_keeps_the_checkpoint(tmp_path):
    path = make_file(tmp_path / "f.bin", 300 * KB, seed=5)
    job = FileJob(path, str(tmp_path / "f.ucp"))
    job.read_part = lambda index: ((st.Status(500, "Boom"), None) if index == 2
                                   else FileJob.read_part(job, index))
    status = job.run()
    assert status.code == 500 and job.abandoned == []
    cp = codec.load(open(tmp_path / "f.ucp", "rb").read())
    assert {p.index for p in cp.parts if p.completed} == set(job.done) and 2 not in job.done


def test_without_a_checkpoint_a_failure_abandons_the_transfer(tmp_path):
    path = make_file(tmp_path / "f.bin", 300 * KB, seed=6)
    job = FileJob(path, None)
    job.read_part = lambda index: (st.Status(500, "Boom"), None)
    assert job.run().code == 500
    assert job.abandoned == ["the transfer failed and has no checkpoint"]


def test_a_checkpoint_that_cannot_be_written_at_the_start_abandons(tmp_path):
    path = make_file(tmp_path / "f.bin", 300 * KB, seed=7)
    job = FileJob(path, str(tmp_path / "f.ucp"))

    def refuse(cp):
        raise OSError(28, "No space left on device")
    job.lock(".ucp")
    job.cpfile.save = refuse
    job.begin(plan_parts(300 * KB, 100 * KB), {})
    with pytest.raises(JobFailed) as exc:
        job.save(strict=True)
    assert exc.value.status.code == st.FILE_WRITE_ERROR and job.abandoned
    job.save()                            # not strict: logged, the job goes on
    job.cpfile.unlock(remove=True)


def test_copy_out_fills_the_out_parameter_in_place():
    target = {"old": "1"}
    copy_out(target, {"x-oss-request-id": "r"})
    assert target == {"x-oss-request-id": "r"}
    copy_out(None, {"a": "b"})            # no out-parameter: nothing to do
