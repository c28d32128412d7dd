"""Reading the configuration files credential sources live in: the home
directory, INI and JSON parsing whose errors name the file and the line."""
from __future__ import annotations

import configparser
import json
import os
from typing import Any, Optional

from .base import CredentialsError, SourceAbsent


def home() -> str:
    return os.environ.get("HOME") or os.path.expanduser("~")


def read_text(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise SourceAbsent(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialsError(f"{what} {path}: cannot read it ({exc})") from None


def read_json(path: str, what: str) -> Any:
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CredentialsError(f"{what} {path}, line {exc.lineno} column {exc.colno}: "
                               f"malformed JSON ({exc.msg}); fix the file or move it away") from None


def _ini_line(exc: configparser.Error) -> Optional[int]:
    line = getattr(exc, "lineno", None)
    if line is None and isinstance(exc, configparser.ParsingError) and exc.errors:
        line = exc.errors[0][0]
    return line


def read_ini(path: str, what: str) -> configparser.ConfigParser:
    """Values keep everything after ``=``; ``#`` and ``;`` start comments on their own lines."""
    text = read_text(path, what)
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        line = _ini_line(exc)
        where = f", line {line}" if line else ""
        reason = str(exc).splitlines()[0]
        if isinstance(exc, configparser.MissingSectionHeaderError):
            reason = "a key before any [section]"
        elif isinstance(exc, configparser.ParsingError):
            reason = "a line that is neither [section] nor key = value"
        raise CredentialsError(f"{what} {path}{where}: malformed INI ({reason}); "
                               f"fix the file or move it away") from None
    return parser


def ini_value(value: Optional[str]) -> Optional[str]:
    """An INI value without a trailing ``# comment`` (as the official SDK reads them)."""
    if value is None:
        return None
    return value.split("#", 1)[0].strip() or None
