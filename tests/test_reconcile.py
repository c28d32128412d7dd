from hypothesis import given, strategies as st

from ossresume_c.layout import plan_parts
from ossresume_c.reconcile import (LocalFile, ServerPart, download_checkpoint_problem,
                                   parts_to_verify, reconcile_with_server, upload_checkpoint_problem)


@st.composite
def scenarios(draw):
    total = draw(st.integers(1, 40_000))
    plan = plan_parts(total, draw(st.integers(1000, 5000)))
    local = {p.index: draw(st.integers(0, 2**64 - 1)) for p in plan.parts}
    server = {}
    truth = {}   # index -> server holds exactly the local bytes
    for p in plan.parts:
        kind = draw(st.sampled_from(["missing", "good", "other-bytes", "wrong-size", "no-crc"]))
        if kind == "missing":
            continue
        crc = local[p.index] if kind in ("good", "wrong-size") else (local[p.index] + 1) % 2**64
        size = p.size + 1 if kind == "wrong-size" else p.size
        server[p.number] = ServerPart(p.number, f'"E{p.index}"', size, None if kind == "no-crc" else crc)
        truth[p.index] = kind == "good"
    recorded = draw(st.sets(st.sampled_from([p.index for p in plan.parts])))
    # an extra part beyond the plan (left over by another layout) must be ignored
    if draw(st.booleans()):
        n = plan.count + 1
        server[n] = ServerPart(n, '"X"', 5, 0)
    return plan, local, server, truth, recorded


@given(scenarios())
def test_done_iff_server_holds_the_local_bytes(sc):
    plan, local, server, truth, recorded = sc
    verify = set(parts_to_verify(plan, server))
    local_crcs = {i: c for i, c in local.items() if i in verify}
    rec = reconcile_with_server(plan, recorded, server, local_crcs)
    for p in plan.parts:
        expect_done = truth.get(p.index, False)
        assert (p.index in rec.done) == expect_done
        assert (p.index in rec.todo) == (not expect_done)
    assert set(rec.done).isdisjoint(rec.todo)
    assert set(rec.done) | set(rec.todo) == {p.index for p in plan.parts}
    # recorded-but-wrong parts are resent; server parts the checkpoint missed are recovered
    assert set(rec.recovered) == {i for i in rec.done if i not in recorded}
    for i in recorded:
        if not truth.get(i, False):
            assert i in rec.todo


def test_only_right_size_parts_need_a_local_crc():
    plan = plan_parts(300, 100)
    server = {1: ServerPart(1, "a", 100, 5), 2: ServerPart(2, "b", 99, 5), 3: ServerPart(3, "c", 100, None)}
    assert parts_to_verify(plan, server) == [0]


def test_upload_checkpoint_problems():
    local = LocalFile(550000, 1795247754495123)
    ok = dict(cp_type=1, cp_file_size=550000, cp_mtime_us=1795247754495123, cp_upload_id="U",
              cp_key="", key="k", local=local)
    assert upload_checkpoint_problem(**ok) == ""
    assert upload_checkpoint_problem(**{**ok, "cp_key": "k"}) == ""
    assert "type" in upload_checkpoint_problem(**{**ok, "cp_type": 2})
    assert "size" in upload_checkpoint_problem(**{**ok, "cp_file_size": 0})
    assert "modification" in upload_checkpoint_problem(**{**ok, "cp_mtime_us": 1})
    assert "upload id" in upload_checkpoint_problem(**{**ok, "cp_upload_id": ""})
    assert "another" in upload_checkpoint_problem(**{**ok, "cp_key": "other"})


def test_download_checkpoint_problems():
    ok = dict(cp_type=2, cp_object_size=10, cp_last_modified="Mon, 01 Jan 2024 00:00:00 GMT",
              cp_etag='"ABC"', cp_key="k", key="k", object_size=10,
              last_modified="Mon, 01 Jan 2024 00:00:00 GMT", etag='"abc"', tmp_size=10)
    assert download_checkpoint_problem(**ok) == ""
    for change, word in [({"cp_type": 1}, "type"), ({"object_size": 11}, "size"),
                         ({"last_modified": "x"}, "Last-Modified"), ({"etag": '"abd"'}, "ETag"),
                         ({"tmp_size": None}, "missing"), ({"tmp_size": 9}, "temporary"),
                         ({"key": "j"}, "another")]:
        assert word in download_checkpoint_problem(**{**ok, **change})
