"""Suite-wide settings. Session guards for credential sources: nothing a test runs reads the
developer's own credentials or contacts a credential service off loopback.  Hypothesis examples
are not timed, and the header names the ossresume_c under test (with
OSSRESUME_TEST_INSTALLED=PREFIX, it must be the one installed under PREFIX, as CI's per-Python
runs of the wheel require).

The environment set here is inherited by every subprocess (CLI, emulator).  Tests
that exercise a source set its variables with ``monkeypatch``.
"""
from __future__ import annotations

import os
import socket

import pytest

import ossresume_c

_SCRUBBED = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN",
    "ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    "ALIBABA_CLOUD_PROFILE", "ALIBABA_CLOUD_CREDENTIALS_URI", "ALIBABA_CLOUD_ECS_METADATA",
    "ALIBABA_CLOUD_STS_REGION", "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED",
)
for _name in _SCRUBBED:
    os.environ.pop(_name, None)
os.environ.update({
    "OSSRESUME_LOOPBACK_ONLY": "1",                       # credentials code refuses other hosts
    "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
    "OSSRESUME_ECS_METADATA_ENDPOINT": "http://127.0.0.1:9",   # never 100.100.100.200
    "OSSRESUME_STS_ENDPOINT": "http://127.0.0.1:9",
    "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true",
    "ALIBABA_CLOUD_CREDENTIALS_FILE": os.devnull + ".absent-credentials.ini",
    "OSSUTIL_CONFIG_FILE": os.devnull + ".absent-ossutilconfig",
})

METADATA_IP = "100.100.100.200"
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _refuse_metadata(address: object) -> None:
    if isinstance(address, tuple) and address and address[0] == METADATA_IP:
        raise AssertionError(f"a test tried to contact the real ECS metadata service {METADATA_IP}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _refuse_metadata(address)
    return _connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _refuse_metadata(address)
    return _connect_ex(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def _no_real_metadata_service():
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]


# -- loopback stand-ins for the credential services (keys the session emulator accepts)

@pytest.fixture
def sts_standin(oss_emulator_server, monkeypatch):
    """An STS stand-in; ``OSSRESUME_STS_ENDPOINT`` points at it for the test."""
    from ossresume_c.emulator.sts import StsStandIn
    with StsStandIn(oss_emulator_server.access_key_id, oss_emulator_server.access_key_secret) as sts:
        monkeypatch.setenv("OSSRESUME_STS_ENDPOINT", sts.endpoint)
        yield sts


@pytest.fixture
def metadata_standin(oss_emulator_server, monkeypatch):
    """An ECS metadata stand-in (token mode required); the chain's ECS source is on
    and ``OSSRESUME_ECS_METADATA_ENDPOINT`` points at it for the test."""
    from ossresume_c.emulator.metadata import MetadataStandIn
    with MetadataStandIn(oss_emulator_server.access_key_secret) as metadata:
        monkeypatch.setenv("OSSRESUME_ECS_METADATA_ENDPOINT", metadata.endpoint)
        monkeypatch.delenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED")
        yield metadata


@pytest.fixture
def uri_standin(oss_emulator_server, monkeypatch):
    """A credentials-URI stand-in; ``ALIBABA_CLOUD_CREDENTIALS_URI`` points at it."""
    from ossresume_c.emulator.creduri import CredentialsUriStandIn
    with CredentialsUriStandIn(oss_emulator_server.access_key_secret) as uri:
        monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", uri.endpoint + "/credentials")
        yield uri


# Hypothesis: no per-example time limit.  CI runs several interpreters' suites side by side on
# two cores, and a slow example on a loaded machine is not a failure (no test here is timed).
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("ossresume", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ossresume")


def pytest_report_header(config: pytest.Config) -> str:
    return f"ossresume_c: {os.path.dirname(os.path.abspath(ossresume_c.__file__))}"


def pytest_configure(config: pytest.Config) -> None:
    prefix = os.environ.get("OSSRESUME_TEST_INSTALLED")
    where = os.path.realpath(ossresume_c.__file__)
    if prefix and not where.startswith(os.path.realpath(prefix) + os.sep):
        raise pytest.UsageError(f"testing {where}, not the ossresume_c installed under {prefix}")


@pytest.fixture(scope="session")
def dask_client():
    """A Dask client on a local cluster of two worker processes, loopback only, started
    once for the session (tests that kill a worker wait for its restart)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client


@pytest.fixture(params=["v1", "v4"])
def bucket(oss_emulator, request):
    """The test's emulator bucket through oss2, once with V1 and once with V4 signing."""
    oss2 = pytest.importorskip("oss2")
    auth = oss2.make_auth(oss_emulator.access_key_id, oss_emulator.access_key_secret, request.param)
    return oss2.Bucket(auth, oss_emulator.endpoint, oss_emulator.bucket, region=oss_emulator.region)
