"""One client ``SSLContext`` per trust setting for the whole process: building one with the system's CAs costs ~50 ms of CPU.

Every engine call makes its own lean connection pools (small_put.SmallPutter: the
parts, the lean Initiate/Complete), and each built its context with
``ssl.create_default_context()``, which parses the whole CA bundle: ~50 ms of CPU
on the benchmark machine, paid twice per upload with ``verify=True``.  A context
is safe to share between threads and is not changed after it is built here, so
one per setting is kept: ``False`` (no verification, the user's choice), ``True``
(the system's CAs, keyed also by ``SSL_CERT_FILE``/``SSL_CERT_DIR``), or a CA
bundle file (keyed by its path, rebuilt when the file changes).  Building raises
what ``ssl.create_default_context`` raises (a missing file, a directory...), and
nothing is kept then.
"""
from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Dict, Hashable, Tuple, Union

if TYPE_CHECKING:
    import ssl

_lock = threading.Lock()
_built: Dict[Hashable, Tuple[Hashable, "ssl.SSLContext"]] = {}


def slot_and_stamp(verify: Union[bool, str]) -> Tuple[Hashable, Hashable]:
    """Which cached context ``verify`` selects, and what must not have changed since
    it was built.  OSError for a CA bundle path that cannot be looked at."""
    if verify is False:
        return ("insecure",), ()
    if isinstance(verify, str):
        st = os.stat(verify)
        return ("file", os.path.abspath(verify)), (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    return ("system",), (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


def client_context(verify: Union[bool, str]) -> "ssl.SSLContext":
    """The shared context for ``verify`` (as in RequestOptions: False, True or a CA bundle path)."""
    import ssl   # here: plain HTTP never needs it
    slot, stamp = slot_and_stamp(verify)
    with _lock:
        kept = _built.get(slot)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        if verify is False:
            context = ssl._create_unverified_context()  # noqa: S323 - the user's --insecure
        else:
            context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
        _built[slot] = (stamp, context)
        return context
