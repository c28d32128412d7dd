"""The project's documentation (README.md, docs/): every relative link leads to
a file of the repository, and nothing points at documents the repository does
not have."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"\]\(([^)\s]+)\)")
SOURCES = [p for d in ("ossresume_c", "tests", "benchmarks", "examples", "ci", "csrc")
           for p in (ROOT / d).rglob("*") if p.is_file() and p.suffix in (".py", ".c", ".h", ".md", ".sh", ".cc")]


def test_the_reference_documents_exist():
    assert {p.name for p in DOCS} >= {"protocol.md", "compatibility.md", "checkpoints.md"}


@pytest.mark.parametrize("doc", [ROOT / "README.md", *DOCS], ids=lambda p: p.name)
def test_relative_links_resolve(doc):
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if "://" in target or target.startswith(("#", "mailto:")):
            continue
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        assert path.exists(), f"{doc.name}: broken link {target}"


def test_no_reference_to_documents_outside_the_repository():
    gone = re.compile(r"CSDK_REFERENCE|PROTOCOL\.md|SPEC\.md|SPEC §|SCALE\.md|STYLE\.md")
    offenders = [str(p.relative_to(ROOT)) for p in [ROOT / "README.md", *SOURCES]
                 if p.name != "test_docs.py" and gone.search(p.read_text(encoding="utf-8", errors="replace"))]
    assert offenders == []
