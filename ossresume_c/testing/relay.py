"""A loopback HTTP/1.1 relay that damages traffic: flipped body bytes, cut connections, stalls.

    with Relay(("127.0.0.1", emulator_port), seed=7, rate=0.05) as relay:
        options = oss.request_options_create(endpoint=relay.endpoint, ...)

It listens on 127.0.0.1 only and forwards each connection to ``upstream``,
reading the messages' framing (request line or status line, headers,
``Content-Length`` bodies; HEAD, 204 and 304 answers have none) so that damage
lands inside bodies, as a faulty network or middlebox would make it: each
request and each response body meets, with probability ``rate`` each, one bit
flipped, the connection cut mid-body, or a stall of up to ``max_stall``
seconds.  Decisions come from one seeded generator; ``budget`` bounds the
number of damages, after which the relay only forwards.  ``enabled = False``
forwards everything untouched.  ``counts`` says what was done.
"""
from __future__ import annotations

import logging
import random
import socket
import threading
from collections import deque
from typing import Callable, Deque, Dict, Optional, Set, Tuple

log = logging.getLogger("ossresume_c.relay")

_HEAD_LIMIT = 64 * 1024
_CHUNK = 64 * 1024


class _Cut(Exception):
    """The relay cuts this connection."""


class Relay:
    def __init__(self, upstream: Tuple[str, int], seed: int = 0, rate: float = 0.05,
                 max_stall: float = 1.0, budget: int = 100000,
                 kinds: Tuple[str, ...] = ("flip", "cut", "stall")) -> None:
        host = upstream[0]
        if not (host.startswith("127.") or host in ("localhost", "::1")):
            raise ValueError(f"the relay forwards to loopback only, not {host!r}")
        self.upstream = upstream
        self.rate = rate
        self.max_stall = max_stall
        self.budget = budget
        self.kinds = tuple(kinds)
        self.enabled = True
        self.counts: Dict[str, int] = {"connections": 0, "flip_request": 0, "flip_response": 0,
                                       "cut_request": 0, "cut_response": 0, "stall": 0}
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._sockets: Set[socket.socket] = set()
        self._thread = threading.Thread(target=self._accept, name="relay-accept", daemon=True)
        self._thread.start()

    # -- lifecycle --------------------------------------------------------------
    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                _close(s)
            self._sockets.clear()

    def __enter__(self) -> "Relay":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- decisions ---------------------------------------------------------------
    def _decide(self, length: int) -> Tuple[str, int, float]:
        """What happens to a body of ``length`` bytes: ("", 0, 0) nothing, or
        ("flip"|"cut"|"stall", offset, seconds)."""
        with self._lock:
            if not self.enabled or self.budget <= 0 or self._rng.random() >= self.rate:
                return "", 0, 0.0
            choices = [k for k in self.kinds if length or k == "stall"]
            if not choices:
                return "", 0, 0.0
            kind = self._rng.choice(choices)
            offset = self._rng.randrange(length) if length else 0
            seconds = self._rng.uniform(0.0, self.max_stall)
            self.budget -= 1
            return kind, offset, seconds

    def _release(self, *socks: socket.socket) -> None:
        for s in socks:
            _close(s)
        with self._lock:
            self._sockets.difference_update(socks)

    def _count(self, name: str) -> None:
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + 1

    # -- connections ---------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                _close(client)
                continue
            for s in (client, server):
                s.settimeout(None)
            with self._lock:
                self._sockets.update((client, server))
                self.counts["connections"] += 1
            self._serve(client, server)

    def _serve(self, client: socket.socket, server: socket.socket) -> None:
        """Start the two pipes of one connection; responses learn from the requests
        which method they answer (a HEAD's answer has no body)."""
        methods: Deque[str] = deque()
        ready = threading.Condition()

        def request_length(head: bytes) -> Optional[int]:
            log.debug("request %s", head.split(b"\r\n", 1)[0][:120].decode("latin-1"))
            with ready:
                methods.append(head.split(b" ", 1)[0].decode("latin-1"))
                ready.notify_all()
            return _content_length(head)

        def response_length(head: bytes) -> Optional[int]:
            status = head.split(b" ", 2)[1] if b" " in head else b""
            if status.startswith(b"1"):     # 100 Continue: no body, the real answer follows
                return None
            with ready:
                while not methods:
                    ready.wait(1.0)
                method = methods.popleft()
            log.debug("response %s to %s", status.decode("latin-1"), method)
            return 0 if method in ("HEAD", "") or status in (b"204", b"304") else _content_length(head)

        def requests_ended() -> None:
            with ready:
                methods.append("")
                ready.notify_all()

        for args in ((client, server, "request", request_length, requests_ended),
                     (server, client, "response", response_length, lambda: None)):
            threading.Thread(target=self._pipe, args=args, daemon=True, name="relay-pipe").start()

    def _pipe(self, src: socket.socket, dst: socket.socket, side: str,
              length_of: Callable[[bytes], Optional[int]], on_end: Callable[[], None]) -> None:
        """Forward messages from ``src`` to ``dst``: each head as is, its body (of
        ``length_of(head)`` bytes, None: none) through the damage decision."""
        reader = _Reader(src)
        try:
            while not self._stop.is_set():
                head = reader.head()
                if head is None:
                    break
                length = length_of(head)
                dst.sendall(head)
                if length is not None:
                    self._body(reader, dst, length, side)
        except (_Cut, OSError):
            pass
        finally:
            self._release(src, dst)
            on_end()

    def _body(self, reader: "_Reader", dst: socket.socket, length: int, side: str) -> None:
        kind, offset, seconds = self._decide(length)
        log.debug("%s body of %d bytes: %s", side, length, f"{kind} at {offset}" if kind else "as is")
        sent = 0
        while sent < length:
            piece = reader.take(min(_CHUNK, length - sent))
            if not piece:
                raise _Cut()
            if kind and sent <= offset < sent + len(piece):
                at = offset - sent
                if kind == "flip":
                    piece = piece[:at] + bytes([piece[at] ^ (1 << (offset % 8))]) + piece[at + 1:]
                    self._count(f"flip_{side}")
                elif kind == "cut":
                    dst.sendall(piece[:at])
                    self._count(f"cut_{side}")
                    raise _Cut()
                else:
                    dst.sendall(piece[:at])
                    sent += at
                    piece = piece[at:]
                    self._count("stall")
                    self._stop.wait(seconds)
                kind = ""
            dst.sendall(piece)
            sent += len(piece)
        if kind == "stall" and length == 0:
            self._count("stall")
            self._stop.wait(seconds)


class _Reader:
    """Buffered reads from a socket: message heads, then exact body bytes."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def head(self) -> Optional[bytes]:
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > _HEAD_LIMIT:
                raise _Cut()
            data = self.sock.recv(_CHUNK)
            if not data:
                return None
            self.buf += data
        end = self.buf.index(b"\r\n\r\n") + 4
        head, self.buf = self.buf[:end], self.buf[end:]
        return head

    def take(self, n: int) -> bytes:
        if not self.buf:
            self.buf = self.sock.recv(_CHUNK)
        piece, self.buf = self.buf[:n], self.buf[n:]
        return piece


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return max(0, int(value.strip()))
            except ValueError:
                return 0
    return 0


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
