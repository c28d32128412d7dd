"""Which bucket configurations the emulator stores, and the checks OSS makes before storing one.

OSS keeps these configurations (CORS, referer, logging, encryption, lifecycle, tags,
website, policy, versioning) and returns them as they were put; what they would make the
cloud do (expire objects, encrypt with KMS) is outside the emulator; CORS preflights are
answered from the stored rules (``cors.py``).
Each ``validate_*`` takes the request body and raises ``OssError`` as OSS would refuse it.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple
from xml.sax.saxutils import escape

from .errors import OssError

ACLS = ("private", "public-read", "public-read-write")
STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")
MAX_TAGS = 20
_TAG_CHARS = re.compile(r"^[\w +\-=.:/@]*$", re.UNICODE)


def parse_xml(body: bytes, root: str) -> ET.Element:
    """The document's root element; MalformedXML unless it parses and is named ``root``."""
    try:
        element = ET.fromstring(body)
    except ET.ParseError:
        raise OssError("MalformedXML") from None
    if element.tag != root:
        raise OssError("MalformedXML")
    return element


_SHIELD = 0xF0000  # control characters ride through the XML parser as private-use characters
_CONTROLS = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f]")
_CONTROL_REFS = re.compile(r"&#(?:0*([0-9]{1,3})|[xX]0*([0-9a-fA-F]{1,2}));")
_SHIELDED = re.compile("[\U000F0001-\U000F001F]")


def shield_controls(body: bytes) -> bytes:
    """OSS accepts control characters in keys of an XML body (oss2 and v2 send them raw);
    XML parsers refuse them, so they are swapped for private-use characters before parsing."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body
    text = _CONTROLS.sub(lambda m: chr(_SHIELD + ord(m.group())), text)
    return _CONTROL_REFS.sub(_shield_reference, text).encode("utf-8")


def _shield_reference(match: "re.Match[str]") -> str:
    """``&#16;`` / ``&#x10;`` (v2 escapes control characters so) for a control character."""
    decimal, hexadecimal = match.groups()
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if 0 < code < 0x20 and chr(code) not in "\t\n\r":
        return chr(_SHIELD + code)
    return match.group()


def unshield_controls(text: str) -> str:
    return _SHIELDED.sub(lambda m: chr(ord(m.group()) - _SHIELD), text)


def _int(element: ET.Element, path: str) -> Optional[int]:
    text = element.findtext(path)
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise OssError("InvalidArgument", f"{path} must be an integer.", ArgumentName=path, ArgumentValue=text) from None


def check_acl(value: str) -> str:
    if value not in ACLS:
        raise OssError("InvalidArgument", "no such bucket access control exists", ArgumentName="x-oss-acl", ArgumentValue=value)
    return value


def check_storage_class(value: str) -> str:
    if value not in STORAGE_CLASSES:
        raise OssError("InvalidArgument", "Unsupported storage class.", ArgumentName="StorageClass", ArgumentValue=value)
    return value


def check_tag(key: str, value: str) -> None:
    """OSS's tag rules: key 1..128 characters, value up to 256, letters, digits and ``+-=._:/@ ``."""
    if not key or len(key) > 128 or not _TAG_CHARS.match(key):
        raise OssError("InvalidTag", "The TagKey you have provided is invalid.", status=400)
    if len(value) > 256 or not _TAG_CHARS.match(value):
        raise OssError("InvalidTag", "The TagValue you have provided is invalid.", status=400)


def parse_tag_set(element: ET.Element) -> List[Tuple[str, str]]:
    """``(key, value)`` pairs of a ``Tagging`` document; keys unique."""
    tags: List[Tuple[str, str]] = []
    for tag in element.iterfind("TagSet/Tag"):
        key, value = tag.findtext("Key") or "", tag.findtext("Value") or ""
        if key in (k for k, _ in tags):
            raise OssError("InvalidTag", "Cannot provide multiple Tags with the same key.", status=400)
        tags.append((key, value))
    return tags


def validate_tagging(body: bytes, max_tags: int = MAX_TAGS) -> None:
    tags = parse_tag_set(parse_xml(body, "Tagging"))
    if len(tags) > max_tags:
        raise OssError("BadRequest", "Object tags cannot be greater than 10" if max_tags == 10 else "Too many tags.", status=400)
    for key, value in tags:
        if not key or len(key) > 128 or len(value) > 256:
            raise OssError("InvalidTag", "The TagKey or TagValue you have provided is invalid.", status=400)


def validate_cors(body: bytes) -> None:
    root = parse_xml(body, "CORSConfiguration")
    rules = root.findall("CORSRule")
    if len(rules) > 10:
        raise OssError("InvalidArgument", "Too many CORS rules.", ArgumentName="CORSRule", ArgumentValue=str(len(rules)))
    for rule in rules:
        if not rule.findall("AllowedOrigin") or not rule.findall("AllowedMethod"):
            raise OssError("InvalidArgument", "A CORS rule needs AllowedOrigin and AllowedMethod.",
                           ArgumentName="CORSRule", ArgumentValue="")
        for method in rule.iterfind("AllowedMethod"):
            if (method.text or "") not in ("GET", "PUT", "DELETE", "POST", "HEAD"):
                raise OssError("InvalidArgument", "Unsupported AllowedMethod.", ArgumentName="AllowedMethod",
                               ArgumentValue=method.text or "")
        age = _int(rule, "MaxAgeSeconds")
        if age is not None and age < 0:
            raise OssError("InvalidArgument", "MaxAgeSeconds must not be negative.", ArgumentName="MaxAgeSeconds",
                           ArgumentValue=str(age))


def validate_referer(body: bytes) -> None:
    root = parse_xml(body, "RefererConfiguration")
    if (root.findtext("AllowEmptyReferer") or "").strip() not in ("true", "false"):
        raise OssError("MalformedXML")


def validate_logging(body: bytes) -> None:
    root = parse_xml(body, "BucketLoggingStatus")
    enabled = root.find("LoggingEnabled")
    if enabled is not None and not (enabled.findtext("TargetBucket") or "").strip():
        raise OssError("InvalidTargetBucketForLogging", "The target bucket for logging is empty.", status=400)


MAX_LOG_FIELDS = 6
_LOG_HEADER = re.compile(r"^[!-~]+$")


def validate_log_fields(body: bytes) -> None:
    """User-defined log fields: at most six headers and parameters together; a header name is
    printable ASCII without ``_`` or ``:``."""
    root = parse_xml(body, "UserDefinedLogFieldsConfiguration")
    headers = [el.text or "" for el in root.iterfind("HeaderSet/header")]
    params = [el.text or "" for el in root.iterfind("ParamSet/parameter")]
    if len(headers) + len(params) > MAX_LOG_FIELDS:
        raise OssError("InvalidArgument", "The total number of headers and parameters must be at most 6.",
                       ec="0046-00000004", ArgumentName="UserDefinedLogFieldsConfiguration",
                       ArgumentValue=str(len(headers) + len(params)))
    for name in headers:
        if not _LOG_HEADER.match(name) or "_" in name or ":" in name:
            raise OssError("InvalidArgument", "Invalid header name in HeaderSet.", ArgumentName="header",
                           ArgumentValue=name)
    for name in params:
        if not name:
            raise OssError("InvalidArgument", "Empty parameter name in ParamSet.", ArgumentName="parameter",
                           ArgumentValue=name)


def validate_encryption(body: bytes) -> None:
    root = parse_xml(body, "ServerSideEncryptionRule")
    apply = root.find("ApplyServerSideEncryptionByDefault")
    if apply is None:
        raise OssError("MalformedXML")
    algorithm = (apply.findtext("SSEAlgorithm") or "").strip()
    key_id = (apply.findtext("KMSMasterKeyID") or "").strip()
    if algorithm not in ("AES256", "KMS", "SM4"):
        raise OssError("InvalidEncryptionAlgorithmError", "The Encryption request you specified is not valid.",
                       status=400)
    if key_id and algorithm != "KMS":
        raise OssError("InvalidArgument", "KMSMasterKeyID is not applicable if the default sse algorithm is not KMS.",
                       ArgumentName="KMSMasterKeyID", ArgumentValue=key_id)


def encryption_from_headers(algorithm: Optional[str], key_id: Optional[str], data: Optional[str]) -> Optional[bytes]:
    """The encryption configuration a PutBucket's ``x-oss-server-side-*`` headers ask for, checked."""
    if not algorithm:
        return None
    parts = [f"<SSEAlgorithm>{escape(algorithm)}</SSEAlgorithm>"]
    if data:
        parts.append(f"<KMSDataEncryption>{escape(data)}</KMSDataEncryption>")
    if key_id:
        parts.append(f"<KMSMasterKeyID>{escape(key_id)}</KMSMasterKeyID>")
    body = ("<ServerSideEncryptionRule><ApplyServerSideEncryptionByDefault>" + "".join(parts)
            + "</ApplyServerSideEncryptionByDefault></ServerSideEncryptionRule>").encode("utf-8")
    validate_encryption(body)
    return body


def _day_or_date(element: ET.Element) -> Tuple[Optional[int], Optional[str]]:
    days = _int(element, "Days")
    stamp = element.findtext("Date") or element.findtext("CreatedBeforeDate")
    return days, stamp


def validate_lifecycle(body: bytes) -> None:
    """Rules need an ID-unique, well-formed action; transitions go colder as days grow."""
    root = parse_xml(body, "LifecycleConfiguration")
    ids = set()
    for rule in root.iterfind("Rule"):
        rule_id = rule.findtext("ID") or ""
        if rule_id in ids:
            raise OssError("InvalidArgument", "Rule ID must be unique.", ArgumentName="ID", ArgumentValue=rule_id)
        ids.add(rule_id)
        if (rule.findtext("Status") or "") not in ("Enabled", "Disabled"):
            raise OssError("MalformedXML")
        for tag in rule.iterfind("Tag"):
            key, value = tag.findtext("Key") or "", tag.findtext("Value") or ""
            if not _TAG_CHARS.match(key) or not _TAG_CHARS.match(value):
                raise OssError("InvalidArgument", "Invalid tag in lifecycle rule.", ArgumentName="Tag", ArgumentValue=key)
        expiration = rule.find("Expiration")
        expire_days, expire_date = _day_or_date(expiration) if expiration is not None else (None, None)
        for transition in rule.iterfind("Transition"):
            days, stamp = _day_or_date(transition)
            if (expire_days is not None and stamp is not None) or (expire_date is not None and days is not None):
                raise OssError("InvalidRequest", "Expiration and Transition of one rule must both use days or "
                               "both use dates.", status=400)
        for transition in rule.iterfind("Transition"):
            storage = transition.findtext("StorageClass") or ""
            if storage not in STORAGE_CLASSES[1:]:
                raise OssError("InvalidArgument", "Unsupported transition storage class.",
                               ArgumentName="StorageClass", ArgumentValue=storage)
            days, _ = _day_or_date(transition)
            if days is None:
                continue
            if expire_days is not None and days >= expire_days:
                raise OssError("InvalidArgument", "Transition days must be less than the expiration days.",
                               ArgumentName="Days", ArgumentValue=str(days))
        _check_transition_order(rule)


def _check_transition_order(rule: ET.Element) -> None:
    """A colder storage class must come after more days than a warmer one."""
    by_class: Dict[int, int] = {}
    for transition in rule.iterfind("Transition"):
        days = _int(transition, "Days")
        if days is not None:
            by_class[STORAGE_CLASSES.index(transition.findtext("StorageClass") or "IA")] = days
    ordered = [by_class[rank] for rank in sorted(by_class)]
    if any(later <= earlier for earlier, later in zip(ordered, ordered[1:])):
        raise OssError("InvalidArgument", "Days for a colder storage class must be greater.",
                       ArgumentName="Transition", ArgumentValue="Days")


def validate_website(body: bytes) -> None:
    root = parse_xml(body, "WebsiteConfiguration")
    if root.find("IndexDocument") is None and root.find("ErrorDocument") is None and root.find("RoutingRules") is None:
        raise OssError("MalformedXML")


def validate_policy(body: bytes) -> None:
    try:
        policy = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise OssError("InvalidPolicyDocument", "The content of the policy document is invalid.", status=400) from None
    if not isinstance(policy, dict) or not isinstance(policy.get("Statement"), list):
        raise OssError("InvalidPolicyDocument", "The content of the policy document is invalid.", status=400)


def validate_public_access_block(body: bytes) -> None:
    root = parse_xml(body, "PublicAccessBlockConfiguration")
    if (root.findtext("BlockPublicAccess") or "false").strip() not in ("true", "false"):
        raise OssError("MalformedXML")


def public_access_block(on: bool) -> bytes:
    """The PublicAccessBlockConfiguration document for ``on``."""
    return (_XML + b"<PublicAccessBlockConfiguration><BlockPublicAccess>" + (b"true" if on else b"false")
            + b"</BlockPublicAccess></PublicAccessBlockConfiguration>")


def blocks_public_access(document: Optional[bytes]) -> bool:
    """Whether a stored PublicAccessBlockConfiguration is on (None: never put, off)."""
    if not document:
        return False
    return (ET.fromstring(document).findtext("BlockPublicAccess") or "").strip() == "true"


def validate_versioning(body: bytes) -> None:
    """Suspended is stored (an unversioned bucket behaves so); Enabled is refused: the emulator
    keeps one version per object, and a test relying on versions must not pass by accident."""
    root = parse_xml(body, "VersioningConfiguration")
    status = root.findtext("Status") or ""
    if status not in ("Enabled", "Suspended"):
        raise OssError("MalformedXML")
    if status == "Enabled":
        raise OssError("NotImplemented", "The emulator does not implement this operation "
                       "(PutBucketVersioning Enabled: objects keep one version).")


_XML = b'<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclass(frozen=True)
class ConfigKind:
    """One configuration: its sub-resource, operation stem, check and what GET answers without it."""

    subresource: str
    stem: str  # PutBucket<stem> / GetBucket<stem> / DeleteBucket<stem>
    validate: Callable[[bytes], None]
    missing: Optional[Tuple[str, str]] = None  # (error code, message): 404 when never put
    default: Optional[bytes] = None  # what GET returns when never put (instead of an error)
    deletable: bool = True
    content_type: str = "application/xml"
    defaults: Tuple[Tuple[str, str], ...] = ()  # top-level elements OSS adds when a PUT leaves them out
    lowercased: Tuple[str, ...] = ()  # element paths whose text OSS keeps in lower case

    def normalized(self, body: bytes) -> bytes:
        """The document as OSS keeps it: ``defaults`` filled in, ``lowercased`` texts lowered."""
        if not self.defaults and not self.lowercased:
            return body
        root = ET.fromstring(body)
        missing = [(tag, text) for tag, text in self.defaults if root.find(tag) is None]
        lowered = [el for path in self.lowercased for el in root.iterfind(path) if el.text and el.text != el.text.lower()]
        if not missing and not lowered:
            return body
        for tag, text in missing:
            ET.SubElement(root, tag).text = text
        for element in lowered:
            element.text = (element.text or "").lower()
        return _XML + ET.tostring(root, encoding="utf-8", xml_declaration=False)


KINDS: Dict[str, ConfigKind] = {
    kind.subresource: kind
    for kind in (
        ConfigKind("cors", "Cors", validate_cors,
                   missing=("NoSuchCORSConfiguration", "The CORS Configuration does not exist."),
                   defaults=(("ResponseVary", "false"),), lowercased=("CORSRule/AllowedHeader",)),
        ConfigKind("referer", "Referer", validate_referer,
                   default=_XML + b"<RefererConfiguration><AllowEmptyReferer>true</AllowEmptyReferer>"
                   b"<AllowTruncateQueryString>true</AllowTruncateQueryString>"
                   b"<RefererList /></RefererConfiguration>", deletable=False,
                   defaults=(("AllowTruncateQueryString", "true"),)),
        ConfigKind("logging", "Logging", validate_logging, default=_XML + b"<BucketLoggingStatus />"),
        ConfigKind("userDefinedLogFieldsConfig", "UserDefinedLogFieldsConfig", validate_log_fields,
                   missing=("NoSuchUserDefinedLogFieldsConfig", "The user defined log fields config does not exist.")),
        ConfigKind("encryption", "Encryption", validate_encryption,
                   missing=("NoSuchServerSideEncryptionRule", "The server side encryption configuration was not found.")),
        ConfigKind("lifecycle", "Lifecycle", validate_lifecycle,
                   missing=("NoSuchLifecycle", "No Row found in Lifecycle Table.")),
        ConfigKind("tagging", "Tags", validate_tagging, default=_XML + b"<Tagging><TagSet /></Tagging>"),
        ConfigKind("website", "Website", validate_website,
                   missing=("NoSuchWebsiteConfiguration", "The specified bucket does not have a website configuration.")),
        ConfigKind("policy", "Policy", validate_policy,
                   missing=("NoSuchBucketPolicy", "The bucket policy does not exist."), content_type="application/json"),
        ConfigKind("publicAccessBlock", "PublicAccessBlock", validate_public_access_block,
                   default=public_access_block(False)),
        ConfigKind("versioning", "Versioning", validate_versioning,
                   default=_XML + b"<VersioningConfiguration />", deletable=False),
    )
}


def operations() -> Dict[Tuple[str, str, frozenset], str]:
    """Routing entries ``(method, "bucket", {sub-resource}) -> operation`` for every kind."""
    table: Dict[Tuple[str, str, frozenset], str] = {}
    for sub, kind in KINDS.items():
        keys = frozenset({sub})
        table[("PUT", "bucket", keys)] = f"PutBucket{kind.stem}"
        table[("GET", "bucket", keys)] = f"GetBucket{kind.stem}"
        if kind.deletable:
            table[("DELETE", "bucket", keys)] = f"DeleteBucket{kind.stem}"
    return table
