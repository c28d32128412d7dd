"""A lean UploadPart: the signed head, then the part straight from the file onto a kept-alive socket.

Through ``requests`` each UploadPart costs ~1 ms of interpreter time and its body
must first be read into a part-sized buffer (8 MiB streamed through memory, then
once more into the socket).  Here the head (from a per-upload template,
``part_head``) goes out and the body follows from the file in 256 KiB chunks that
stay in cache: over plain HTTP in one C call that also receives and parses the
reply's head (``part_exchange``: pread + CRC-64 + send, recv, without the GIL;
``sendfile`` selects the older ``send_range`` path), over HTTPS by a short Python
loop of fused pread + CRC-64 into one reused buffer and ``SSLSocket.sendall`` (the
TLS layer belongs to Python's ``ssl``).

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
from typing import List, Mapping, NamedTuple, Optional, Sequence, Tuple

from . import aligned, bandwidth, native, ops, retry, wire
from . import part_exchange as px
from . import send_range as sr
from . import status as st
from .credentials.base import CredentialsError, invalidate
from .part_head import PartHeads
from .put_file import file_changed
from .small_put import Headers, LeanConnections, SmallPutter, read_reply_with_body
from .transport import Transport, io_status

CHUNK = 256 << 10          # stays in L2 between the pread, the CRC and the send
REPLY_BUFFER = 16 << 10    # a reply head and a short error document
TLS_CHUNK = 1 << 20        # one SSL_write per MiB: fewer Python round trips, still cached
SENDERS = ("send", "sendfile", "requests")
BATCH_BYTES = 1 << 20      # small parts go out in runs of about this much per C call
BATCH_MAX = 8


class LeanPart(NamedTuple):
    """What the lean attempt settled.  ``final``: ``status`` is the part's outcome
    (success, a file problem or an error no retry can change); otherwise it is the
    retryable outcome of the first attempt and the regular path continues with
    the retries.  On success, the part's ETag and CRC-64."""

    status: st.Status
    final: bool = True
    etag: str = ""
    crc64: int = 0


def batch_limit(part_size: int) -> int:
    """How many parts of ``part_size`` bytes ``put_many`` sends in one C call: about
    BATCH_BYTES' worth, at most BATCH_MAX; 1 (no batches) from BATCH_BYTES up."""
    return max(1, min(BATCH_MAX, BATCH_BYTES // max(1, part_size)))


def sender_from_env() -> str:
    value = os.environ.get("OSSRESUME_PART_SENDER", "send").strip().lower()
    return value if value in SENDERS else "send"


class PartPutter(LeanConnections):
    """Kept-alive connections (one per worker thread) for the parts of one upload."""

    def __init__(self, transport: Transport, sender: Optional[str] = None) -> None:
        super().__init__(transport)
        self.sender = sender or sender_from_env()
        conns = self.conns
        self.tls = conns is not None and conns.tls is not None
        self.enabled = (conns is not None and conns.enabled and self.sender != "requests" and sr.AVAILABLE
                        and not transport.ctl.enable_md5
                        and bandwidth.bucket_for(transport.ctl) is None)
        self.local = threading.local()
        self.heads = PartHeads(transport)
        #: ``put_many`` can send parts in a row (plain HTTP with the one-call exchange)
        self.batches = self.enabled and not self.tls and self.sender == "send"

    def put(self, bucket: str, key: str, upload_id: str, part_number: int, fd: int,
            offset: int, size: int, headers: Mapping[str, str], filepath: str,
            query: Optional[Sequence[Tuple[str, Optional[str]]]] = None) -> Optional[LeanPart]:
        """Send one part from ``fd`` as the first attempt; None: nothing was sent,
        send it the regular way.  ``query``: a presigned one (a worker's part)."""
        conns = self.conns
        if not self.enabled or conns is None:
            return None
        try:
            built = None if query is not None else \
                self.heads.build(bucket, key, upload_id, part_number, headers, size)
            head, host, port = built or conns.signed_head(
                bucket, key, ops.part_query(part_number, upload_id) if query is None else query,
                headers, size)
        except CredentialsError:
            return None    # the regular path turns it into its Status
        if not self.tls and self.sender == "send" and len(head) < CHUNK:   # the head fits in front
            return self._exchange(conns, head, host, port, fd, offset, size, filepath,
                                  part_number)
        what = f"UploadPart {part_number}"
        sock = conns.fresh_socket(host, port)
        if sock is None:
            return None
        code, reply, keep, body = 0, Headers(), False, b""
        try:
            sock.sendall(head)
            sent = self._body(sock, fd, offset, size)
            if sent.outcome == "ok":
                code, reply, keep, body = read_reply_with_body(sock)
            elif sent.outcome == "socket":   # a server that answered early (403...) and closed
                sent, code, reply, keep, body = self._early_reply(sock, sent, b"")
        except (OSError, ValueError) as exc:
            return self._broken(conns, sock, exc, what)
        return self._settle(conns, sock, sent, code, reply, keep, body, filepath, part_number)

    def put_many(self, bucket: str, key: str, upload_id: str, fd: int,
                 parts: Sequence[Tuple[int, int, int]], headers: Mapping[str, str],
                 filepath: str) -> Optional[List[Optional[LeanPart]]]:
        """``put`` for several parts ``(part number, offset, size)`` in a row on one
        connection, in one C call (plain HTTP, ``part_exchange.run_many``), for as long
        as each ends in a clean 200.  Returns the outcomes of a prefix of ``parts``:
        every clean part, then the outcome of the first that was not (None: send that
        one the regular way), or None when nothing was sent (also with temporary keys,
        which could expire between signing a head and sending it).  The caller goes on
        with the parts after the prefix."""
        conns = self.conns
        if not self.batches or conns is None or not parts:
            return None
        heads: List[bytes] = []
        host, port = "", None
        try:
            if self.t.credentials_source().security_token:
                return None   # temporary keys may expire while the row is out: sign each as it goes
            for number, _, size in parts:
                built = self.heads.build(bucket, key, upload_id, number, headers, size)
                if built is None or len(built[0]) >= CHUNK:
                    return None
                heads.append(built[0])
                host, port = built[1], built[2]
        except CredentialsError:
            return None    # the regular path turns it into its Status
        sock = conns.socket_for(host, port)
        if sock is None:
            return None
        clean, last = self._exchanger().run_many(sock, heads, fd, [(o, n) for _, o, n in parts],
                                                 self.t.ctl.read_timeout)
        done: List[Optional[LeanPart]] = [
            self._settle_ok(st.Status(200), c.etag, c.crc64_text, c.crc64, number)
            for c, (number, _, _) in zip(clean, parts)]
        if last is not None:
            number, offset, size = parts[len(clean)]
            if last.outcome == "stale":   # closed while idle: the single path opens a new one
                conns.drop(sock)
                done.append(self._exchange(conns, heads[len(clean)], host, port, fd, offset, size,
                                           filepath, number))
            else:
                done.append(self._exchanged(conns, sock, last, filepath, number))
        return done

    def _exchange(self, conns: SmallPutter, head: bytes, host: str, port: Optional[int], fd: int,
                  offset: int, size: int, filepath: str, part_number: int) -> Optional[LeanPart]:
        """Plain HTTP: the head, the body and the reply head in one C call
        (part_exchange); a clean 200 is settled without building the reply's headers,
        anything else goes through small_put's reader from the bytes received."""
        sock = conns.socket_for(host, port)
        if sock is None:
            return None
        exchanger = self._exchanger()
        ex = exchanger.run(sock, head, fd, offset, size, self.t.ctl.read_timeout)
        if ex.outcome == "stale":   # the server closed the kept-alive connection while idle
            conns.drop(sock)
            sock = conns.socket_for(host, port)
            if sock is None:
                return None
            ex = exchanger.run(sock, head, fd, offset, size, self.t.ctl.read_timeout)
        return self._exchanged(conns, sock, ex, filepath, part_number)

    def _exchanged(self, conns: SmallPutter, sock: socket.socket, ex: px.Exchanged, filepath: str,
                   part_number: int) -> Optional[LeanPart]:
        """The part's outcome from what its exchange on ``sock`` did."""
        if ex.outcome == "done" and ex.head is not None and ex.head.code == 200:
            if not ex.head.keep:
                conns.drop(sock)
            return self._settle_ok(st.Status(200), ex.head.etag, ex.head.crc64, ex.crc64, part_number)
        what = f"UploadPart {part_number}"
        if ex.outcome == "stale":
            conns.drop(sock)
            return self._retryable(st.Status(st.HTTP_IO_ERROR, "HttpIoError",
                                             f"{what}: a new connection was readable before the request"))
        sent = sr.RangeSent("ok" if ex.outcome in ("done", "raw") else ex.outcome, ex.bytes_read,
                            ex.bytes_sent, ex.crc64, ex.errno)
        code, reply, keep, body = 0, Headers(), False, b""
        try:
            if ex.outcome in ("done", "raw"):
                code, reply, keep, body = read_reply_with_body(sock, prefix=ex.reply)
            elif ex.outcome == "socket" and not ex.sent_all:   # answered early (403...) and closed?
                sent, code, reply, keep, body = self._early_reply(sock, sent, ex.reply)
            elif ex.outcome == "socket":
                raise OSError(ex.errno, os.strerror(ex.errno))
            elif ex.outcome == "timeout" and ex.sent_all:
                raise socket.timeout("timed out")
        except (OSError, ValueError) as exc:
            return self._broken(conns, sock, exc, what)
        return self._settle(conns, sock, sent, code, reply, keep, body, filepath, part_number)

    @staticmethod
    def _early_reply(sock: socket.socket, sent: sr.RangeSent, prefix: bytes
                     ) -> Tuple[sr.RangeSent, int, Headers, bool, bytes]:
        """Sending failed: a server that refused early (403...) may have answered and
        closed; its answer is then the outcome (a 200 to half a body cannot be trusted)."""
        try:
            code, reply, keep, body = read_reply_with_body(sock, prefix=prefix)
        except (OSError, ValueError):
            return sent, 0, Headers(), False, b""
        if code != 200:
            return sent._replace(outcome="ok"), code, reply, False, body
        return sent, code, reply, keep, body

    def _broken(self, conns: SmallPutter, sock: socket.socket, exc: Exception,
                what: str) -> LeanPart:
        """The connection failed (or timed out: not yet a TimeoutError before 3.10)."""
        conns.drop(sock)
        if isinstance(exc, socket.timeout):
            return self._retryable(st.Status(st.REQUEST_TIMEOUT, "RequestTimeout",
                                             f"{what}: the server did not answer in time"))
        return self._retryable(io_status(exc, what))

    def _settle(self, conns: SmallPutter, sock: socket.socket, sent: sr.RangeSent, code: int,
                reply: Mapping[str, str], keep: bool, body: bytes, filepath: str,
                part_number: int) -> Optional[LeanPart]:
        """The part's outcome from what sending did and the reply read."""
        what = f"UploadPart {part_number}"
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
        return self._settle_ok(status, reply.get("etag"), reply.get(ops.CRC_HEADER), sent.crc64,
                               part_number)

    def _exchanger(self) -> px.Exchanger:
        found = getattr(self.local, "exchanger", None)
        if found is None:
            found = self.local.exchanger = px.Exchanger(CHUNK, REPLY_BUFFER)
        return found

    def _settle_ok(self, status: st.Status, etag_text: Optional[str], crc_text: Optional[str],
                   crc_sent: int, part_number: int) -> LeanPart:
        """A 200: its ETag and CRC-64 must be sound and the CRC-64 that of the bytes sent."""
        etag = wire.etag(etag_text)
        crc = wire.uint(crc_text)
        if etag is not None and (crc_text is None or (crc is not None and (
                crc == crc_sent or not self.t.ctl.enable_crc))):   # the usual case, quickly
            return LeanPart(status, True, etag, crc_sent)
        what = f"UploadPart {part_number}"
        if etag is None or (crc_text is not None and crc is None):
            return self._retryable(st.Status(st.INTERNAL_ERROR, "ServerError",
                                             f"{what}: broken ETag or CRC-64 header", status.req_id,
                                             status.resp_headers))
        if self.t.ctl.enable_crc and crc is not None and crc != crc_sent:
            return self._retryable(st.Status(st.INCONSISTENT_ERROR, "InconsistentError",
                                             f"{what}: CRC-64 mismatch, local {crc_sent}, server {crc}",
                                             status.req_id, status.resp_headers))
        return LeanPart(status, True, etag, crc_sent)

    def _retryable(self, status: st.Status) -> LeanPart:
        """The first attempt failed in a way a retry may mend: the last attempt when
        there are no retries, else the regular path carries on."""
        return LeanPart(status, final=int(self.t.ctl.max_retries) <= 0)

    def _body(self, sock: socket.socket, fd: int, offset: int, size: int) -> sr.RangeSent:
        if not self.tls:
            return sr.send_range(sock, fd, offset, size, self._buffer(CHUNK),
                                 self.t.ctl.read_timeout, self.sender == "sendfile")
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

    def _buffer(self, size: int) -> aligned.Scratch:
        buf = getattr(self.local, "buf", None)
        if buf is None or len(buf) != size:
            buf = self.local.buf = aligned.scratch(size)   # pread into it costs ~1/3 (aligned.py)
        return buf
