"""Shared by the ls / stat / rm command tests: objects put into the test's bucket and
the command run in-process with the emulator's endpoint and keys in the environment."""
from __future__ import annotations

import json

from ossresume_c.cli import main
from ossresume_c.ops import put_object
from ossresume_c.transport import Transport


def put(emu, objects, headers=None):
    with Transport(emu.options()) as transport:
        for key, body in objects.items():
            status, _ = put_object(transport, emu.bucket, key, body, headers)
            assert status.is_ok(), status


def run(emu, monkeypatch, capsys, *args):
    monkeypatch.setenv("OSS_ENDPOINT", emu.endpoint)
    monkeypatch.setenv("OSS_REGION", emu.region)
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", emu.access_key_id)
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", emu.access_key_secret)
    monkeypatch.delenv("OSS_SESSION_TOKEN", raising=False)
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(emu, monkeypatch, capsys, *args):
    code, out, err = run(emu, monkeypatch, capsys, *args, "--json")
    return code, json.loads(out), err
