"""The signed head of an UploadPart from a per-upload template: only the part number, the date and the signature change.

``SmallPutter.signed_head`` builds every request from scratch: the header dict,
the V4 canonical request (lower-casing, sorting, quoting), the string to sign and
the head's text, ~40 us a part.  Within one upload an UploadPart's head differs
from the last one only in its part number, its ``x-oss-date`` (once a second) and
the signature over both, so here the canonical request and the head are split once
per (object, upload, headers, size, credentials) around those three slots and each
part costs one SHA-256 and one HMAC.  The result is byte for byte what
``signed_head`` sends (the tests compare the two); anything outside the plain case
(signature V1, anonymous, a subclass that signs differently, a caller header the
signer itself sets) returns None and the caller uses ``signed_head``.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Dict, Mapping, NamedTuple, Optional, Tuple
from urllib.parse import urlsplit

from . import auth
from .transport import Transport, _region_from_host

#: names the signer sets itself: a caller's spelling of one would change the layout
_OWN = frozenset(("content-length", "x-oss-date", "x-oss-content-sha256", "x-oss-security-token",
                  "authorization", "host", "user-agent", "accept-encoding"))
_DATE, _SIG = "\x01", "\x03"     # slots: never in a head (control characters are not sent)


class Template(NamedTuple):
    canon_lead: str       # "PUT\n<uri>\npartNumber="
    canon_mid: str        # the query's rest and the headers up to x-oss-date's value
    canon_tail: str       # after the date: the other headers and the payload line
    head_lead: bytes      # "PUT <path>?partNumber="
    head_mid: bytes       # the query's rest ... "x-oss-date: "
    head_after_date: bytes  # ... "Authorization: OSS4-HMAC-SHA256 Credential=<ak>/"
    head_tail: bytes      # "\r\n\r\n"
    host: str
    port: Optional[int]


class PartHeads:
    """Signed UploadPart heads for one transport (any thread)."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport
        self.enabled = type(transport).sign is Transport.sign and \
            int(transport.config.signature_version) != 1
        self.region = transport.config.region or _region_from_host(transport.endpoint.host)
        self.product = transport.config.product or "oss"
        self.templates: Dict[tuple, Template] = {}
        self.clock: Tuple[int, str] = (-1, "")

    def build(self, bucket: str, key: str, upload_id: str, part_number: int,
              headers: Mapping[str, str], size: int) -> Optional[Tuple[bytes, str, Optional[int]]]:
        """(head, host, port) as ``SmallPutter.signed_head`` would build them for this
        UploadPart, or None: use that.  CredentialsError as it raises it."""
        if not self.enabled:
            return None
        creds = self.t.credentials_source()   # per request: temporary credentials get renewed
        if not creds.access_key_id or not creds.access_key_secret:
            return None
        ident = (bucket, key, upload_id, tuple(headers.items()), size, creds.access_key_id,
                 creds.access_key_secret, creds.security_token)
        tpl = self.templates.get(ident)
        if tpl is None:
            if any(str(name).lower() in _OWN for name in headers):
                return None
            tpl = self._template(bucket, key, upload_id, headers, size, creds)
            if tpl is None:
                return None
            if len(self.templates) > 8:    # another object, upload or renewed credentials
                self.templates.clear()
            self.templates[ident] = tpl
        now = int(auth._time())
        second, stamp = self.clock
        if second != now:
            stamp = auth._v4_datetime(now)
            self.clock = (now, stamp)
        number = str(part_number)
        canonical = f"{tpl.canon_lead}{number}{tpl.canon_mid}{stamp}{tpl.canon_tail}"
        scope = auth.v4_scope(stamp[:8], self.region, self.product)
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        to_sign = f"{auth.V4_ALGORITHM}\n{stamp}\n{scope}\n{digest}"
        signing_key = auth.v4_signing_key(creds.access_key_secret, stamp[:8], self.region, self.product)
        signature = hmac.digest(signing_key, to_sign.encode("utf-8"), "sha256").hex()
        head = b"".join((tpl.head_lead, number.encode(), tpl.head_mid, stamp.encode(),
                         tpl.head_after_date, f"{scope},Signature={signature}".encode("latin-1"),
                         tpl.head_tail))
        return head, tpl.host, tpl.port

    def _template(self, bucket: str, key: str, upload_id: str, headers: Mapping[str, str],
                  size: int, creds: auth.Credentials) -> Optional[Template]:
        """The pieces around the slots, made the way signed_head and sign_v4 make the
        whole (so the same dict order and the same canonical form), or None when the
        slots cannot be found unambiguously."""
        query: auth.Query = [("partNumber", "1"), ("uploadId", upload_id)]
        hdrs: Dict[str, str] = dict(headers)
        hdrs["Content-Length"] = str(size)
        hdrs["x-oss-date"] = _DATE
        hdrs["x-oss-content-sha256"] = auth.UNSIGNED_PAYLOAD
        if creds.security_token:
            hdrs["x-oss-security-token"] = creds.security_token
        canonical = auth.v4_canonical_request("PUT", bucket, key, query, hdrs, [])
        lead = f"PUT\n{auth._v4_uri(bucket, key)}\npartNumber="
        if not canonical.startswith(lead + "1") or canonical.count(_DATE) != 1:
            return None
        mid, tail = canonical[len(lead) + 1:].split(_DATE)
        hdrs["Authorization"] = f"{auth.V4_ALGORITHM} Credential={creds.access_key_id}/{_SIG}"
        url = urlsplit(self.t.url(bucket, key, ()))
        q = auth.encode_query(query)
        if not q.startswith("partNumber=1&"):
            return None
        lines = [f"PUT {url.path}?{q} HTTP/1.1", f"Host: {url.netloc}",
                 f"User-Agent: {self.t.user_agent}", "Accept-Encoding: identity"]
        lines += [f"{k}: {v}" for k, v in hdrs.items()]
        text = "\r\n".join(lines) + "\r\n\r\n"
        head_lead = f"PUT {url.path}?partNumber="
        if text.count(_DATE) != 1 or text.count(_SIG) != 1:
            return None
        before_date, after_date = text[len(head_lead) + 1:].split(_DATE)
        between, tail_text = after_date.split(_SIG)
        try:
            return Template(lead, mid, tail, head_lead.encode("latin-1"),
                            before_date.encode("latin-1"), between.encode("latin-1"),
                            tail_text.encode("latin-1"), url.hostname or "", url.port)
        except UnicodeEncodeError:   # signed_head would raise it too: let it
            return None
