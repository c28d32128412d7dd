"""remote_files: a worker sends a batch of presigned tree tasks; a batch whose URLs are
about to expire comes back unsent (the tree engine's batches on an executor are in
test_tree_remote)."""
from __future__ import annotations

import time

from ossresume_c import presigned, remote_files
from ossresume_c.config import request_options_create
from ossresume_c.remote_tasks import EXPIRY_MARGIN
from ossresume_c.tree_tasks import PUT, SendContext, Task

from helpers import make_file


def test_a_batch_whose_urls_are_about_to_expire_comes_back_unsent(tmp_path):
    path = make_file(tmp_path / "f", 10)
    options = presigned.without_secrets(request_options_create(endpoint="http://127.0.0.1:9"))
    batch = remote_files.FileBatch(SendContext(options, "b"),
                                   (Task(PUT, "a", path, 10), Task(PUT, "b", path, 10)),
                                   time.time() + EXPIRY_MARGIN / 2)
    results = remote_files.send_files(batch)          # port 9 would refuse: nothing is sent
    assert [(r.task.key, r.action) for r in results] == [("a", "expired"), ("b", "expired")]

