import random

import pytest
from hypothesis import given, settings, strategies as st

from ossresume_c.layout import plan_parts
from ossresume_c.reconcile import (SAMPLE_BYTES, LocalFile, ServerPart, Verification,
                                   download_checkpoint_problem, plan_verification,
                                   reconcile_with_server, sample_failed, settled_crcs,
                                   upload_checkpoint_problem)


def parts_to_verify(plan, server):
    """Indexes the server holds with the right size and a CRC-64: what "all" reads."""
    return plan_verification(plan, [], {}, server, False, "all", random.Random(0)).read


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


@settings(deadline=None)   # a loaded machine must not fail a property
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


# -- the trust rule (issue 21) ---------------------------------------------------

@st.composite
def trust_scenarios(draw):
    plan = plan_parts(draw(st.integers(1, 60_000)), draw(st.integers(1000, 5000)))
    local, server, recorded, completed = {}, {}, {}, set()
    for p in plan.parts:
        local[p.index] = draw(st.integers(1, 2**64 - 1))
        kind = draw(st.sampled_from(["missing", "good", "other-bytes", "wrong-size"]))
        if kind != "missing":
            crc = local[p.index] if kind != "other-bytes" else (local[p.index] + 1) % 2**64
            size = p.size + 1 if kind == "wrong-size" else p.size
            server[p.number] = ServerPart(p.number, f'"E{p.index}"', size, crc)
        rec = draw(st.sampled_from(["none", "c-sdk", "right", "wrong"]))
        if rec != "none":
            completed.add(p.index)
        if rec == "right":
            recorded[p.index] = local[p.index]
        elif rec == "wrong":
            recorded[p.index] = (local[p.index] + 7) % 2**64 or 1
    return plan, local, server, recorded, completed


def resume(plan, local, server, recorded, completed, same_file, mode, seed, rewritten=frozenset()):
    """The engine's use of the rule, with the file's actual CRCs in ``local``
    (``rewritten``: parts changed in place since the record)."""
    actual = {i: (c ^ 1 if i in rewritten else c) for i, c in local.items()}
    v = plan_verification(plan, completed, recorded, server, same_file, mode, random.Random(seed))
    read = {i: actual[i] for i in v.read}
    if sample_failed(v, server, plan, read):
        rest = [i for i in v.trusted if i not in read]
        read.update({i: actual[i] for i in rest})
        v = Verification(v.read + rest, [], [])
    return v, reconcile_with_server(plan, completed, server, settled_crcs(v, server, plan, read))


@settings(deadline=None)   # a loaded machine must not fail a property
@given(trust_scenarios(), st.booleans(), st.integers(0, 2**32))
def test_trusted_only_on_recorded_equals_server_on_the_same_file(sc, same_file, seed):
    plan, local, server, recorded, completed = sc
    v = plan_verification(plan, completed, recorded, server, same_file, "sample", random.Random(seed))
    for i in v.trusted:
        sp = server[plan.parts[i].number]
        assert same_file and sp.size == plan.parts[i].size and recorded[i] == sp.crc64
    assert set(v.sample) <= set(v.trusted) and set(v.sample) <= set(v.read)
    # every other part the server holds with the right size is read, as before
    right_size = set(parts_to_verify(plan, server))
    assert right_size == set(v.trusted) | set(v.read)
    if v.trusted:
        assert v.sample
        assert sum(plan.parts[i].size for i in v.sample) <= max(SAMPLE_BYTES,
                                                                 max(p.size for p in plan.parts))


@settings(deadline=None)   # a loaded machine must not fail a property
@given(trust_scenarios(), st.booleans(), st.integers(0, 2**32))
def test_sample_mode_with_true_records_gives_todays_answer(sc, same_file, seed):
    plan, local, server, recorded, completed = sc
    _v, got = resume(plan, local, server, recorded, completed, same_file, "sample", seed)
    _v, today = resume(plan, local, server, recorded, completed, same_file, "all", seed)
    assert got.done == today.done and got.todo == today.todo


@settings(deadline=None)   # a loaded machine must not fail a property
@given(trust_scenarios(), st.integers(0, 2**32))
def test_all_mode_trusts_nothing(sc, seed):
    plan, local, server, recorded, completed = sc
    v = plan_verification(plan, completed, recorded, server, True, "all", random.Random(seed))
    assert v.trusted == [] and v.sample == [] and v.read == parts_to_verify(plan, server)


@settings(deadline=None)   # a loaded machine must not fail a property
@given(trust_scenarios(), st.integers(0, 2**32))
def test_c_sdk_checkpoints_are_read(sc, seed):
    """No CRC recorded (the C SDK writes 0): nothing is trusted, all is read."""
    plan, local, server, _recorded, completed = sc
    v = plan_verification(plan, completed, {}, server, True, "sample", random.Random(seed))
    assert v.trusted == [] and v.read == parts_to_verify(plan, server)


@settings(deadline=None)   # a loaded machine must not fail a property
@given(trust_scenarios(), st.integers(0, 2**32))
def test_none_mode_reads_nothing(sc, seed):
    plan, local, server, recorded, completed = sc
    v = plan_verification(plan, completed, recorded, server, False, "none", random.Random(seed))
    assert v.read == [] and v.sample == []
    for i in v.trusted:
        sp = server[plan.parts[i].number]
        assert (i in completed or i in recorded) and recorded.get(i, sp.crc64) == sp.crc64


@settings(deadline=None)   # a loaded machine must not fail a property
@given(trust_scenarios(), st.integers(0, 2**32), st.data())
def test_a_sampled_mismatch_means_full_verification(sc, seed, data):
    """A file rewritten in place (mtime restored): if the sample catches a
    rewritten part, every part is read and nothing wrong is kept."""
    plan, local, server, recorded, completed = sc
    v0 = plan_verification(plan, completed, recorded, server, True, "sample", random.Random(seed))
    if not v0.sample:
        return
    rewritten = frozenset(data.draw(st.sets(st.sampled_from(v0.trusted), min_size=1)) | {v0.sample[0]})
    v, rec = resume(plan, local, server, recorded, completed, True, "sample", seed, rewritten)
    assert v.trusted == [] and set(v.read) == set(parts_to_verify(plan, server))
    assert not rewritten & set(rec.done)


def test_an_unknown_mode_is_an_error():
    with pytest.raises(ValueError):
        plan_verification(plan_parts(10, 5), [], {}, {}, True, "some", random.Random(0))
