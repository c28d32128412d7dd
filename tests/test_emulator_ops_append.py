"""AppendObject on the emulator, through oss2 (V1 and V4) and raw signed requests."""
from __future__ import annotations

import threading

import pytest

oss2 = pytest.importorskip("oss2")

from ossresume_c.native import crc64



def test_appends_accumulate_content_and_crc64(bucket):
    pieces = [b"first ", b"", b"second piece ", bytes(range(256)) * 700]
    position, crc = 0, 0
    for piece in pieces:
        result = bucket.append_object("log", position, piece, init_crc=crc)  # oss2 checks the CRC itself
        assert result.next_position == position + len(piece)
        position, crc = result.next_position, result.crc
    whole = b"".join(pieces)
    assert crc == crc64(whole)
    head = bucket.head_object("log")
    assert head.object_type == "Appendable"
    assert head.content_length == len(whole)
    assert int(head.headers["x-oss-hash-crc64ecma"]) == crc64(whole)
    assert bucket.get_object("log").read() == whole
    assert bucket.get_object("log", byte_range=(3, 9)).read() == whole[3:10]


def test_wrong_position_is_refused_with_the_next_position(bucket):
    with pytest.raises(oss2.exceptions.PositionNotEqualToLength) as missing:
        bucket.append_object("p", 5, b"x")
    assert missing.value.next_position == 0
    bucket.append_object("p", 0, b"abc")
    for wrong in (0, 2, 4):
        with pytest.raises(oss2.exceptions.PositionNotEqualToLength) as excinfo:
            bucket.append_object("p", wrong, b"zz")
        assert excinfo.value.next_position == 3
    assert bucket.get_object("p").read() == b"abc"


def test_normal_object_is_not_appendable(bucket):
    bucket.put_object("n", b"data")
    with pytest.raises(oss2.exceptions.ObjectNotAppendable):
        bucket.append_object("n", 4, b"more")
    assert bucket.get_object("n").read() == b"data"


def test_first_append_sets_metadata_and_tags_later_ones_keep_them(bucket):
    bucket.append_object("m", 0, b"a", headers={"x-oss-meta-who": "first", "Content-Type": "text/plain",
                                              "x-oss-tagging": "k=v"})
    bucket.append_object("m", 1, b"b", headers={"x-oss-meta-who": "second"})
    head = bucket.head_object("m")
    assert head.headers["x-oss-meta-who"] == "first"
    assert head.content_type == "text/plain"
    assert bucket.get_object_tagging("m").tag_set.tagging_rule == {"k": "v"}
    with pytest.raises(oss2.exceptions.OssError):
        bucket.append_object("t", 0, b"a", headers={"x-oss-tagging": "&".join(f"k{i}=v" for i in range(11))})
    assert not bucket.object_exists("t")


def test_bad_content_md5_appends_nothing(bucket):
    bucket.append_object("d", 0, b"abc")
    with pytest.raises(oss2.exceptions.InvalidDigest):
        bucket.append_object("d", 3, b"def", headers={"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="})
    assert bucket.get_object("d").read() == b"abc"
    assert bucket.append_object("d", 3, b"def").next_position == 6


def test_racing_appends_at_one_position_one_wins(bucket):
    bucket.append_object("race", 0, b"0")
    outcomes = []

    def append(tag):
        try:
            bucket.append_object("race", 1, tag * 1000)
            outcomes.append(("ok", tag))
        except oss2.exceptions.PositionNotEqualToLength as exc:
            outcomes.append(("refused", exc.next_position))

    threads = [threading.Thread(target=append, args=(bytes([65 + i]),)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [tag for state, tag in outcomes if state == "ok"]
    assert len(winners) == 1
    assert all(pos == 1001 for state, pos in outcomes if state == "refused")
    assert bucket.get_object("race").read() == b"0" + winners[0] * 1000


def test_overwrite_after_appends_removes_the_appended_data(bucket):
    bucket.append_object("o", 0, b"x" * 10)
    bucket.append_object("o", 10, b"y" * 10)
    bucket.put_object("o", b"plain")
    assert bucket.head_object("o").object_type == "Normal"
    assert bucket.get_object("o").read() == b"plain"
    bucket.delete_object("o")
    assert not bucket.object_exists("o")
