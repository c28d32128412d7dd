"""oss.list_multipart_uploads / oss.abort_multipart_uploads: what is selected (pure) and,
against the emulator, what is listed and aborted (nothing without older_than or all)."""
from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as hs

import ossresume_c as oss
from ossresume_c import ops
from ossresume_c.transport import Transport
from ossresume_c.uploads import UploadInfo, select_for_abort
from helpers import options_for

NOW = 1_800_000_000.0


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch))


uploads = hs.lists(hs.builds(UploadInfo, hs.text(max_size=5), hs.text(max_size=5),
                             hs.one_of(hs.integers(0, 30 * 86400).map(lambda a: iso(NOW - a)),
                                       hs.text(max_size=25))), max_size=8)


@settings(deadline=None)   # timing varies on a loaded machine
@given(uploads, hs.one_of(hs.none(), hs.floats(0, 40 * 86400)))
def test_select_for_abort(listed, older_than):
    assert select_for_abort(listed, NOW, older_than, everything=True) == listed
    chosen = select_for_abort(listed, NOW, older_than, everything=False)
    if older_than is None:
        assert chosen == []
    for u in listed:
        age = u.age(NOW)
        assert (u in chosen) == (older_than is not None and age is not None and age > older_than) \
            or any(v is not u and v == u for v in listed)


def _initiate(emu, key):
    with Transport(options_for(emu)) as t:
        status, upload_id = ops.initiate_multipart_upload(t, emu.bucket, key)
        assert status.is_ok()
        for n in (1, 2):
            assert ops.upload_part(t, emu.bucket, key, upload_id, n, b"x" * (100 * n))[0].is_ok()
    return upload_id


def test_list_shows_parts_and_bytes(oss_emulator):
    a = _initiate(oss_emulator, "logs/a")
    b = _initiate(oss_emulator, "other/b")
    status, listed = oss.list_multipart_uploads(options_for(oss_emulator), oss_emulator.bucket, "logs/")
    assert status.is_ok()
    assert [(u.key, u.upload_id, u.parts, u.bytes) for u in listed] == [("logs/a", a, 2, 300)]
    status, listed = oss.list_multipart_uploads(options_for(oss_emulator), oss_emulator.bucket)
    assert {u.upload_id for u in listed} == {a, b}


def test_abort_needs_older_than_or_all(oss_emulator):
    _initiate(oss_emulator, "k")
    oss_emulator.clear_request_log()
    for kwargs in ({}, {"older_than": 1.0, "all": True}, {"older_than": -1.0}):
        status, chosen = oss.abort_multipart_uploads(options_for(oss_emulator), oss_emulator.bucket, **kwargs)
        assert (status.code, status.error_code, chosen) == (-994, "InvalidArgument", [])
    assert oss_emulator.request_log() == []


def test_abort_older_than_spares_fresh_uploads_and_all_takes_them(oss_emulator):
    keep = _initiate(oss_emulator, "p/fresh")
    opts = options_for(oss_emulator)
    status, chosen = oss.abort_multipart_uploads(opts, oss_emulator.bucket, "p/", older_than=7 * 86400)
    assert status.is_ok() and chosen == []
    status, chosen = oss.abort_multipart_uploads(opts, oss_emulator.bucket, "p/", all=True, dry_run=True)
    assert status.is_ok() and [u.upload_id for u in chosen] == [keep] and chosen[0].status is None
    assert oss.list_multipart_uploads(opts, oss_emulator.bucket)[1][0].upload_id == keep
    other = _initiate(oss_emulator, "q/other")
    status, chosen = oss.abort_multipart_uploads(opts, oss_emulator.bucket, "p/", all=True)
    assert status.is_ok() and [(u.upload_id, u.status.code) for u in chosen] == [(keep, 204)]
    assert [u.upload_id for u in oss.list_multipart_uploads(opts, oss_emulator.bucket)[1]] == [other]


def test_listing_errors_are_a_status(oss_emulator):
    status, listed = oss.list_multipart_uploads(options_for(oss_emulator), "Bad_Bucket")
    assert status.code == -994 and listed == []
    oss_emulator.add_fault(op="ListMultipartUploads", action="garble", mode="html")
    status, chosen = oss.abort_multipart_uploads(options_for(oss_emulator, max_retries=1),
                                                 oss_emulator.bucket, all=True)
    assert (status.code, chosen) == (-980, [])
