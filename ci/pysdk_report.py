"""Summarise a pytest JUnit XML file: passes per test file, failures grouped by cause.

Usage: python ci/pysdk_report.py LABEL JUNIT_XML. A cause is the OSS status and error code
with the error's message when the failure carries an OSS error (oss2's ServerError, v2's
ServiceError), else the exception's first line; `[setup]`/`[teardown]` marks failures outside
the test body. Used by ci/pysdk_suites.sh.
"""
from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from typing import Dict, List, Optional, Tuple

_PATTERNS = (  # (status, code, message) as oss2 and v2 print them
    re.compile(r"'status': (\d+).*?'Code': '([^']*)'.*?'Message': '([^']*)'", re.S),
    re.compile(r"Http Status Code: (\d+)\..*?Error Code: ([^\s.]+)\..*?Message: ([^\n]*)", re.S),
    re.compile(r"'status': (-?\d+).*?'details': \{\}()().*?", re.S),
)

_ENDPOINT = re.compile(r"Request Endpoint: (\w+) \S*?(?:\?([^\s.]*))?\.?\n")


def cause(text: str) -> str:
    for pattern in _PATTERNS:
        match = pattern.search(text)
        if match:
            status, code, message = match.groups()
            message = message.split("\\n")[0].strip().rstrip(".")
            endpoint = _ENDPOINT.search(text)  # v2 names the request: method and query keys
            where = ""
            if endpoint:
                keys = "&".join(item.split("=")[0] for item in (endpoint.group(2) or "").split("&") if item)
                where = f" [{endpoint.group(1)}{' ?' + keys if keys else ''}]"
            return f"{status} {code} {message[:90]}{where}".strip()
    for line in text.splitlines():  # the first line naming an exception or assertion
        line = line.strip()
        if line.startswith("E "):
            return line[2:].strip()[:140]
    first = text.strip().splitlines()[0] if text.strip() else "?"
    return first[:140]


def file_of(case: ET.Element) -> str:
    name = case.get("file")
    if name:
        return name
    classname = case.get("classname", "")
    return "/".join(classname.split(".")[:-1]) + ".py"


def outcome(case: ET.Element) -> Tuple[str, Optional[str]]:
    for tag in ("failure", "error"):
        node = case.find(tag)
        if node is not None:
            text = (node.get("message") or "") + "\n" + (node.text or "")
            phase = ""
            if tag == "error":
                message = node.get("message") or ""
                phase = "[teardown] " if "teardown" in message else "[setup] " if "setup" in message else ""
            return "failed", phase + cause(text)
    if case.find("skipped") is not None:
        return "skipped", None
    return "passed", None


def main(argv: List[str]) -> int:
    label, path = argv[1], argv[2]
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        print(f"{label}: no results ({exc})")
        return 1
    per_file: Dict[str, Counter] = defaultdict(Counter)
    causes: Dict[str, List[str]] = defaultdict(list)
    seen: Dict[Tuple[str, str, str], str] = {}
    for case in root.iter("testcase"):
        key = (file_of(case), case.get("classname", ""), case.get("name", ""))
        state, why = outcome(case)
        # a test failing in its body and again in teardown appears twice: count it once, failed
        if seen.get(key) == "failed":
            continue
        if key in seen:
            per_file[key[0]][seen[key]] -= 1
        seen[key] = state
        per_file[key[0]][state] += 1
        if why:
            causes[why].append(f"{key[0].rsplit('/', 1)[-1]}::{key[2]}")
    total = Counter()
    print(f"-- {label}: passed/total per file")
    for name in sorted(per_file):
        counts = per_file[name]
        total.update(counts)
        run = counts["passed"] + counts["failed"] + counts["skipped"]
        print(f"   {name:60s} {counts['passed']:4d}/{run:<4d}")
    run = total["passed"] + total["failed"] + total["skipped"]
    print(f"   {'TOTAL ' + label:60s} {total['passed']:4d}/{run:<4d}")
    if causes:
        print(f"-- {label}: failures by cause (tests broken)")
        for why, tests in sorted(causes.items(), key=lambda item: -len(item[1])):
            print(f"   {len(tests):4d}  {why}")
            for test in tests[:6]:
                print(f"          {test}")
            if len(tests) > 6:
                print(f"          ... {len(tests) - 6} more")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
