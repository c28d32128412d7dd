"""Tests for ossresume_c.emulator.requesthead: the header fields and lookups match
what http.client/email (the parser it replaces) give, the limits answer like
http.server's, and a real emulator answers malformed request lines as before."""
from __future__ import annotations

import http.client
import io
import socket

from hypothesis import given, settings
from hypothesis import strategies as st

from ossresume_c.emulator.requesthead import MAX_HEADERS, Headers, read_fields

token = st.text(alphabet="ABCXYZabcxyz0123456789-_", min_size=1, max_size=12)
value = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xFF), max_size=20)
fields = st.lists(
    st.tuples(token, st.tuples(st.sampled_from(["", " ", "  ", "\t"]), value, st.sampled_from(["", " "]))),
    max_size=12,
)


def _wire(pairs) -> bytes:
    return b"".join(f"{name}:{lead}{text}{trail}\r\n".encode("latin-1") for name, (lead, text, trail) in pairs) + b"\r\n"


@settings(max_examples=200, deadline=None)
@given(pairs=fields, probe=token)
def test_fields_and_lookups_match_the_email_parser(pairs, probe):
    wire = _wire(pairs)
    parsed, why = read_fields(io.BytesIO(wire + b"body"))
    assert why == ""
    reference = http.client.parse_headers(io.BytesIO(wire))
    assert parsed == [(name, value) for name, value in reference.items()]
    headers = Headers(parsed)
    for name in {n for n, _ in pairs} | {probe, probe.upper(), probe.lower()}:
        assert headers.get(name) == reference.get(name)
        assert (name in headers) == (name in reference)
    assert headers.items() == parsed and list(headers) == [n for n, _ in parsed] and len(headers) == len(parsed)


def test_stops_at_the_blank_line_and_at_end_of_input():
    rfile = io.BytesIO(b"Host: a\r\nX-Oss-Meta-A: 1\r\n\r\nPAYLOAD")
    assert read_fields(rfile) == ([("Host", "a"), ("X-Oss-Meta-A", "1")], "")
    assert rfile.read() == b"PAYLOAD"
    assert read_fields(io.BytesIO(b"Host: a\n")) == ([("Host", "a")], "")


def test_folded_line_joins_the_field_before():
    parsed, _ = read_fields(io.BytesIO(b"X-A: one\r\n  two\r\nX-B: 3\r\n\r\n"))
    assert parsed == [("X-A", "one two"), ("X-B", "3")]


def test_limits():
    too_many = b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADERS + 1)) + b"\r\n"
    assert read_fields(io.BytesIO(too_many)) == (None, "Too many headers")
    assert read_fields(io.BytesIO(b"X: " + b"v" * 70000 + b"\r\n\r\n")) == (None, "Line too long")


def _exchange(emu, raw: bytes) -> bytes:
    """Send ``raw``, read until the emulator closes the connection."""
    with socket.create_connection((emu.server.host, emu.server.port), timeout=30) as sock:
        sock.sendall(raw)
        reply = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return reply
            reply += chunk


def test_emulator_answers_bad_request_heads_as_http_server_does(oss_emulator):
    # Before the version is known http.server answers HTTP/0.9 style: the error page alone.
    assert b"Error code: 400" in _exchange(oss_emulator, b"GET / HTTP/1.1 extra\r\n\r\n")
    assert b"Error code: 400" in _exchange(oss_emulator, b"GET / HTTQ/1.1\r\n\r\n")
    assert b"Error code: 505" in _exchange(oss_emulator, b"GET / HTTP/2.0\r\n\r\n")
    assert b"Error code: 400" in _exchange(oss_emulator, b"PUT /\r\n\r\n")
    many = b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADERS + 1)) + b"\r\n"
    assert _exchange(oss_emulator, many).startswith(b"HTTP/1.1 431 Too many headers")
    long_line = b"GET / HTTP/1.1\r\nX: " + b"v" * 70000 + b"\r\n\r\n"
    assert _exchange(oss_emulator, long_line).startswith(b"HTTP/1.1 431 Line too long")
    # a well-formed unsigned request reaches the OSS layer, and Connection: close is honoured
    reply = _exchange(oss_emulator, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 403") and b"<Code>AccessDenied</Code>" in reply
