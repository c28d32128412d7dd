"""Reading a response body straight into the caller's buffer (one copy, not three).

``requests``' ``resp.raw.readinto`` goes through urllib3's ``read(amt)``, which
asks ``http.client`` for a new ``bytes`` object (a copy out of a fresh bytearray)
and then copies it into the caller's buffer.  For an identity-encoded body that
urllib3 has not started to buffer, the ``http.client`` response underneath can fill
the buffer itself (``recv_into`` for large reads, honouring Content-Length and
chunking).  ``readinto_for`` picks that path when it is safe and urllib3's
otherwise; errors keep the shape the transport retries on (``ConnectionError``,
``TimeoutError``).
"""
from __future__ import annotations

import http.client
from typing import Any, Callable

ReadInto = Callable[[Any], int]


def readinto_for(resp: Any) -> ReadInto:
    """The ``readinto`` to drain ``resp`` (a ``requests.Response``) with."""
    raw = resp.raw
    fp = getattr(raw, "_fp", None)
    encoding = (resp.headers.get("Content-Encoding") or "identity").strip().lower()
    if (isinstance(fp, http.client.HTTPResponse) and encoding == "identity"
            and getattr(raw, "_decoder", None) is None
            and len(getattr(raw, "_decoded_buffer", b"")) == 0):
        return _direct(fp)
    return raw.readinto  # type: ignore[no-any-return]


def _direct(fp: http.client.HTTPResponse) -> ReadInto:
    def readinto(buf: Any) -> int:
        try:
            return fp.readinto(buf)
        except (TimeoutError, ConnectionError, http.client.HTTPException):
            raise
        except (OSError, ValueError) as exc:  # an SSL error, or a read after close
            raise ConnectionError(f"reading the body: {type(exc).__name__}: {exc}") from exc
    return readinto
