"""OSS error responses: the exception operations raise, and its XML form."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple
from xml.sax.saxutils import escape

# code -> (HTTP status, default message). Messages follow OSS's wording.
ERRORS: Dict[str, Tuple[int, str]] = {
    "AccessDenied": (403, "You have no right to access this object."),
    "InvalidAccessKeyId": (403, "The OSS Access Key Id you provided does not exist in our records."),
    "SignatureDoesNotMatch": (403, "The request signature we calculated does not match the signature you provided."),
    "RequestTimeTooSkewed": (403, "The difference between the request time and the current time is too large."),
    "NoSuchBucket": (404, "The specified bucket does not exist."),
    "NoSuchKey": (404, "The specified key does not exist."),
    "NoSuchUpload": (
        404,
        (
            "The specified upload does not exist. The upload ID may be invalid, "
            "or the upload may have been aborted or completed."
        ),
    ),
    "InvalidPart": (
        400,
        (
            "One or more of the specified parts could not be found or the specified entity tag "
            "might not have matched the part's entity tag."
        ),
    ),
    "InvalidPartOrder": (400, "The list of parts was not in ascending order. Parts list must be specified in order by part number."),
    "EntityTooSmall": (400, "Your proposed upload is smaller than the minimum allowed size."),
    "EntityTooLarge": (400, "Your proposed upload exceeds the maximum allowed size."),
    "InvalidDigest": (400, "The Content-MD5 you specified was invalid."),
    "MalformedXML": (400, "The XML you provided was not well-formed or did not validate against our published schema."),
    "InvalidArgument": (400, "Invalid argument."),
    "InvalidObjectName": (400, "The specified object is not valid."),
    "InvalidBucketName": (400, "The specified bucket is not valid."),
    "IncompleteBody": (400, "The request body is shorter than its declared length."),
    "InvalidRequest": (400, "Invalid request."),
    "MissingContentLength": (411, "You must provide the Content-Length HTTP header."),
    "InvalidObjectState": (403, "The operation is not valid for the object's state."),
    "InvalidRange": (416, "The requested range cannot be satisfied."),
    "PreconditionFailed": (412, "At least one of the pre-conditions you specified did not hold."),
    "NotModified": (304, "Not modified."),
    "BucketAlreadyExists": (409, "The requested bucket name is not available."),
    "BucketNotEmpty": (409, "The bucket you tried to delete is not empty."),
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "NotImplemented": (501, "A header you provided implies functionality that is not implemented."),
    "ServiceUnavailable": (503, "Please reduce your request rate."),
    "SlowDown": (503, "Please reduce your request rate."),
    "RequestTimeout": (400, "Your socket connection to the server was not read from or written to within the timeout period."),
}

# OSS's detailed error codes (the x-oss-ec header and <EC>) for the common errors.
DEFAULT_EC: Dict[str, str] = {
    "NoSuchKey": "0026-00000001",
    "NoSuchBucket": "0015-00000101",
    "SignatureDoesNotMatch": "0002-00000040",
}

STATUS_CODES: Dict[int, str] = {500: "InternalError", 503: "ServiceUnavailable", 429: "SlowDown", 501: "NotImplemented"}


class OssError(Exception):
    """An error response. ``details`` become extra XML elements (BucketName, Key, UploadId...)."""

    def __init__(
        self,
        code: str,
        message: Optional[str] = None,
        status: Optional[int] = None,
        ec: Optional[str] = None,
        **details: str,
    ) -> None:
        default_status, default_message = ERRORS.get(code, (500, code))
        self.code = code
        self.ec = ec or DEFAULT_EC.get(code)  # OSS's detailed error code ("0016-00000003"), when we know it
        self.status = status if status is not None else default_status
        self.message = message if message is not None else default_message
        self.details = details
        self.headers: List[Tuple[str, str]] = []  # extra response headers (x-oss-next-append-position)
        super().__init__(f"{self.status} {code}: {self.message}")


def code_for_status(status: int) -> str:
    """The error code a bare status (fault injection) is reported with."""
    if status in STATUS_CODES:
        return STATUS_CODES[status]
    for code, (known, _) in ERRORS.items():
        if known == status:
            return code
    return "InternalError" if status >= 500 else "InvalidRequest"


def error_xml(error: OssError, request_id: str, host_id: str) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n',
        f"  <Code>{escape(error.code)}</Code>\n",
        f"  <Message>{escape(error.message)}</Message>\n",
        f"  <RequestId>{request_id}</RequestId>\n",
        f"  <HostId>{escape(host_id)}</HostId>\n",
    ]
    for name, value in error.details.items():
        parts.append(f"  <{name}>{escape(str(value))}</{name}>\n")
    if error.ec:
        parts.append(f"  <EC>{escape(error.ec)}</EC>\n")
    parts.append("</Error>\n")
    return "".join(parts).encode("utf-8")
