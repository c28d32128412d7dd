"""C++ SDK records as the engine's checkpoint file (ossresume_c.cpp_checkpoint_file)."""
from __future__ import annotations

import os
from types import SimpleNamespace

from ossresume_c import checkpoint_codec as codec
from ossresume_c import cpp_checkpoint as cc
from ossresume_c.cpp_checkpoint_file import CppCheckpointFormat

UPLOAD_ID = "0123456789ABCDEF0123456789ABCDEF"


def upload_file(tmp_path, size=250_000):
    src = tmp_path / "f.bin"
    src.write_bytes(b"x" * size)
    fmt = CppCheckpointFormat(str(tmp_path / "cps"))
    return src, fmt.checkpoint_file(str(src), "bkt", "dir/k", ".ucp")


def upload_record(src, **changes):
    seconds = os.stat(src).st_mtime_ns // 1_000_000_000
    rec = cc.UploadRecord(upload_id=UPLOAD_ID, file_path=str(src), bucket="bkt", key="dir/k",
                          mtime=cc.http_date(seconds), size=os.path.getsize(src), part_size=100_000)
    for name, value in changes.items():
        setattr(rec, name, value)
    return cc.dump_upload(rec)


def test_record_names_and_directions(tmp_path):
    fmt = CppCheckpointFormat(str(tmp_path))
    up = fmt.checkpoint_file("/data/f", "b", "k", ".ucp")
    down = fmt.checkpoint_file("/data/f", "b", "k", ".dcp")
    assert up.path == str(tmp_path / cc.upload_record_name("b", "k", "/data/f"))
    assert down.path == str(tmp_path / cc.download_record_name("b", "k", "/data/f"))
    assert up.upload and not down.upload
    assert down.download_temp_path("/data/f", None) == "/data/f.temp"


def test_upload_record_becomes_a_checkpoint_the_engine_resumes(tmp_path):
    src, cpfile = upload_file(tmp_path)
    cp, reason = cpfile.decode(upload_record(src))
    assert reason == "" and cp is not None
    assert (cp.type, cp.upload_id, cp.file_size, cp.part_size) == (codec.UPLOAD, UPLOAD_ID, 250_000, 100_000)
    assert cp.file_mtime == os.stat(src).st_mtime_ns // 1000      # whole seconds matched
    assert [(p.offset, p.size, p.completed) for p in cp.parts] == [
        (0, 100_000, False), (100_000, 100_000, False), (200_000, 50_000, False)]
    assert cpfile.encode(cp) == upload_record(src)                 # and back, byte for byte


def test_upload_record_of_another_second_does_not_match(tmp_path):
    src, cpfile = upload_file(tmp_path)
    seconds = os.stat(src).st_mtime_ns // 1_000_000_000
    cp, _ = cpfile.decode(upload_record(src, mtime=cc.http_date(seconds - 1)))
    assert cp is not None and cp.file_mtime == -1


def test_records_for_another_object_or_direction_are_refused(tmp_path):
    src, cpfile = upload_file(tmp_path)
    cp, reason = cpfile.decode(upload_record(src, key="other"))
    assert cp is None and "another object" in reason
    down = cc.dump_download(cc.DownloadRecord("bkt", "dir/k", str(src), "", 10, 5))
    cp, reason = cpfile.decode(down)
    assert cp is None and "DownloadRecord" in reason


def test_an_invalid_upload_record_gives_its_upload_id_for_abort(tmp_path):
    src, cpfile = upload_file(tmp_path)
    tampered = upload_record(src).replace(b'"size" : 250000', b'"size" : 250001')
    cp, reason = cpfile.decode(tampered)
    assert cp is None and "md5Sum" in reason and cpfile.salvaged_upload_id == UPLOAD_ID
    cp, reason = cpfile.decode(b"\x00garbage")
    assert cp is None and cpfile.salvaged_upload_id == ""


def download_file(tmp_path, size=250_000):
    target = tmp_path / "out.bin"
    fmt = CppCheckpointFormat(str(tmp_path / "cps"))
    cpfile = fmt.checkpoint_file(str(target), "bkt", "k", ".dcp")
    meta = SimpleNamespace(size=size, etag='"ETAG-3"', last_modified="Mon, 30 Nov 2026 14:49:37 GMT")
    return target, cpfile, meta


def test_download_record_takes_the_objects_identity_when_the_size_matches(tmp_path):
    target, cpfile, meta = download_file(tmp_path)
    assert cpfile.download_temp_path(str(target), meta) == str(target) + ".temp"
    temp = tmp_path / "out.bin.temp"
    temp.write_bytes(b"y" * 100_000)                # the SDK's .temp grows as parts land
    rec = cc.DownloadRecord("bkt", "k", str(target), "", 250_000, 100_000,
                            [cc.DownloadedPart(1, 100_000, 77)])
    cp, reason = cpfile.decode(cc.dump_download(rec))
    assert reason == "" and cp is not None
    assert (cp.object_etag, cp.object_last_modified, cp.object_size) == (meta.etag, meta.last_modified, 250_000)
    assert [(p.completed, p.crc64) for p in cp.parts] == [(True, 77), (False, 0), (False, 0)]
    assert temp.stat().st_size == 250_000           # extended for the engine's checks
    assert cpfile.encode(cp) == cc.dump_download(rec)


def test_download_record_of_another_size_keeps_no_identity(tmp_path):
    target, cpfile, meta = download_file(tmp_path, size=300_000)
    cpfile.download_temp_path(str(target), meta)
    rec = cc.DownloadRecord("bkt", "k", str(target), "", 250_000, 100_000)
    cp, _ = cpfile.decode(cc.dump_download(rec))
    assert cp is not None and cp.object_etag == "" and cp.object_size == 250_000


def test_ranged_download_records_are_not_resumed(tmp_path):
    target, cpfile, meta = download_file(tmp_path)
    doc = cc.download_document(cc.DownloadRecord("bkt", "k", str(target), "", 250_000, 100_000))
    doc.update(rangeStart=0, rangeEnd=99)
    cp, reason = cpfile.decode(cc.signed_bytes(doc))
    assert cp is None and "range" in reason
