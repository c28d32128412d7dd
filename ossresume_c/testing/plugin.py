"""pytest plugin (entry point ``pytest11: ossresume_c``): OSS emulator fixtures.

Fixtures:

``oss_emulator_server`` (session)
    One emulator child process for the whole session, on a free loopback port,
    stopped at the end. An ``ossresume_c.emulator.EmulatorHandle``.

``oss_emulator`` (function)
    A fresh bucket on the session emulator, with the fault rules, the request
    log and the counters cleared at the start (and the faults again at the end); an
    ``OssEmulatorFixture``::

        def test_upload(oss_emulator):
            oss_emulator.endpoint, oss_emulator.bucket
            oss_emulator.access_key_id, oss_emulator.access_key_secret, oss_emulator.region
            oss_emulator.add_fault(op="UploadPart", action="status", status=503, nth=2)
            options = oss_emulator.options()          # ready ossresume_c request options
            assert oss_emulator.request_log()[-1]["op"] == "CompleteMultipartUpload"

``oss_emulator_discard_server`` (session) / ``oss_emulator_discard`` (function)
    The same, on a second session emulator started with ``--discard``: bodies
    are checksummed and dropped (HEAD, listings, ListParts and Complete answer;
    a GET of such an object is an InvalidObjectState error).

Tests that must kill or restart the emulator start a private one with
``ossresume_c.emulator.start_emulator(root=tmp_path)``.
"""
from __future__ import annotations

import re
import uuid
from typing import Any, Dict, Iterator, List

import pytest

from ..emulator import EmulatorHandle


def _bucket_name(test_name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")[:40].strip("-") or "test"
    return f"t-{slug}-{uuid.uuid4().hex[:10]}"


class OssEmulatorFixture:
    """What ``oss_emulator`` yields: a bucket of its own on the shared emulator."""

    def __init__(self, server: EmulatorHandle, bucket: str) -> None:
        self.server = server
        self.bucket = bucket

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    @property
    def access_key_id(self) -> str:
        return self.server.access_key_id

    @property
    def access_key_secret(self) -> str:
        return self.server.access_key_secret

    @property
    def region(self) -> str:
        return self.server.region

    def __repr__(self) -> str:
        return f"OssEmulatorFixture(endpoint={self.endpoint!r}, bucket={self.bucket!r})"

    # -- faults and observation (see ossresume_c.emulator.faults for the rule format)
    def add_fault(self, **rule: Any) -> int:
        return self.server.add_fault(**rule)

    def remove_fault(self, rule_id: int) -> None:
        self.server.remove_fault(rule_id)

    def clear_faults(self) -> None:
        self.server.clear_faults()

    def faults(self) -> List[Dict[str, Any]]:
        return self.server.faults()

    def counters(self) -> Dict[str, Any]:
        return self.server.counters()

    def request_log(self) -> List[Dict[str, Any]]:
        return self.server.request_log()

    def clear_request_log(self) -> None:
        self.server.clear_request_log()

    def create_bucket(self, name: str) -> None:
        self.server.create_bucket(name)

    # -- client options (hook for the ossresume_c client layer)
    def options(self, **overrides: Any) -> Any:
        """Request options for ``ossresume_c`` calls against this emulator.

        Keyword arguments override ``Config``/``HttpController`` fields
        (``signature_version=1``, ``max_retries=0``...).
        """
        from .. import (
            config as client_config,  # lazily: the client layer is optional here
        )

        settings: Dict[str, Any] = {
            "endpoint": self.endpoint,
            "access_key_id": self.access_key_id,
            "access_key_secret": self.access_key_secret,
            "region": self.region,
        }
        settings.update(overrides)
        return client_config.request_options_create(**settings)


def _session_server(tmp_path_factory: pytest.TempPathFactory, *, discard: bool = False) -> Iterator[EmulatorHandle]:
    root = tmp_path_factory.mktemp("oss-emulator-discard" if discard else "oss-emulator")
    handle = EmulatorHandle(root=str(root), discard=discard)
    handle.start()
    try:
        yield handle
    finally:
        handle.close()


def _fresh_bucket(server: EmulatorHandle, request: pytest.FixtureRequest) -> Iterator[OssEmulatorFixture]:
    if not server.running:  # a test killed it: bring it back on the same root and port
        server.restart()
    server.clear_faults()
    server.clear_request_log()
    server.reset_counters()
    bucket = _bucket_name(request.node.name)
    server.create_bucket(bucket)
    fixture = OssEmulatorFixture(server, bucket)
    try:
        yield fixture
    finally:
        if server.running:
            server.clear_faults()
            server.delete_bucket(bucket, force=True)


@pytest.fixture(scope="session")
def oss_emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    """One emulator for the whole test session (free loopback port, temporary root)."""
    yield from _session_server(tmp_path_factory)


@pytest.fixture
def oss_emulator(oss_emulator_server: EmulatorHandle, request: pytest.FixtureRequest) -> Iterator[OssEmulatorFixture]:
    """A fresh bucket on the session emulator; faults, request log and counters cleared."""
    yield from _fresh_bucket(oss_emulator_server, request)


@pytest.fixture(scope="session")
def oss_emulator_discard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    """A session emulator in ``--discard`` mode (started on first use)."""
    yield from _session_server(tmp_path_factory, discard=True)


@pytest.fixture
def oss_emulator_discard(
    oss_emulator_discard_server: EmulatorHandle, request: pytest.FixtureRequest
) -> Iterator[OssEmulatorFixture]:
    """A fresh bucket on the ``--discard`` session emulator."""
    yield from _fresh_bucket(oss_emulator_discard_server, request)
