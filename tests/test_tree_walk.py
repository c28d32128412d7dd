"""The lazy walk on real directories: key order, and the entries it cannot send."""
from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from ossresume_c.tree_plan import KeyFilter, LocalFile, RemoteObject, merge
from ossresume_c.tree_walk import key_problem, walk_tree

from helpers import add_awkward_entries

TRICKY = "-.0:a~\u00e9\u0100\u65e5\ue000\U0001f600 "
names = hs.text(alphabet=TRICKY, min_size=1, max_size=4).filter(lambda n: n not in (".", ".."))
paths = hs.lists(hs.lists(names, min_size=1, max_size=3).map("/".join), max_size=15)


def build(root, rels):
    """Create the files; a path that would need a file as a directory is dropped."""
    made = []
    for rel in rels:
        try:
            target = os.path.join(root, *rel.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if os.path.isdir(target):
                continue
            with open(target, "wb") as fh:
                fh.write(rel.encode("utf-8"))
            made.append(rel)
        except (FileExistsError, NotADirectoryError):
            continue
    return sorted(set(made), key=lambda k: k.encode("utf-8"))


@given(paths, hs.lists(hs.lists(names, min_size=1, max_size=3).map("/".join), max_size=15))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_walk_and_listing_merge_like_the_brute_force_model(local_rels, remote_rels):
    root = tempfile.mkdtemp(prefix="walk-")
    try:
        made = build(root, local_rels)
        walked = list(walk_tree(root, "pre/"))
        assert [f.key for f in walked] == ["pre/" + r for r in made]
        assert all(f.size == len(f.key[4:].encode("utf-8")) and not f.problem for f in walked)
        remote_keys = sorted({"pre/" + r for r in remote_rels}, key=lambda k: k.encode("utf-8"))
        remote = [RemoteObject(k, 1, "e") for k in remote_keys]
        local_keys = {f.key for f in walked}
        pairs = [(a.key if a else None, b.key if b else None) for a, b in merge(walked, remote)]
        union = sorted(local_keys | set(remote_keys), key=lambda k: k.encode("utf-8"))
        assert pairs == [(k if k in local_keys else None, k if k in remote_keys else None) for k in union]
    finally:
        shutil.rmtree(root)


def test_filters_and_skipped_directories(tmp_path):
    for rel in ("a.txt", "b.log", "sub/c.txt", "cp/x.ucp"):
        p = tmp_path.joinpath(*rel.split("/"))
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    rules = KeyFilter([("exclude", "*"), ("include", "*.txt")])
    keys = [f.key for f in walk_tree(str(tmp_path), "", key_filter=rules,
                                     skip_dirs=(str(tmp_path / "cp"),))]
    assert keys == ["a.txt", "sub/c.txt"]


@pytest.mark.skipif(os.name == "nt", reason="POSIX file kinds")
def test_entries_that_cannot_be_sent_are_yielded_with_a_reason(tmp_path):
    (tmp_path / "ok.txt").write_bytes(b"123")
    add_awkward_entries(tmp_path)
    by_key = {f.key: f for f in walk_tree(str(tmp_path), "")}
    assert by_key["ok.txt"].size == 3 and not by_key["ok.txt"].problem
    assert by_key["fifo"].note == "not a regular file"
    assert "symlink not followed" in by_key["link"].note
    bad = by_key["bad\udcff.txt"]
    assert bad.problem[0] == "InvalidArgument" and "not valid UTF-8" in bad.problem[1]
    long_key = [k for k in by_key if k.endswith("long.txt")][0]
    assert key_problem("\\lead")[0] == "InvalidArgument"
    assert by_key[long_key].problem[0] == "InvalidArgument"
    followed = {f.key: f for f in walk_tree(str(tmp_path), "", follow_symlinks=True)}
    assert followed["link"].size == 3 and not followed["link"].note


@pytest.mark.skipif(os.name == "nt", reason="POSIX symlinks")
def test_a_symlink_loop_is_reported_once_not_followed_forever(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_bytes(b"x")
    os.symlink(tmp_path, tmp_path / "a" / "up")
    found = list(walk_tree(str(tmp_path), "", follow_symlinks=True))
    assert [f.key for f in found if not f.note] == ["a/f"]
    assert [f.key for f in found if f.note] == ["a/up/"] and "loop" in found[-1].note


def test_an_unlistable_directory_is_one_failed_entry(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f").write_bytes(b"x")
    real = os.scandir

    def refuse(path):
        if str(path).endswith("sub"):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(os, "scandir", refuse)
    found = list(walk_tree(str(tmp_path), ""))
    assert len(found) == 1 and found[0].problem[0] == "OpenFileFail"
    assert isinstance(found[0], LocalFile)
