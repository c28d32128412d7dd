"""Lost Initiate responses leave no upload behind: the pure "which uploads are ours"
decision, and upload calls (single file and tree) against the emulator with the
Initiate response dropped, reset or damaged after the server created the upload."""
from __future__ import annotations

import time
import types
from email.utils import formatdate
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import ossresume_c as oss
from ossresume_c import ops, orphans
from ossresume_c.transport import Transport
from helpers import file_crc, make_file, options_for

T0 = 1_800_000_000.0


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch))


# -- the pure decision ------------------------------------------------------------

@settings(deadline=None)   # timing varies on a loaded machine
@given(skew=hs.floats(-3600, 3600), delay=hs.floats(0, 5), rtt=hs.floats(0, 2), lag=hs.floats(0, 30))
def test_skew_bounds_hold_the_true_skew(skew, delay, rtt, lag):
    sent = T0 + lag
    stamped = sent + rtt / 2 + skew          # the server's clock when it wrote Date
    received = sent + rtt
    low, high = orphans.skew_bounds(formatdate(int(stamped), usegmt=True), sent, received)
    assert low <= skew + 1e-6 and skew - 1e-6 <= high
    assert high - low <= 1.0 + rtt + 1e-6


def test_skew_bounds_without_a_date():
    assert orphans.skew_bounds(None, T0, T0 + 1) == (-orphans.NO_DATE_SKEW, orphans.NO_DATE_SKEW)
    assert orphans.skew_bounds("garbage", T0, T0 + 1) == (-orphans.NO_DATE_SKEW, orphans.NO_DATE_SKEW)


@settings(deadline=None)   # timing varies on a loaded machine
@given(skew=hs.floats(-3600, 3600), start=hs.floats(0, 100), length=hs.floats(0, 10),
       at=hs.floats(0, 1), rtt=hs.floats(0, 1))
def test_an_upload_initiated_inside_the_window_is_ours_whatever_the_skew(skew, start, length, at, rtt):
    begin, end = T0 + start, T0 + start + length
    created = begin + at * length + skew      # server clock when the server created it
    listed = [ops.ListedUpload("k", "lost", iso(int(created)))]
    sent = end + 3
    bounds = orphans.skew_bounds(formatdate(int(sent + rtt / 2 + skew), usegmt=True), sent, sent + rtt)
    assert orphans.ours(listed, "k", [(begin, end)], bounds) == listed


@settings(deadline=None)   # timing varies on a loaded machine
@given(gap=hs.floats(5, 10**6), before=hs.booleans(), skew=hs.floats(-3600, 3600))
def test_an_upload_initiated_well_outside_the_window_is_not_ours(gap, before, skew):
    begin, end = T0, T0 + 2
    created = (begin - gap if before else end + gap) + skew
    listed = [ops.ListedUpload("k", "theirs", iso(int(created)))]
    bounds = (skew - 0.5, skew + 0.5)
    assert orphans.ours(listed, "k", [(begin, end)], bounds, margin=1.0) == []


@settings(deadline=None)   # timing varies on a loaded machine
@given(key=hs.text(min_size=1, max_size=8), other=hs.text(min_size=1, max_size=8),
       keep=hs.sets(hs.sampled_from(["a", "b", "c"])), initiated=hs.one_of(hs.just(iso(T0)), hs.text(max_size=30)))
def test_ours_takes_only_the_same_key_not_kept_and_readable(key, other, keep, initiated):
    listed = [ops.ListedUpload(k, uid, initiated) for k in (key, other) for uid in ("a", "b", "c")]
    got = orphans.ours(listed, key, [(T0, T0 + 1)], (0.0, 0.0), keep)
    assert all(u.key == key and u.upload_id not in keep for u in got)
    if initiated != iso(T0):
        assert all(u.initiated == initiated for u in got)
    assert orphans.ours(listed, key, [], (0.0, 0.0)) == []


def test_the_ledger_sweeps_only_when_something_is_in_doubt():
    ledger = orphans.Ledger()
    assert not ledger.needs_sweep(id_refused=True)           # nothing initiated
    ledger.windows.append((T0, T0 + 1))
    assert not ledger.needs_sweep(id_refused=False)          # one clean Initiate
    assert ledger.needs_sweep(id_refused=True)               # its id may have been damaged
    ledger.in_doubt = True
    assert ledger.needs_sweep(id_refused=False)
    other = orphans.Ledger()
    other.note_abort("u1", oss.Status(404, "NoSuchUpload"))
    assert not other.abandoned
    other.note_abort("u1", oss.Status(503, "ServiceUnavailable"))
    assert other.abandoned == {"u1"} and other.needs_sweep(id_refused=False)


# -- against the emulator ---------------------------------------------------------

def _uploads(emu, prefix=""):
    with Transport(options_for(emu)) as t:
        status, listed = ops.list_multipart_uploads(t, emu.bucket, prefix)
    assert status.is_ok(), status
    return listed


def _upload(emu, tmp_path, name="f.bin", size=700 * 1024, checkpoint=True, **kw):
    path = make_file(tmp_path / name, size, seed=len(name))
    clt = oss.create_resumable_clt_params(200 * 1024, 2, checkpoint, str(tmp_path / "cp") if checkpoint else None)
    status = oss.resumable_upload_file(options_for(emu, **kw), emu.bucket, name, path, clt_params=clt)
    return status, path


def _object_crc(emu, key):
    with Transport(options_for(emu)) as t:
        status, meta = ops.head_object(t, emu.bucket, key)
    return meta.crc64 if status.is_ok() else None


LOST_INITIATE = [
    {"action": "status", "status": 503, "phase": "after"},            # response lost, retried
    {"action": "reset", "after_bytes": 0},                            # connection cut: never created
    {"action": "garble", "mode": "declaration"},
    {"action": "garble", "mode": "html"},
    {"action": "garble", "mode": "truncate"},
]


@pytest.mark.parametrize("fault", LOST_INITIATE, ids=lambda f: f.get("mode") or f["action"])
def test_a_lost_initiate_response_leaves_no_upload(oss_emulator, tmp_path, fault):
    oss_emulator.add_fault(op="InitiateMultipartUpload", nth=1, **fault)
    status, path = _upload(oss_emulator, tmp_path)
    assert status.is_ok(), status
    assert _object_crc(oss_emulator, "f.bin") == file_crc(path)
    assert _uploads(oss_emulator) == []
    initiates = [e for e in oss_emulator.request_log() if e["op"] == "InitiateMultipartUpload"]
    assert len(initiates) == 2


@pytest.mark.parametrize("seed", range(6))
def test_a_flipped_byte_in_the_initiate_response_leaves_no_upload(oss_emulator, tmp_path, seed):
    """Wherever the byte lands (tag, upload id, whitespace), the call ends well or with
    a clear Status, and no upload is left but the one its checkpoint keeps."""
    oss_emulator.add_fault(op="InitiateMultipartUpload", action="garble", mode="flip", seed=seed, nth=1)
    status, path = _upload(oss_emulator, tmp_path, max_retries=2)
    left = _uploads(oss_emulator)
    if status.is_ok():
        assert left == [] and _object_crc(oss_emulator, "f.bin") == file_crc(path)
    else:
        assert status.error_code
        status, _ = _upload(oss_emulator, tmp_path)
        assert status.is_ok(), status
        assert _uploads(oss_emulator) == []


def test_every_initiate_lost_fails_clearly_and_leaves_nothing(oss_emulator, tmp_path):
    oss_emulator.add_fault(op="InitiateMultipartUpload", action="status", status=503, phase="after")
    status, _ = _upload(oss_emulator, tmp_path, max_retries=2)
    assert status.code == 503
    assert len([e for e in oss_emulator.request_log() if e["op"] == "InitiateMultipartUpload"]) == 3
    assert _uploads(oss_emulator) == []


def test_a_failed_abort_is_retried_by_the_sweep(oss_emulator, tmp_path):
    # no checkpoint: a failed part makes the engine abort; that abort is refused once
    oss_emulator.add_fault(op="UploadPart", action="status", status=403, code="AccessDenied", nth=1)
    oss_emulator.add_fault(op="AbortMultipartUpload", action="status", status=500, nth=1)
    status, _ = _upload(oss_emulator, tmp_path, checkpoint=False, max_retries=0)
    assert status.code == 403
    aborts = [e for e in oss_emulator.request_log() if e["op"] == "AbortMultipartUpload"]
    assert len(aborts) == 2
    assert _uploads(oss_emulator) == []


def test_others_uploads_are_left_alone(oss_emulator, tmp_path):
    with Transport(options_for(oss_emulator)) as t:
        _, same_key_before = ops.initiate_multipart_upload(t, oss_emulator.bucket, "f.bin")
        _, other_key = ops.initiate_multipart_upload(t, oss_emulator.bucket, "f.bin.other")
    # The same key's upload started just before the call may fall inside its window
    # (whole seconds): that case is the documented limit; timing is tested in the pure tests.
    oss_emulator.add_fault(op="InitiateMultipartUpload", action="garble", mode="html", nth=1)
    with mock.patch.object(orphans, "ours", wraps=orphans.ours) as decided:
        status, _ = _upload(oss_emulator, tmp_path)
    assert status.is_ok(), status
    left = {u.upload_id for u in _uploads(oss_emulator)}
    assert other_key in left
    # the same key's older upload is ours only if initiated within the call's window
    (listed, key, windows, skew, keep), _kw = decided.call_args
    ids = {u.upload_id for u in listed}
    assert same_key_before in ids and other_key in ids
    lost = [u for u in listed if u.upload_id not in (same_key_before, other_key)]
    assert len(lost) == 1 and lost[0].upload_id not in left


def test_a_skewed_client_clock_still_finds_the_lost_upload(oss_emulator, tmp_path):
    skewed = types.SimpleNamespace(time=lambda: time.time() + 3600.0)
    oss_emulator.add_fault(op="InitiateMultipartUpload", action="status", status=503, phase="after", nth=1)
    with mock.patch.object(orphans, "time", skewed):
        status, _ = _upload(oss_emulator, tmp_path)
    assert status.is_ok(), status
    assert _uploads(oss_emulator) == []


def test_upload_tree_leaves_no_upload_when_initiate_answers_are_lost(oss_emulator, tmp_path):
    src = tmp_path / "tree"
    (src / "d").mkdir(parents=True)
    for i in range(4):
        make_file(src / "d" / f"big{i}.bin", 500 * 1024, seed=i)
    make_file(src / "small.txt", 1000, seed=9)
    for i, fault in enumerate([{"action": "status", "status": 503, "phase": "after"},
                               {"action": "reset", "after_bytes": 0},
                               {"action": "garble", "mode": "truncate"},
                               {"action": "garble", "mode": "declaration"}]):
        oss_emulator.add_fault(op="InitiateMultipartUpload", key=f"p/d/big{i}.bin", nth=1, **fault)
    summary = oss.upload_tree(options_for(oss_emulator), str(src), oss_emulator.bucket, "p/",
                              part_size=200 * 1024, threads=4, checkpoint_dir=str(tmp_path / "cps"))
    assert summary.ok, summary.failed
    assert len(summary.uploaded) == 5
    assert _uploads(oss_emulator) == []
    assert sum(1 for e in oss_emulator.request_log() if e["op"] == "InitiateMultipartUpload") == 8


def test_a_killed_process_s_lost_upload_is_swept_by_the_resume(oss_emulator, tmp_path):
    """The process died after its Initiate was retried (the first answer lost) and
    before its sweep: the journal beside the checkpoint lets the resume find it."""
    path = make_file(tmp_path / "f.bin", 700 * 1024, seed=5)
    cp_dir = tmp_path / "cp"
    cp_dir.mkdir()
    clt = oss.create_resumable_clt_params(200 * 1024, 2, True, str(cp_dir))
    oss_emulator.add_fault(op="InitiateMultipartUpload", action="status", status=503, phase="after", nth=1)
    oss_emulator.add_fault(op="UploadPart", action="status", status=403, code="AccessDenied", nth=1)
    # the first call fails at a part; its sweep is what a SIGKILL would skip
    with mock.patch.object(orphans.Ledger, "sweep", lambda *a, **k: None):
        status = oss.resumable_upload_file(options_for(oss_emulator, max_retries=1), oss_emulator.bucket,
                                           "f.bin", path, clt_params=clt)
    assert status.code == 403
    assert len(_uploads(oss_emulator)) == 2                  # the lost one and the checkpoint's
    assert [p.name for p in cp_dir.iterdir() if p.name.endswith(".initiates")]
    status = oss.resumable_upload_file(options_for(oss_emulator), oss_emulator.bucket, "f.bin", path,
                                       clt_params=clt)
    assert status.is_ok(), status
    assert _object_crc(oss_emulator, "f.bin") == file_crc(path)
    assert _uploads(oss_emulator) == []
    assert list(cp_dir.iterdir()) == []


def test_an_unreadable_journal_is_ignored(tmp_path):
    cp = tmp_path / "x.ucp"
    (tmp_path / "x.ucp.initiates").write_bytes(b"\xff{not json")
    ledger = orphans.Ledger()
    ledger.attach(str(cp))
    assert ledger.windows == [] and not ledger.in_doubt
    (tmp_path / "x.ucp.initiates").write_text("[[100.0, null], [200.0, 201.5]]")
    ledger.attach(str(cp))
    assert ledger.windows == [(100.0, 100.0 + orphans.OPEN_WINDOW), (200.0, 201.5)] and ledger.in_doubt
