"""``oss_resumable_clt_params_t``: part size, threads and checkpoint settings,
shared by resumable upload and download."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from .layout import check_part_size

log = logging.getLogger("ossresume_c")

MAX_THREADS = 1024


@dataclass
class ResumableCltParams:
    part_size: int = 0
    thread_num: int = 3
    enable_checkpoint: bool = True
    checkpoint_path: Optional[str] = None


def create_resumable_clt_params(part_size: int = 0, thread_num: int = 3,
                                enable_checkpoint: bool = True,
                                checkpoint_path: Optional[str] = None) -> ResumableCltParams:
    """``oss_create_resumable_clt_params_content``.

    ``part_size`` 0 is automatic (8 MiB, grown to stay within 10000 parts);
    negative or over 5 GiB raises ValueError.  ``thread_num`` outside 1..1024
    becomes 1, as in the C SDK (with a warning).  ``checkpoint_path`` is kept
    only when checkpoints are enabled; where the checkpoint then lives is
    ``checkpoint_file.checkpoint_location`` (the one rule for every front end).
    """
    check_part_size(part_size)
    if isinstance(thread_num, bool) or not isinstance(thread_num, int):
        raise TypeError(f"thread_num must be an int, not {type(thread_num).__name__}")
    if thread_num < 1 or thread_num > MAX_THREADS:
        log.warning("thread_num %d is outside 1..%d; using 1 (as the C SDK does)", thread_num,
                    MAX_THREADS)
        thread_num = 1
    enable = bool(enable_checkpoint)
    if checkpoint_path is not None and not isinstance(checkpoint_path, str):
        checkpoint_path = str(checkpoint_path)  # os.PathLike
    return ResumableCltParams(part_size, thread_num, enable, checkpoint_path if enable else None)
