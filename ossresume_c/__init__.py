"""ossresume_c: resumable upload and download of large files to Alibaba Cloud OSS.

The public API mirrors the OSS C SDK: build ``options`` with
``request_options_create()``, parameters with ``create_resumable_clt_params()``,
then ``resumable_upload_file()`` / ``resumable_download_file()`` return a
``Status`` (``status_is_ok(status)``).  Logging goes to the ``ossresume_c`` logger.
"""
from .python_version import check as _check_python

_check_python()   # before anything an older Python could fail on

from ._version import __version__  # noqa: E402
from .config import (Config, HttpController, RequestOptions, config_create,  # noqa: E402
                     http_controller_create, http_io_deinitialize, http_io_initialize,
                     request_options_create)
from .params import ResumableCltParams, create_resumable_clt_params  # noqa: E402
from .status import Status, status_is_ok  # noqa: E402

# Engine entry points load on first use: importing the package stays cheap.
_LAZY = {
    "resumable_upload_file": ("upload", "resumable_upload_file"),
    "resumable_download_file": ("download", "resumable_download_file"),
    "upload_tree": ("bulk", "upload_tree"),
    "list_multipart_uploads": ("uploads", "list_multipart_uploads"),
    "abort_multipart_uploads": ("uploads", "abort_multipart_uploads"),
    "TreeSummary": ("bulk", "TreeSummary"),
    "Client": ("client", "Client"),
    "OssError": ("client", "OssError"),
    "OssClient": ("cpp", "OssClient"),
    "ClientConfiguration": ("cpp", "ClientConfiguration"),
    "UploadObjectRequest": ("cpp", "UploadObjectRequest"),
    "DownloadObjectRequest": ("cpp", "DownloadObjectRequest"),
}


def __getattr__(name: str):
    if name == "credentials":  # oss.credentials.anonymous, default_chain...: loaded on first use
        import importlib
        return importlib.import_module(".credentials", __name__)
    if name in _LAZY:
        import importlib
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ossresume_c' has no attribute {name!r}")


__all__ = [
    "__version__", "credentials", "Config", "HttpController", "RequestOptions", "config_create",
    "http_controller_create", "http_io_initialize", "http_io_deinitialize",
    "request_options_create", "ResumableCltParams", "create_resumable_clt_params", "Status",
    "status_is_ok", "resumable_upload_file", "resumable_download_file",
    "upload_tree", "TreeSummary", "Client", "OssError", "OssClient", "ClientConfiguration",
    "UploadObjectRequest", "DownloadObjectRequest",
    "list_multipart_uploads", "abort_multipart_uploads",
]
