import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ossresume_c import checkpoint_codec as codec
from ossresume_c.checkpoint_file import (CheckpointFile, CheckpointLocked, as_directory,
                                         checkpoint_location, prepare_parent)
from ossresume_c.params import create_resumable_clt_params


def sample(parts=6, part_size=102400):
    total = parts * part_size - 1000
    ps = [codec.CheckpointPart(i, i * part_size, min(part_size, total - i * part_size), i % 2 == 0,
                               '"%032X"' % i if i % 2 == 0 else "", 0) for i in range(parts)]
    return codec.Checkpoint(type=1, file_path="/data/f.bin", file_size=total, file_mtime=123,
                            object_key="k", object_size=0, object_last_modified="", object_etag="",
                            upload_id="88D36F3F971C4E789FE57921857675A6", part_size=part_size, parts=ps)


class Clock:
    t = 0.0

    def __call__(self):
        return self.t


def where(f, bucket, key, enable, path, suffix=".ucp"):
    return checkpoint_location(create_resumable_clt_params(0, 1, enable, path), f, bucket, key, suffix)


def test_paths(tmp_path):
    f = str(tmp_path / "f.bin")
    assert where(f, "b", "k", True, None) == f + ".ucp"
    assert where(f, "b", "k", True, None, ".dcp") == f + ".dcp"
    assert where(f, "b", "k", False, "/x") is None
    assert where(f, "b", "k", True, "/some/file.cp") == "/some/file.cp"
    d = tmp_path / "cpdir"
    d.mkdir()
    a = where(f, "b", "dir/a b.bin", True, str(d))
    assert os.path.dirname(a) == str(d) and os.path.basename(a).startswith("a_b.bin.")
    # bucket, key and file all take part in the name
    others = {where(f, "c", "dir/a b.bin", True, str(d)),
              where(f, "b", "dir2/a b.bin", True, str(d)),
              where(f + "2", "b", "dir/a b.bin", True, str(d))}
    assert a not in others and len(others) == 3


def test_a_trailing_separator_names_a_directory_even_before_it_exists(tmp_path):
    f = str(tmp_path / "f.bin")
    missing = str(tmp_path / "not" / "yet")
    a = where(f, "b", "dir/a b.bin", True, as_directory(missing))
    assert os.path.dirname(a) == missing and a.endswith(".ucp")
    assert not os.path.exists(missing)          # created only when a transfer locks it
    assert as_directory(missing + os.sep) == missing + os.sep
    (tmp_path / "made").mkdir()
    assert where(f, "b", "k", True, str(tmp_path / "made")) == where(f, "b", "k", True,
                                                                     str(tmp_path / "made") + os.sep)


@settings(deadline=None)   # a loaded machine must not fail a property
@given(key=st.text(min_size=1, max_size=300), bucket=st.text(min_size=1, max_size=20),
       suffix=st.sampled_from([".ucp", ".dcp"]))
def test_a_directory_always_holds_the_checkpoint(key, bucket, suffix):
    path = where("/data/f.bin", bucket, key, True, "/cps/", suffix)
    name = os.path.basename(path)
    assert os.path.dirname(path) == "/cps" and name.endswith(suffix) and len(name) <= 80 + 18 + 4


def test_prepare_parent(tmp_path):
    assert prepare_parent(str(tmp_path / "a" / "b" / "c.ucp")) is None
    assert (tmp_path / "a" / "b").is_dir() and (os.stat(tmp_path / "a" / "b").st_mode & 0o077) == 0
    (tmp_path / "file").write_text("x")
    assert "cannot create" in prepare_parent(str(tmp_path / "file" / "sub" / "c.ucp"))
    (tmp_path / "isdir.ucp").mkdir()
    assert "is a directory" in prepare_parent(str(tmp_path / "isdir.ucp"))


def test_save_is_atomic_private_and_loads_back(tmp_path):
    path = str(tmp_path / "f.ucp")
    cpf = CheckpointFile(path)
    cpf.save(sample())
    assert (os.stat(path).st_mode & 0o777) == 0o600
    assert [p for p in os.listdir(tmp_path) if p != "f.ucp"] == []   # no temp file left
    cp, reason = cpf.load()
    assert reason == "" and cp == codec.load(open(path, "rb").read())
    assert cp.upload_id == sample().upload_id and len(cp.parts) == 6
    assert cpf.writes == 1 and cpf.bytes_written == os.path.getsize(path)


def test_load_missing_and_invalid(tmp_path):
    cpf = CheckpointFile(str(tmp_path / "none.ucp"))
    assert cpf.load() == (None, "")
    (tmp_path / "bad.ucp").write_bytes(b"HiOSS")
    cp, reason = CheckpointFile(str(tmp_path / "bad.ucp")).load()
    assert cp is None and reason.startswith("invalid checkpoint")


def test_coalescing_keeps_checkpoint_bytes_under_half_a_percent(tmp_path):
    clock = Clock()
    cpf = CheckpointFile(str(tmp_path / "f.ucp"), interval=1.0, clock=clock)
    big = sample(parts=10000, part_size=102400)
    cpf.save(big)
    size = cpf.bytes_written
    uploaded = 0
    for _ in range(10000):            # one part finished every 10 ms
        clock.t += 0.01
        cpf.note_progress(102400)
        uploaded += 102400
        if cpf.due():
            cpf.save(big)
    assert cpf.bytes_written < 0.005 * uploaded + size
    assert cpf.writes >= 2           # it does write while the upload goes on


def test_at_most_one_write_per_interval(tmp_path):
    clock = Clock()
    cpf = CheckpointFile(str(tmp_path / "f.ucp"), interval=1.0, clock=clock)
    cpf.save(sample(parts=2))
    cpf.note_progress(10**12)
    assert not cpf.due()
    clock.t = 1.0
    assert cpf.due()


def test_lock_is_exclusive_across_processes(tmp_path):
    path = str(tmp_path / "f.ucp")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from ossresume_c.checkpoint_file import CheckpointFile as C;"
         f"c = C({path!r}); c.lock(); print('locked', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(CheckpointLocked):
            CheckpointFile(path).lock()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    mine = CheckpointFile(path)
    mine.lock()           # free again once the holder exits
    mine.unlock(remove=True)
    assert not os.path.exists(path + ".lock")
