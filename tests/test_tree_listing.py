"""tree_listing.py: the destination listing read a page ahead by a thread; a page that
fails and a thread that dies both end the iteration with a Status, never a hang."""
from __future__ import annotations

import threading

from ossresume_c import ops
from ossresume_c import status as st
from ossresume_c.bulk import upload_tree
from ossresume_c.transport import Transport
from ossresume_c.tree_listing import Listing
from ossresume_c.tree_plan import KeyFilter

from helpers import build_tree, options_for

HANG_GUARD = 60   # seconds: only reached if the reader waits for a dead thread


def read_all(listing: Listing):
    """The listing's keys, read in another thread so that a hang fails the test."""
    got: list = []
    reader = threading.Thread(target=lambda: got.extend(o.key for o in listing), daemon=True)
    reader.start()
    reader.join(HANG_GUARD)
    assert not reader.is_alive(), "the reader waits for a listing thread that died"
    return got


def put_keys(emu, keys):
    with Transport(options_for(emu)) as t:
        for key in keys:
            assert ops.put_object(t, emu.bucket, key, b"x")[0].is_ok()


def test_every_key_under_the_prefix_the_filter_wants(oss_emulator):
    put_keys(oss_emulator, ["p/a", "p/b.tmp", "p/c", "q/d"])
    with Transport(options_for(oss_emulator)) as t:
        listing = Listing(t, oss_emulator.bucket, "p/", KeyFilter([("exclude", "*.tmp")]),
                          threading.Event())
        try:
            assert read_all(listing) == ["p/a", "p/c"]
        finally:
            listing.close()
    assert listing.error is None and listing.pages == 1


def test_an_exception_in_the_listing_thread_is_a_status(oss_emulator, monkeypatch):
    def broken(*args, **kwargs):
        raise LookupError("unknown encoding: idna")   # as after setuid, see test_tree_engine

    monkeypatch.setattr(ops, "list_objects_v2", broken)
    with Transport(options_for(oss_emulator)) as t:
        listing = Listing(t, oss_emulator.bucket, "", KeyFilter(()), threading.Event())
        try:
            assert read_all(listing) == []
        finally:
            listing.close()
    assert listing.error is not None and listing.error.code == st.INTERNAL_ERROR
    assert listing.error.error_code == "ListingFailed" and "idna" in listing.error.error_msg


def test_a_tree_run_whose_listing_thread_dies_returns_a_summary(oss_emulator, tmp_path, monkeypatch):
    root = tmp_path / "tree"
    build_tree(root, {"a.txt": 10, "d/b.bin": 3000, "d/e/c": 0}, seed=3)
    calls = []

    def broken(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("listing went wrong")

    monkeypatch.setattr(ops, "list_objects_v2", broken)
    done: list = []
    runner = threading.Thread(target=lambda: done.append(upload_tree(
        options_for(oss_emulator), str(root), oss_emulator.bucket, "died/",
        manifest=str(tmp_path / "m.sqlite"), checkpoint_dir=str(tmp_path / "cp"))), daemon=True)
    runner.start()
    runner.join(HANG_GUARD)
    assert not runner.is_alive(), "upload_tree hangs when its listing thread dies"
    summary = done[0]
    assert calls and not summary.ok
    assert summary.error is not None and summary.error.error_code == "ListingFailed"
    assert "listing went wrong" in summary.error.error_msg
