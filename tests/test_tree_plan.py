"""The tree engine's pure decisions against brute-force models: walk order, merge,
skip rules, filters and the --delete boundary."""
from __future__ import annotations

import fnmatch

from hypothesis import given, settings
from hypothesis import strategies as hs

from ossresume_c.tree_plan import (DELETE, KEEP, SKIP, UPLOAD, VERIFY, KeyFilter, LocalFile,
                                   ManifestRow, OrderError, RemoteObject, decide, key_bytes,
                                   may_delete, merge, ordered, walk_order)

# Characters around '/' (0x2f) in byte order, multi-byte UTF-8 and astral ones.
TRICKY = "-./0:a~\u00e9\u00ff\u0100\u65e5\ud7ff\ue000\uffee\U0001f600 "
names = hs.text(alphabet=TRICKY.replace("/", ""), min_size=1, max_size=4).filter(
    lambda n: n not in (".", ".."))

trees = hs.recursive(
    hs.dictionaries(names, hs.none(), max_size=4),
    lambda children: hs.dictionaries(names, hs.one_of(hs.none(), children), max_size=4),
    max_leaves=25)


def dfs_keys(tree, rel=""):
    """The walk as tree_walk does it: each directory's entries in walk_order."""
    for name in sorted(tree, key=lambda n: walk_order(n, tree[n] is not None)):
        if tree[name] is None:
            yield rel + name
        else:
            yield from dfs_keys(tree[name], rel + name + "/")


def all_keys(tree, rel=""):
    for name, sub in tree.items():
        if sub is None:
            yield rel + name
        else:
            yield from all_keys(sub, rel + name + "/")


@given(trees)
@settings(max_examples=150)
def test_a_depth_first_walk_in_walk_order_lists_keys_in_utf8_byte_order(tree):
    walked = list(dfs_keys(tree))
    assert walked == sorted(all_keys(tree), key=lambda k: k.encode("utf-8"))


def test_walk_order_puts_a_directory_after_names_below_slash():
    # "a-b" < "a/x" < "a0": the directory a sorts as "a/"
    entries = {"a0": False, "a": True, "a-b": False}
    assert sorted(entries, key=lambda n: walk_order(n, entries[n])) == ["a-b", "a", "a0"]
    assert key_bytes("bad\udcff") == b"bad\xff"


key_sets = hs.sets(hs.text(alphabet=TRICKY, min_size=1, max_size=5), max_size=30)


@given(key_sets, key_sets)
@settings(max_examples=150)
def test_merge_pairs_every_key_once_like_the_brute_force_join(local_keys, remote_keys):
    order = lambda k: k.encode("utf-8")  # noqa: E731
    local = [LocalFile(k, "/x/" + k, len(k)) for k in sorted(local_keys, key=order)]
    remote = [RemoteObject(k, len(k) + 1, "e") for k in sorted(remote_keys, key=order)]
    got = [(a.key if a else None, b.key if b else None) for a, b in merge(local, remote)]
    expected = [(k if k in local_keys else None, k if k in remote_keys else None)
                for k in sorted(local_keys | remote_keys, key=order)]
    assert got == expected


@given(hs.lists(hs.text(alphabet=TRICKY, min_size=1, max_size=3), max_size=12))
@settings(max_examples=150)
def test_ordered_passes_strictly_increasing_keys_and_refuses_at_the_first_other(keys):
    objects = [RemoteObject(k, 1, "e") for k in keys]
    bad = next((i for i in range(1, len(keys))
                if keys[i].encode("utf-8") <= keys[i - 1].encode("utf-8")), None)
    passed = []
    try:
        for obj in ordered(objects, "listing"):
            passed.append(obj)
    except OrderError as exc:
        assert bad is not None and repr(keys[bad]) in str(exc) and "listing" in str(exc)
        assert passed == objects[:bad]
    else:
        assert bad is None and passed == objects


sizes = hs.integers(0, 3)
mtimes = hs.integers(0, 3)
etags = hs.sampled_from(["", "e1", "e2"])


@given(hs.one_of(hs.none(), hs.tuples(sizes, mtimes)),
       hs.one_of(hs.none(), hs.tuples(sizes, etags)),
       hs.one_of(hs.none(), hs.tuples(sizes, mtimes, etags)),
       hs.booleans(), hs.booleans())
@settings(max_examples=300)
def test_decide_matches_the_rules(local_t, remote_t, row_t, checksum, delete):
    local = LocalFile("k", "/p/k", *local_t) if local_t else None
    remote = RemoteObject("k", *remote_t) if remote_t else None
    row = ManifestRow("k", row_t[0], row_t[1], 7, row_t[2]) if row_t else None
    got = decide(local, remote, row, checksum, delete)
    if local is None:
        expected = DELETE if remote is not None and delete else KEEP
    elif remote is None or remote.size != local.size:
        expected = UPLOAD
    elif (row is not None and not checksum and (row.size, row.mtime_ns) == (local.size, local.mtime_ns)
          and row.etag != "" and row.etag == remote.etag):
        expected = SKIP
    else:
        expected = VERIFY
    assert got == expected
    # never a skip the listing and the manifest do not both vouch for
    if got == SKIP:
        assert row is not None and remote is not None and local is not None
        assert row.mtime_ns == local.mtime_ns and row.etag == remote.etag and remote.size == local.size


rules = hs.lists(hs.tuples(hs.sampled_from(["include", "exclude"]),
                           hs.sampled_from(["*", "*.txt", "a/*", "*/b*", "?", "[ab]*"])), max_size=5)


@given(rules, hs.text(alphabet="ab/.txt", min_size=1, max_size=8))
@settings(max_examples=150)
def test_key_filter_last_matching_rule_wins(rule_list, path):
    expected = True
    for kind, glob in rule_list:
        if fnmatch.fnmatchcase(path, glob):
            expected = kind == "include"
    assert KeyFilter(rule_list).wants(path) is expected


@given(hs.text(alphabet="ab/", max_size=4), hs.text(alphabet="ab/", max_size=6))
def test_delete_never_leaves_the_prefix(prefix, key):
    if may_delete(key, prefix):
        assert key.startswith(prefix) and key != prefix and not key.endswith("/")


def test_key_filter_refuses_unknown_rule_kinds():
    import pytest
    with pytest.raises(ValueError):
        KeyFilter([("only", "*")])
