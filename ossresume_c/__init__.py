"""ossresume_c: resumable upload and download of large files to Alibaba Cloud OSS.

The public API mirrors the OSS C SDK (``resumable_upload_file`` returning a
``Status``); a Pythonic ``Client`` and a C++-SDK-style ``OssClient`` sit on the
same engine.
"""
__version__ = "0.1.0"
