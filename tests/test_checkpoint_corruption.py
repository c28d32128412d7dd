"""Property: whatever happened to a real mid-transfer checkpoint, the next call
returns OK and the result is byte-exact (docs/checkpoints.md).  Uses the public strategies
of ``ossresume_c.testing``."""
from __future__ import annotations

import itertools
import os
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ossresume_c as oss
from ossresume_c import checkpoint_codec as codec
from ossresume_c import ops
from ossresume_c.testing.strategies import corrupt
from ossresume_c.transport import Transport

from helpers import file_crc, head, make_file, options_for

KB = 1024
SIZE = 550_000                      # 6 parts of 100 KiB
PROPERTY = settings(max_examples=50, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
_keys = itertools.count()

SEMANTIC = ["bytes", "wrong-upload-id", "all-marked-complete", "server-part-other-bytes",
            "upload-aborted", "etags-wrong", "other-file-size"]


def _params(part_size=100 * KB):
    return oss.create_resumable_clt_params(part_size, 2, True, None)


def _interrupted_upload(emu, path, key):
    emu.server.add_fault(op="UploadPart", action="status", status=403, key=key, nth=3)
    status = oss.resumable_upload_file(options_for(emu, max_retries=0), emu.bucket, key, path,
                                       clt_params=oss.create_resumable_clt_params(100 * KB, 1, True, None))
    emu.server.clear_faults()
    assert status.code == 403, status
    with open(path + ".ucp", "rb") as fh:
        return fh.read()


@PROPERTY
@given(data=st.data(), how=st.sampled_from(SEMANTIC))
def test_corrupted_upload_checkpoint_never_breaks_the_next_upload(oss_emulator, tmp_path, data, how):
    emu = oss_emulator
    path = str(tmp_path / "f.bin")
    if not os.path.exists(path):
        make_file(path, SIZE, seed=1)
    key = f"c{next(_keys):08d}"   # fixed width: the document keeps its shape on replay
    doc = _interrupted_upload(emu, path, key)
    cp = codec.load(doc)
    if how == "bytes":
        doc = data.draw(corrupt(doc))
    elif how == "wrong-upload-id":
        cp.upload_id = data.draw(st.text("0123456789ABCDEF", min_size=1, max_size=32))
        doc = codec.dump(cp)
    elif how == "all-marked-complete":
        for p in cp.parts:
            p.completed, p.etag = True, p.etag or '"%032X"' % p.index
        doc = codec.dump(cp)
    elif how == "etags-wrong":
        for p in cp.parts:
            p.etag = '"%032X"' % random.Random(p.index).getrandbits(128)
        doc = codec.dump(cp, fill_md5=data.draw(st.booleans()))
    elif how == "other-file-size":
        doc = doc.replace(b"<Size>%d</Size>" % SIZE, b"<Size>%d</Size>" % (SIZE + 1), 1)
    else:
        with Transport(options_for(emu)) as t:
            if how == "server-part-other-bytes":
                n = data.draw(st.integers(1, 2))
                assert ops.upload_part(t, emu.bucket, key, cp.upload_id, n, os.urandom(102400))[0].is_ok()
            else:
                assert ops.abort_multipart_upload(t, emu.bucket, key, cp.upload_id).code == 204
    with open(path + ".ucp", "wb") as fh:
        fh.write(doc)
    status = oss.resumable_upload_file(options_for(emu), emu.bucket, key, path, clt_params=_params())
    assert status.is_ok(), (how, status)
    st_, meta = head(emu, key)
    assert meta.size == SIZE and meta.crc64 == file_crc(path)
    assert not os.path.exists(path + ".ucp")


DL_SEMANTIC = ["bytes", "tmp-random", "tmp-truncated", "tmp-missing", "crcs-wrong",
               "all-marked-complete", "other-etag"]


@PROPERTY
@given(data=st.data(), how=st.sampled_from(DL_SEMANTIC))
def test_corrupted_download_checkpoint_never_breaks_the_next_download(oss_emulator, tmp_path, data,
                                                                      how):
    emu = oss_emulator
    src = str(tmp_path / "src.bin")
    if not os.path.exists(src):
        make_file(src, SIZE, seed=2)
        assert oss.resumable_upload_file(options_for(emu), emu.bucket, "obj", src,
                                         clt_params=_params()).is_ok()
    want = open(src, "rb").read()
    target = str(tmp_path / f"out{next(_keys):08d}.bin")
    emu.server.add_fault(op="GetObject", action="status", status=403, nth=3)
    status = oss.resumable_download_file(options_for(emu, max_retries=0), emu.bucket, "obj", target,
                                         clt_params=oss.create_resumable_clt_params(100 * KB, 1, True, None))
    emu.server.clear_faults()
    assert status.code == 403
    with open(target + ".dcp", "rb") as fh:
        doc = fh.read()
    cp = codec.load(doc)
    tmp = target + ".tmp"
    if how == "bytes":
        doc = data.draw(corrupt(doc))
    elif how == "tmp-random":
        with open(tmp, "wb") as fh:
            fh.write(os.urandom(SIZE))
    elif how == "tmp-truncated":
        os.truncate(tmp, data.draw(st.integers(0, SIZE - 1)))
    elif how == "tmp-missing":
        os.unlink(tmp)
    elif how == "crcs-wrong":
        for p in cp.parts:
            p.crc64 = random.Random(p.index).getrandbits(64)
        doc = codec.dump(cp)
    elif how == "all-marked-complete":
        for p in cp.parts:
            p.completed = True
        doc = codec.dump(cp)
    else:
        cp.object_etag = '"%032X"' % 7
        doc = codec.dump(cp)
    with open(target + ".dcp", "wb") as fh:
        fh.write(doc)
    status = oss.resumable_download_file(options_for(emu), emu.bucket, "obj", target,
                                         clt_params=_params())
    assert status.is_ok(), (how, status)
    with open(target, "rb") as fh:
        assert fh.read() == want
    assert not os.path.exists(target + ".dcp") and not os.path.exists(tmp)
