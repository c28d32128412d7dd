"""The part journal: its record codec (Hypothesis: torn and corrupted journals
yield only records that were written) and the file operations."""
import os

from hypothesis import given, settings, strategies as st

from ossresume_c import journal as jnl

TAG = 0x1234_5678_9ABC_DEF0

records_st = st.lists(st.tuples(st.integers(0, jnl.MAX_INDEX), st.integers(0, 2**64 - 1)),
                      max_size=40)


def build(header, records, tag=TAG):
    return jnl.encode_header(header) + b"".join(jnl.encode_record(tag, i, c) for i, c in records)


def folded(records):
    out = {}
    for i, c in records:
        out[i] = c
    return out


@settings(deadline=None)   # a loaded machine must not fail a property
@given(records_st, st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_round_trip(records, device, inode):
    header = jnl.Header(TAG, device, inode)
    got_header, got = jnl.decode(build(header, records), TAG)
    assert got_header == header
    assert got == folded(records)


@settings(deadline=None)
@given(records_st, st.data())
def test_a_torn_tail_yields_a_prefix_of_the_records(records, data):
    raw = build(jnl.Header(TAG, 1, 2), records)
    cut = data.draw(st.integers(0, len(raw)))
    header, got = jnl.decode(raw[:cut], TAG)
    if cut < jnl.HEADER_SIZE:
        assert header is None and got == {}
    else:
        whole = (cut - jnl.HEADER_SIZE) // jnl.RECORD_SIZE
        assert got == folded(records[:whole])


@settings(deadline=None)
@given(records_st.filter(bool), st.data())
def test_corruption_never_yields_a_record_that_was_not_written(records, data):
    raw = bytearray(build(jnl.Header(TAG, 1, 2), records))
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(1, 255)),
                               min_size=1, max_size=4))
    for pos, mask in flips:
        raw[pos] ^= mask
    header, got = jnl.decode(bytes(raw), TAG)
    if header is None:
        assert got == {}
        return
    first_bad = min(pos for pos, _m in flips)
    intact = max(0, (first_bad - jnl.HEADER_SIZE) // jnl.RECORD_SIZE)
    # what is read is the records in the order written, up to the damage at least
    assert any(got == folded(records[:k]) for k in range(intact, len(records) + 1))


@settings(deadline=None)   # a loaded machine must not fail a property
@given(records_st)
def test_a_journal_of_another_transfer_is_ignored(records):
    raw = build(jnl.Header(TAG, 0, 0), records)
    assert jnl.decode(raw, TAG ^ 1) == (None, {})
    # records re-tagged for another transfer do not check under this one
    other = jnl.encode_header(jnl.Header(TAG, 0, 0)) + b"".join(
        jnl.encode_record(TAG ^ 1, i, c) for i, c in records)
    assert jnl.decode(other, TAG)[1] == {}


def test_tag_depends_on_the_layout_and_not_the_etag_spelling():
    base = dict(kind=2, upload_id="", file_size=0, file_mtime=0, object_size=10,
                object_last_modified="Mon", object_etag='"AB"', part_size=4)
    t = jnl.tag_of(**base)
    assert jnl.tag_of(**{**base, "object_etag": "ab"}) == t
    assert jnl.tag_of(**{**base, "part_size": 5}) != t
    assert jnl.tag_of(**{**base, "object_size": 11}) != t


def test_file_start_append_fold_delete(tmp_path):
    path = str(tmp_path / "x.dcp.jnl")
    j = jnl.Journal(path)
    j.start(jnl.Header(TAG, 7, 8))
    j.append(3, 33)
    j.append(5, 55)
    assert jnl.read(path, TAG) == (jnl.Header(TAG, 7, 8), {3: 33, 5: 55})
    assert os.path.getsize(path) == jnl.HEADER_SIZE + 2 * jnl.RECORD_SIZE == j.bytes_written
    j.fold()
    j.append(6, 66)   # appends after the header, not at the old end
    assert jnl.read(path, TAG) == (jnl.Header(TAG, 7, 8), {6: 66})
    with open(path, "ab") as fh:
        fh.write(jnl.encode_record(TAG, 9, 99)[:11])   # a torn last write
    assert jnl.read(path, TAG)[1] == {6: 66}
    j.delete()
    assert not os.path.exists(path)
    assert jnl.read(path, TAG) == (None, {})
