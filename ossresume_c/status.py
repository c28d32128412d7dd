"""``Status``: the Python form of the C SDK's ``aos_status_t``.

Every engine call returns one instead of raising for OSS, network or file
errors.  Negative codes are the C SDK's local error codes, same values.
"""
from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any, Mapping, Optional

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

# Local error codes of the C SDK (aos_status.h), same numbers.
HTTP_IO_ERROR = -998          # connection failure
ABORT_CALLBACK = -997         # the progress callback cancelled the call
INTERNAL_ERROR = -996
REQUEST_TIMEOUT = -995
INVALID_ARGUMENT = -994
INVALID_OPERATION = -993      # e.g. the checkpoint is locked by another process
OPEN_FILE_ERROR = -985
FILE_READ_ERROR = -982
FILE_WRITE_ERROR = -981
XML_PARSE_ERROR = -980
INCONSISTENT_ERROR = -978     # CRC-64 mismatch


class Status:
    """Outcome of one call: ``code`` is the HTTP status or a negative local code."""

    __slots__ = ("code", "error_code", "error_msg", "req_id", "resp_headers", "resp_body",
                 "string_to_sign")

    def __init__(self, code: int, error_code: str = "", error_msg: str = "", req_id: str = "",
                 resp_headers: Optional[Mapping[str, str]] = None,
                 resp_body: Optional[list] = None, string_to_sign: str = "") -> None:
        self.code = int(code)
        self.error_code = error_code or ""
        self.error_msg = error_msg or ""
        self.req_id = req_id or ""
        self.resp_headers: dict = dict(resp_headers or {})
        self.resp_body: list = list(resp_body or [])
        self.string_to_sign = string_to_sign or ""

    def is_ok(self) -> bool:
        return self.code > 0 and self.code // 100 == 2

    def __str__(self) -> str:
        if self.is_ok():
            text = f"OK {self.code}"
        else:
            text = f"error {self.code} {self.error_code or 'Error'}: {self.error_msg or '(no message)'}"
        if self.req_id:
            text += f" (request id {self.req_id})"
        return text

    def __repr__(self) -> str:
        return (f"Status(code={self.code}, error_code={self.error_code!r}, "
                f"error_msg={self.error_msg!r}, req_id={self.req_id!r})")

    def to_dict(self) -> dict:
        return {"code": self.code, "error_code": self.error_code,
                "error_msg": self.error_msg, "req_id": self.req_id}


def status_is_ok(status: Status) -> bool:
    """C SDK spelling of ``status.is_ok()``."""
    return status.is_ok()


def _text(root: ET.Element, tag: str) -> str:
    node = root.find(tag)
    return (node.text or "") if node is not None else ""


def parse_error_body(body: bytes) -> dict:
    """Fields of an OSS ``<Error>`` document; ``{}`` when the body is not one."""
    if not body or b"<Error" not in body[:512]:
        return {}
    from . import wire  # its XML parser loads with the first error body, not with the package
    root = wire.xml_root(body)
    if root is None or root.tag != "Error":
        return {}
    return {"Code": _text(root, "Code"), "Message": _text(root, "Message"),
            "RequestId": _text(root, "RequestId"), "StringToSign": _text(root, "StringToSign")}


# A server echoes its StringToSign in SignatureDoesNotMatch errors; with V1 it holds
# the STS token (an x-oss-* header, or the security-token sub-resource).
_TOKEN_TEXT = re.compile(r"(x-oss-security-token:|security-token=)[^\n&<]*")
_TOKEN_BYTES = re.compile(rb"(x-oss-security-token:|security-token=)[^\n&<]*")


def _mask_tokens(text: str) -> str:
    return _TOKEN_TEXT.sub(r"\1***", text)


def status_from_response(code: int, headers: Mapping[str, str], body: bytes) -> Status:
    """Build the Status of an HTTP response (success or OSS error)."""
    hdrs = dict(headers)
    req_id = hdrs.get("x-oss-request-id", "") or hdrs.get("X-Oss-Request-Id", "")
    if 200 <= code < 300:
        return Status(code, req_id=req_id, resp_headers=hdrs)
    fields = parse_error_body(body)
    if not fields:
        # HEAD errors carry their XML base64-encoded in x-oss-err.
        err = _header(hdrs, "x-oss-err")
        if err:
            try:
                fields = parse_error_body(base64.b64decode(err))
            except (ValueError, TypeError):
                fields = {}
    if fields:
        if fields["StringToSign"]:
            body = _TOKEN_BYTES.sub(rb"\1***", body)
        return Status(code, fields["Code"] or "UnknownError", fields["Message"],
                      fields["RequestId"] or req_id, hdrs, [body] if body else [],
                      _mask_tokens(fields["StringToSign"]))
    return Status(code, "UnknownError", f"HTTP {code} without an OSS error body", req_id, hdrs,
                  [body] if body else [])


def _header(headers: Mapping[str, Any], name: str) -> str:
    lname = name.lower()
    for k, v in headers.items():
        if k.lower() == lname:
            return str(v)
    return ""
