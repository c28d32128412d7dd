"""``start_emulator``: run the emulator in a child process and drive it.

A subprocess (not a thread) so that tests can kill and restart it, and so that
in benchmarks the server does not share the client's GIL. The handle talks to
the child through the loopback-only control API.
"""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence
from urllib.parse import quote, urlsplit

from .cli import READY_PREFIX
from .config import DEFAULT_REGION, default_access_key_id, default_access_key_secret

START_TIMEOUT = 30.0


class EmulatorError(RuntimeError):
    """The emulator did not start, or a control request failed."""


class EmulatorHandle:
    """A running emulator child process.

    Attributes: ``endpoint`` ("http://127.0.0.1:PORT"), ``host``, ``port``,
    ``access_key_id``, ``access_key_secret``, ``region``, ``root``, ``pid``.
    """

    def __init__(
        self,
        root: str,
        host: str = "127.0.0.1",
        port: int = 0,
        access_key_id: Optional[str] = None,
        access_key_secret: Optional[str] = None,
        buckets: Iterable[str] = (),
        anonymous: bool = False,
        benchmark_mode: bool = False,
        discard: bool = False,
        faults: Sequence[Mapping[str, Any]] = (),
        request_log: Optional[str] = None,
        region: str = DEFAULT_REGION,
        tls_cert: Optional[str] = None,
        tls_key: Optional[str] = None,
        extra_args: Sequence[str] = (),
        log_file: Optional[str] = None,
        owns_root: bool = False,
    ) -> None:
        self.root = os.path.abspath(root)
        self.host = host
        self.port = port
        self.access_key_id = access_key_id or default_access_key_id()
        self.access_key_secret = access_key_secret or default_access_key_secret()
        self.region = region
        self.endpoint = ""
        self._buckets = list(buckets)
        self._anonymous = anonymous
        self._benchmark_mode = benchmark_mode
        self._discard = discard
        self._faults = [dict(f) for f in faults]
        self._request_log = request_log
        self._tls = (tls_cert, tls_key) if tls_cert else None
        self._extra_args = list(extra_args)
        self._owns_root = owns_root
        self.log_file = log_file or os.path.join(self.root, "emulator.log")
        self._process: Optional[subprocess.Popen] = None

    def __repr__(self) -> str:
        return f"EmulatorHandle(endpoint={self.endpoint!r}, root={self.root!r}, pid={self.pid})"

    # ------------------------------------------------------------------ life cycle
    @property
    def pid(self) -> Optional[int]:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _command(self) -> List[str]:
        cmd = [
            sys.executable,
            "-m",
            "ossresume_c.emulator",
            "--root",
            self.root,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--region",
            self.region,
        ]
        for bucket in self._buckets:
            cmd += ["--bucket", bucket]
        if self._anonymous:
            cmd.append("--anonymous")
        if self._benchmark_mode:
            cmd.append("--benchmark-mode")
        if self._discard:
            cmd.append("--discard")
        if self._request_log:
            cmd += ["--request-log", self._request_log]
        for rule in self._faults:
            cmd += ["--fault", json.dumps(rule)]
        if self._tls:
            cmd += ["--tls-cert", str(self._tls[0]), "--tls-key", str(self._tls[1])]
        return cmd + self._extra_args

    def start(self, timeout: float = START_TIMEOUT) -> EmulatorHandle:
        if self.running:
            raise EmulatorError("the emulator is already running")
        os.makedirs(self.root, exist_ok=True)
        env = dict(os.environ)
        # The key pair goes through the environment, not argv (visible in ps).
        env["OSSRESUME_EMULATOR_ACCESS_KEY_ID"] = self.access_key_id
        env["OSSRESUME_EMULATOR_ACCESS_KEY_SECRET"] = self.access_key_secret
        env["PYTHONUNBUFFERED"] = "1"
        log_handle = open(self.log_file, "ab")  # noqa: SIM115 - closed once the child has it
        try:
            process = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log_handle,
                env=env,
                close_fds=True,
            )
        finally:
            log_handle.close()
        self._process = process
        line = _read_line(process, timeout)
        if not line.startswith(READY_PREFIX):
            process.kill()
            process.wait()
            self._process = None
            raise EmulatorError(f"the emulator did not start (output {line!r}); log:\n{self._log_tail()}")
        assert process.stdout is not None
        process.stdout.close()  # nothing else is written there
        self.endpoint = line[len(READY_PREFIX):].strip()
        self.port = int(urlsplit(self.endpoint).port or 0)
        return self

    def _log_tail(self, size: int = 4000) -> str:
        try:
            with open(self.log_file, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                handle.seek(max(0, handle.tell() - size))
                return handle.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the emulator (SIGTERM, then SIGKILL after ``timeout``)."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._process = None

    def kill(self) -> None:
        """SIGKILL the emulator (crash tests); ``start()`` or ``restart()`` brings it back."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            if hasattr(signal, "SIGKILL"):
                os.kill(process.pid, signal.SIGKILL)
            else:  # pragma: no cover - Windows
                process.kill()
        process.wait()
        self._process = None

    def restart(self, timeout: float = START_TIMEOUT) -> EmulatorHandle:
        """Stop (if running) and start again on the same root and port."""
        self.stop()
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.start(timeout)
            except EmulatorError:
                # The port can stay busy for a moment after a kill; nothing else to wait on.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self.stop()
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> EmulatorHandle:  # noqa: PYI034 - typing.Self needs 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ control API
    def control(self, method: str, path: str, payload: Any = None, timeout: float = 30.0) -> Any:
        """Call ``/_emulator/<path>``; returns the decoded JSON answer."""
        if not self.endpoint:
            raise EmulatorError("the emulator is not running")
        parts = urlsplit(self.endpoint)
        if parts.scheme == "https":
            import ssl

            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname or self.host, parts.port, timeout=timeout, context=context
            )
        else:
            connection = http.client.HTTPConnection(parts.hostname or self.host, parts.port, timeout=timeout)
        try:
            body = None if payload is None else json.dumps(payload).encode("utf-8")
            headers = {"Content-Type": "application/json"} if body is not None else {}
            connection.request(method, "/_emulator/" + path.lstrip("/"), body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        decoded = json.loads(data.decode("utf-8")) if data else None
        if response.status >= 400:
            raise EmulatorError(f"control {method} {path}: {response.status} {decoded}")
        return decoded

    def health(self) -> Dict[str, Any]:
        return self.control("GET", "health")

    def create_bucket(self, name: str) -> None:
        self.control("PUT", "buckets/" + quote(name, safe=""))

    def delete_bucket(self, name: str, force: bool = True) -> None:
        self.control("DELETE", "buckets/" + quote(name, safe="") + ("?force" if force else ""))

    def add_fault(self, **rule: Any) -> int:
        """Add a fault rule (see ``ossresume_c.emulator.faults``); returns its id."""
        return int(self.control("POST", "faults", rule)["ids"][0])

    def remove_fault(self, rule_id: int) -> None:
        self.control("DELETE", f"faults/{int(rule_id)}")

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def faults(self) -> List[Dict[str, Any]]:
        return self.control("GET", "faults")

    def counters(self) -> Dict[str, Any]:
        return self.control("GET", "counters")

    def reset_counters(self) -> None:
        self.control("DELETE", "counters")

    def request_log(self) -> List[Dict[str, Any]]:
        return self.control("GET", "log")

    def clear_request_log(self) -> None:
        self.control("DELETE", "log")


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    """The child's first stdout line, or "" if it exits or stays silent for ``timeout``."""
    assert process.stdout is not None
    lines: queue.Queue[bytes] = queue.Queue()
    stdout = process.stdout
    reader = threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True)
    reader.start()
    try:
        raw = lines.get(timeout=timeout)
    except queue.Empty:
        return ""
    return raw.decode("utf-8", "replace")


@contextlib.contextmanager
def start_emulator(
    root: Optional[str] = None,
    host: str = "127.0.0.1",
    port: int = 0,
    access_key_id: Optional[str] = None,
    access_key_secret: Optional[str] = None,
    buckets: Iterable[str] = (),
    anonymous: bool = False,
    benchmark_mode: bool = False,
    discard: bool = False,
    faults: Sequence[Mapping[str, Any]] = (),
    request_log: Optional[str] = None,
    region: str = DEFAULT_REGION,
    tls_cert: Optional[str] = None,
    tls_key: Optional[str] = None,
    extra_args: Sequence[str] = (),
) -> Iterator[EmulatorHandle]:
    """Start an emulator subprocess; yields its ``EmulatorHandle`` and stops it on exit.

    ``root=None`` uses a temporary directory, removed afterwards. ``port=0`` picks a
    free port (``restart()`` keeps it).
    """
    owns_root = root is None
    handle = EmulatorHandle(
        root=root or tempfile.mkdtemp(prefix="ossresume-emulator-"),
        host=host,
        port=port,
        access_key_id=access_key_id,
        access_key_secret=access_key_secret,
        buckets=buckets,
        anonymous=anonymous,
        benchmark_mode=benchmark_mode,
        discard=discard,
        faults=faults,
        request_log=request_log,
        region=region,
        tls_cert=tls_cert,
        tls_key=tls_key,
        extra_args=extra_args,
        owns_root=owns_root,
    )
    try:
        handle.start()
        yield handle
    finally:
        handle.close()
