"""A lean UploadPart: the signed head, then the part straight from the file onto a kept-alive socket.

Through ``requests`` each UploadPart costs ~1 ms of interpreter time and its body
must first be read into a part-sized buffer (8 MiB streamed through memory, then
once more into the socket).  Here the head goes out in one ``sendall`` and the
body follows from the file in 256 KiB chunks that stay in cache: over plain HTTP
by ``send_range`` (pread + CRC-64 + send, in C without the GIL), over HTTPS by a
short Python loop of fused pread + CRC-64 into one reused buffer and
``SSLSocket.sendall`` (the TLS layer belongs to Python's ``ssl``).

Only the clean case is handled here: a ``200`` with an ETag and, when the server
sends one, a CRC-64 equal to the bytes sent.  Anything else (another status, a
CRC-64 mismatch, a broken or timed-out connection, a proxy, a bandwidth cap,
Content-MD5, Windows) returns None and the caller sends the part the regular
way, which owns retries and error Statuses; UploadPart is idempotent.  A file
that shrank or cannot be read is the caller's Status at once (sending again
cannot help).  ``OSSRESUME_PART_SENDER`` picks the body path for benchmarks:
``send`` (default), ``sendfile``, or ``requests`` (this module off).
"""
from __future__ import annotations

import os
import socket
import threading
from typing import Mapping, NamedTuple, Optional, Sequence, Tuple

from . import bandwidth, native, ops, retry, wire
from . import send_range as sr
from . import status as st
from .credentials.base import CredentialsError, invalidate
from .put_file import file_changed
from .small_put import SmallPutter, read_reply_with_body
from .transport import Transport, io_status

CHUNK = 256 << 10          # stays in L2 between the pread, the CRC and the send
TLS_CHUNK = 1 << 20        # one SSL_write per MiB: fewer Python round trips, still cached
SENDERS = ("send", "sendfile", "requests")


class LeanPart(NamedTuple):
    """What the lean attempt settled.  ``final``: ``status`` is the part's outcome
    (success, a file problem or an error no retry can change); otherwise it is the
    retryable outcome of the first attempt and the regular path continues with
    the retries.  On success, the part's ETag and CRC-64."""

    status: st.Status
    final: bool = True
    etag: str = ""
    crc64: int = 0


def sender_from_env() -> str:
    value = os.environ.get("OSSRESUME_PART_SENDER", "send").strip().lower()
    return value if value in SENDERS else "send"


class PartPutter:
    """Kept-alive connections (one per worker thread) for the parts of one upload."""

    def __init__(self, transport: Transport, sender: Optional[str] = None) -> None:
        self.t = transport
        self.sender = sender or sender_from_env()
        try:
            conns: Optional[SmallPutter] = SmallPutter(transport)
        except (OSError, ValueError):   # a CA bundle Python's ssl cannot load (a directory...)
            conns = None
        self.conns = conns
        self.tls = conns is not None and conns.tls is not None
        self.enabled = (conns is not None and conns.enabled and self.sender != "requests" and sr.AVAILABLE
                        and not transport.ctl.enable_md5
                        and bandwidth.bucket_for(transport.ctl) is None)
        self.local = threading.local()

    def close(self) -> None:
        if self.conns is not None:
            self.conns.close()

    def put(self, bucket: str, key: str, upload_id: str, part_number: int, fd: int,
            offset: int, size: int, headers: Mapping[str, str], filepath: str,
            query: Optional[Sequence[Tuple[str, Optional[str]]]] = None) -> Optional[LeanPart]:
        """Send one part from ``fd`` as the first attempt; None: nothing was sent,
        send it the regular way.  ``query``: a presigned one (a worker's part)."""
        conns = self.conns
        if not self.enabled or conns is None:
            return None
        what = f"UploadPart {part_number}"
        try:
            head, host, port = conns.signed_head(
                bucket, key, ops.part_query(part_number, upload_id) if query is None else query,
                headers, size)
        except CredentialsError:
            return None    # the regular path turns it into its Status
        sock = conns.fresh_socket(host, port)
        if sock is None:
            return None
        try:
            sock.sendall(head)
            sent = self._body(sock, fd, offset, size)
            if sent.outcome == "ok":
                code, reply, keep, body = read_reply_with_body(sock)
            elif sent.outcome == "socket":   # a server that answered early (403...) and closed
                try:
                    code, reply, keep, body = read_reply_with_body(sock)
                    if code != 200:     # a 200 to half a body cannot be trusted
                        sent, keep = sent._replace(outcome="ok"), False
                except (OSError, ValueError):
                    pass
        except socket.timeout:     # not yet a TimeoutError before Python 3.10
            conns.drop(sock)
            return self._retryable(st.Status(st.REQUEST_TIMEOUT, "RequestTimeout",
                                             f"{what}: the server did not answer in time"))
        except (OSError, ValueError) as exc:
            conns.drop(sock)
            return self._retryable(io_status(exc, what))
        if sent.outcome != "ok" or not keep:
            conns.drop(sock)    # a body cut short leaves the request unfinished
        if sent.outcome == "short":
            return LeanPart(file_changed(filepath, f"part {part_number} was short"))
        if sent.outcome == "file":
            return LeanPart(st.Status(st.FILE_READ_ERROR, "FileReadError",
                                      f"reading part {part_number} of {filepath!r}: "
                                      f"{os.strerror(sent.errno)}"))
        if sent.outcome == "timeout":
            return self._retryable(st.Status(st.REQUEST_TIMEOUT, "RequestTimeout",
                                             f"{what}: no progress sending the body"))
        if sent.outcome != "ok":
            return self._retryable(st.Status(st.HTTP_IO_ERROR, "HttpIoError",
                                             f"{what}: {os.strerror(sent.errno)}"))
        status = st.status_from_response(code, reply, body)
        if code != 200:
            if status.error_code == "SecurityTokenExpired" and invalidate(self.t.credentials_source):
                return None    # renewed, as Transport.send does: the regular path sends again
            return self._retryable(status) if retry.is_retryable(status.code) else LeanPart(status)
        etag = wire.etag(reply.get("etag"))
        crc_text = reply.get(ops.CRC_HEADER)
        crc = wire.uint(crc_text)
        if etag is None or (crc_text is not None and crc is None):
            return self._retryable(st.Status(st.INTERNAL_ERROR, "ServerError",
                                             f"{what}: broken ETag or CRC-64 header", status.req_id,
                                             status.resp_headers))
        if self.t.ctl.enable_crc and crc is not None and crc != sent.crc64:
            return self._retryable(st.Status(st.INCONSISTENT_ERROR, "InconsistentError",
                                             f"{what}: CRC-64 mismatch, local {sent.crc64}, server {crc}",
                                             status.req_id, status.resp_headers))
        return LeanPart(status, True, etag, sent.crc64)

    def _retryable(self, status: st.Status) -> LeanPart:
        """The first attempt failed in a way a retry may mend: the last attempt when
        there are no retries, else the regular path carries on."""
        return LeanPart(status, final=int(self.t.ctl.max_retries) <= 0)

    def _body(self, sock: socket.socket, fd: int, offset: int, size: int) -> sr.RangeSent:
        if not self.tls:
            return sr.send_range(sock, fd, offset, size, self._buffer(CHUNK),
                                 self.t.ctl.read_timeout, self.sender == "sendfile")
        from . import aligned   # page-aligned: pread into it costs ~1/3 (aligned.py)
        buf = getattr(self.local, "tls_buf", None)
        if buf is None:
            buf = self.local.tls_buf = aligned.scratch(TLS_CHUNK)
        view = memoryview(buf)
        done, crc = 0, 0
        while done < size:
            want = min(TLS_CHUNK, size - done)
            try:
                got = native.read_part(fd, offset + done, want, buf, crc_seed=crc)
            except OSError as exc:
                return sr.RangeSent("file", done, done, crc, exc.errno or 5)
            crc = got.crc64
            if got.bytes_read:
                sock.sendall(view[:got.bytes_read])
            done += got.bytes_read
            if got.bytes_read < want:
                return sr.RangeSent("short", done, done, crc)
        return sr.RangeSent("ok", done, done, crc)

    def _buffer(self, size: int) -> bytearray:
        buf = getattr(self.local, "buf", None)
        if buf is None or len(buf) != size:
            buf = self.local.buf = bytearray(size)
        return buf
