"""A facade in the shape of the OSS C++ SDK's resumable transfer API, so that
C++ programs port line by line.  Thin: every call goes to the same engine as
``resumable_upload_file`` / ``resumable_download_file``.

    conf = ClientConfiguration()
    client = OssClient(endpoint, access_key_id, access_key_secret, conf)
    request = UploadObjectRequest(bucket, key, file_path, checkpoint_dir)
    request.setPartSize(100 * 1024)
    request.setThreadNum(3)
    outcome = client.ResumableUploadObject(request)
    if not outcome.isSuccess():
        print(outcome.error().Code(), outcome.error().Message(), outcome.error().RequestId())

As in the C++ SDK, an empty ``checkpointDir`` means no checkpoint; otherwise it
is a directory holding a checkpoint file named after the bucket, key and file
(``checkpoint_file.checkpoint_location``: created when missing).
"""
from __future__ import annotations

import enum
import os
from typing import Any, Callable, Dict, Optional

from . import status as st
from .checkpoint_file import as_directory
from .config import RequestOptions, request_options_create
from .params import create_resumable_clt_params

DEFAULT_PART_SIZE = 8 * 1024 * 1024
DEFAULT_THREAD_NUM = 3

# TransferProgressHandler(increment, transferred, total, userData)
TransferProgressHandler = Callable[[int, int, int, Any], object]


def InitializeSdk() -> None:
    """Kept so that ported ``main()``s keep their shape; nothing to set up."""


def ShutdownSdk() -> None:
    """Counterpart of :func:`InitializeSdk`."""


class SignatureVersionType(enum.IntEnum):
    V1 = 1
    V4 = 4


class ClientConfiguration:
    """The C++ ``ClientConfiguration`` fields this library uses (camelCase as in C++).
    Timeouts are in milliseconds, as there."""

    def __init__(self) -> None:
        self.requestTimeoutMs: int = 60_000
        self.connectTimeoutMs: int = 10_000
        self.maxErrorRetry: int = 3
        self.verifySSL: bool = True
        self.caFile: str = ""
        self.isCname: bool = False
        self.enableCrc64: bool = True
        self.proxyScheme: str = "http"
        self.proxyHost: str = ""
        self.proxyPort: int = 0
        self.proxyUserName: str = ""
        self.proxyPassword: str = ""
        self.signatureVersion: SignatureVersionType = SignatureVersionType.V4
        self.userAgent: str = ""

    def __repr__(self) -> str:  # the proxy password stays out of reprs
        return (f"ClientConfiguration(requestTimeoutMs={self.requestTimeoutMs}, "
                f"connectTimeoutMs={self.connectTimeoutMs}, maxErrorRetry={self.maxErrorRetry}, "
                f"verifySSL={self.verifySSL}, isCname={self.isCname}, "
                f"signatureVersion={int(self.signatureVersion)})")

    def _proxy(self) -> Optional[str]:
        if not self.proxyHost:
            return None
        auth = ""
        if self.proxyUserName:
            auth = self.proxyUserName + (f":{self.proxyPassword}" if self.proxyPassword else "") + "@"
        port = f":{self.proxyPort}" if self.proxyPort else ""
        return f"{self.proxyScheme or 'http'}://{auth}{self.proxyHost}{port}"


class ObjectMetaData:
    """Headers for the new object: content type and friends, ``x-oss-meta-*``."""

    def __init__(self) -> None:
        self._headers: Dict[str, str] = {}

    def setContentType(self, value: str) -> None:
        self._headers["Content-Type"] = value

    def setCacheControl(self, value: str) -> None:
        self._headers["Cache-Control"] = value

    def setContentDisposition(self, value: str) -> None:
        self._headers["Content-Disposition"] = value

    def setContentEncoding(self, value: str) -> None:
        self._headers["Content-Encoding"] = value

    def addHeader(self, name: str, value: str) -> None:
        self._headers[name] = value

    def addUserHeader(self, name: str, value: str) -> None:
        """User metadata: sent as ``x-oss-meta-<name>``."""
        self._headers[f"x-oss-meta-{name}"] = value

    def HttpMetaData(self) -> Dict[str, str]:
        return dict(self._headers)

    def UserMetaData(self) -> Dict[str, str]:
        return {k[len("x-oss-meta-"):]: v for k, v in self._headers.items()
                if k.lower().startswith("x-oss-meta-")}


class _ResumableRequest:
    def __init__(self, bucket: str, key: str, filePath: str, checkpointDir: str = "") -> None:
        self._bucket = bucket
        self._key = key
        self._file_path = os.fspath(filePath)
        self._checkpoint_dir = os.fspath(checkpointDir) if checkpointDir else ""
        self._part_size = DEFAULT_PART_SIZE
        self._thread_num = DEFAULT_THREAD_NUM
        self._progress: Optional[TransferProgressHandler] = None
        self._user_data: Any = None

    def Bucket(self) -> str:
        return self._bucket

    def Key(self) -> str:
        return self._key

    def FilePath(self) -> str:
        return self._file_path

    def PartSize(self) -> int:
        return self._part_size

    def ThreadNum(self) -> int:
        return self._thread_num

    def CheckpointDir(self) -> str:
        return self._checkpoint_dir

    def setPartSize(self, part_size: int) -> None:
        self._part_size = int(part_size)

    def setThreadNum(self, thread_num: int) -> None:
        self._thread_num = int(thread_num)

    def setCheckpointDir(self, checkpoint_dir: str) -> None:
        self._checkpoint_dir = os.fspath(checkpoint_dir) if checkpoint_dir else ""

    def setTransferProgress(self, handler: TransferProgressHandler, userData: Any = None) -> None:
        """``handler(increment, transferred, total, userData)``, as the C++ TransferProgress."""
        self._progress = handler
        self._user_data = userData

    def _callback(self) -> Optional[Callable[[int, int], None]]:
        handler = self._progress
        if handler is None:
            return None
        last = [0]
        user_data = self._user_data

        def relay(consumed: int, total: int) -> None:
            increment = consumed - last[0]
            last[0] = consumed
            handler(increment, consumed, total, user_data)
        return relay


class UploadObjectRequest(_ResumableRequest):
    """``UploadObjectRequest(bucket, key, filePath, checkpointDir)``; part size
    8 MiB and 3 threads unless set."""

    def __init__(self, bucket: str, key: str, filePath: str, checkpointDir: str = "",
                 metaData: Optional[ObjectMetaData] = None) -> None:
        super().__init__(bucket, key, filePath, checkpointDir)
        self._meta = metaData or ObjectMetaData()

    def MetaData(self) -> ObjectMetaData:
        return self._meta

    def setMetaData(self, meta: ObjectMetaData) -> None:
        self._meta = meta


class DownloadObjectRequest(_ResumableRequest):
    """``DownloadObjectRequest(bucket, key, filePath, checkpointDir)``."""


class OssErrorInfo:
    """``outcome.error()``: ``Code()``, ``Message()``, ``RequestId()``, ``Host()``;
    ``Status()`` is the HTTP status or the negative local code."""

    def __init__(self, status: st.Status, host: str = "") -> None:
        self.status = status
        self._host = host

    def Code(self) -> str:
        return self.status.error_code or str(self.status.code)

    def Message(self) -> str:
        return self.status.error_msg

    def RequestId(self) -> str:
        return self.status.req_id

    def Host(self) -> str:
        return self._host

    def Status(self) -> int:
        return self.status.code

    def __str__(self) -> str:
        return str(self.status)


class ResumableResult:
    """``outcome.result()``: the final response's request id, ETag and CRC-64."""

    def __init__(self, status: st.Status, headers: Dict[str, str]) -> None:
        self.status = status
        self._headers = headers

    def _header(self, name: str) -> str:
        lname = name.lower()
        for k, v in self._headers.items():
            if k.lower() == lname:
                return v
        return ""

    def RequestId(self) -> str:
        return self.status.req_id or self._header("x-oss-request-id")

    def ETag(self) -> str:
        return self._header("ETag").strip('"')

    def CRC64(self) -> int:
        value = self._header("x-oss-hash-crc64ecma")
        return int(value) if value.isdigit() else 0

    def Headers(self) -> Dict[str, str]:
        return dict(self._headers)


class Outcome:
    """``isSuccess()``, ``result()``, ``error()``; ``status`` is the C-style Status."""

    def __init__(self, status: st.Status, headers: Dict[str, str], host: str = "") -> None:
        self.status = status
        self._result = ResumableResult(status, headers)
        self._error = OssErrorInfo(status, host)

    def isSuccess(self) -> bool:
        return self.status.is_ok()

    def result(self) -> ResumableResult:
        return self._result

    def error(self) -> OssErrorInfo:
        return self._error

    def __bool__(self) -> bool:
        return self.isSuccess()

    def __repr__(self) -> str:
        return f"Outcome({self.status!r})"


class OssClient:
    """``OssClient(endpoint, accessKeyId, accessKeySecret, conf)``.  Empty keys fall
    back to the ``OSS_ACCESS_KEY_ID`` / ``OSS_ACCESS_KEY_SECRET`` environment."""

    def __init__(self, endpoint: str, accessKeyId: str = "", accessKeySecret: str = "",
                 conf: Optional[ClientConfiguration] = None, securityToken: str = "") -> None:
        conf = conf or ClientConfiguration()
        self.options: RequestOptions = request_options_create(
            endpoint=endpoint, access_key_id=accessKeyId or None,
            access_key_secret=accessKeySecret or None, sts_token=securityToken or None,
            signature_version=int(conf.signatureVersion), is_cname=bool(conf.isCname),
            connect_timeout=conf.connectTimeoutMs / 1000.0,
            read_timeout=conf.requestTimeoutMs / 1000.0, max_retries=int(conf.maxErrorRetry),
            enable_crc=bool(conf.enableCrc64),
            verify=(conf.caFile or True) if conf.verifySSL else False,
            proxy=conf._proxy(), user_agent_suffix=conf.userAgent)
        self._host = endpoint

    def SetRegion(self, region: str) -> None:
        """The V4 signing region (``cn-hangzhou``...)."""
        self.options.config.region = region

    def _clt_params(self, request: _ResumableRequest) -> Any:
        directory = request.CheckpointDir()
        return create_resumable_clt_params(request.PartSize(), request.ThreadNum(), bool(directory),
                                           as_directory(directory) if directory else None)

    def _invalid(self, exc: Exception) -> Outcome:
        return Outcome(st.Status(st.INVALID_ARGUMENT, "ValidateError", str(exc)), {}, self._host)

    def ResumableUploadObject(self, request: UploadObjectRequest) -> Outcome:
        from .upload import resumable_upload_file
        try:
            clt = self._clt_params(request)
        except (ValueError, TypeError) as exc:
            return self._invalid(exc)
        resp_headers: Dict[str, str] = {}
        clt = _use_cpp_records(clt, request)
        status = resumable_upload_file(self.options, request.Bucket(), request.Key(),
                                       request.FilePath(), request.MetaData().HttpMetaData(), None,
                                       clt, request._callback(), resp_headers)
        return Outcome(status, resp_headers, self._host)

    def ResumableDownloadObject(self, request: DownloadObjectRequest) -> Outcome:
        from .download import resumable_download_file
        try:
            clt = self._clt_params(request)
        except (ValueError, TypeError) as exc:
            return self._invalid(exc)
        resp_headers: Dict[str, str] = {}
        clt = _use_cpp_records(clt, request)
        status = resumable_download_file(self.options, request.Bucket(), request.Key(),
                                         request.FilePath(), None, None, clt, request._callback(),
                                         resp_headers)
        return Outcome(status, resp_headers, self._host)


def _use_cpp_records(clt: Any, request: _ResumableRequest) -> Any:
    """Checkpoints in ``checkpointDir`` are the C++ SDK's own records (its file
    names and JSON), so C++ programs and this facade resume each other."""
    if not (clt.enable_checkpoint and request.CheckpointDir()):
        return clt
    from .cpp_checkpoint_file import CppCheckpointFormat, CppCltParams
    return CppCltParams(**vars(clt), checkpoint_format=CppCheckpointFormat(request.CheckpointDir()))
