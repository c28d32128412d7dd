"""The package as a whole: its import graph has no cycle, no module imports
the package face, the version is written once, every module names its job."""
from __future__ import annotations

import ast
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional, Set

import pytest

import ossresume_c
from ossresume_c import _version, transport

PACKAGE = Path(ossresume_c.__file__).parent
ROOT = PACKAGE.parent
CHECKOUT = Path(__file__).resolve().parent.parent   # PACKAGE may be an installed wheel's


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> Dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.AST, parents: Dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(name: str, path: Path, known: Set[str]) -> Set[str]:
    """The package modules ``name`` imports, at its top or inside functions
    (lazy imports count: they still make a cycle), TYPE_CHECKING blocks aside."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: Set[str] = set()
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        targets: List[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        found.update(t for t in targets if t in known and t != name)
    return found


def find_cycle(graph: Dict[str, Set[str]]) -> Optional[List[str]]:
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> Optional[List[str]]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def import_graph() -> Dict[str, Set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def test_the_import_graph_has_no_cycle():
    assert find_cycle(import_graph()) is None


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_library_module_imports_the_package_face():
    graph = import_graph()
    importers = {name for name, deps in graph.items() if "ossresume_c" in deps}
    # testing/ is the pytest plugin: a user of the package like the tests themselves
    assert {n for n in importers if not n.startswith("ossresume_c.testing")} == set()


def test_the_version_is_written_once():
    assert ossresume_c.__version__ == _version.__version__
    assert transport.USER_AGENT == f"ossresume_c/{_version.__version__}"
    if sys.version_info < (3, 11):
        pytest.skip("tomllib is Python 3.11+")
    import tomllib
    project = tomllib.loads((CHECKOUT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "ossresume_c._version.__version__"}


@pytest.mark.parametrize("name", sorted(modules()))
def test_every_module_says_what_it_does(name):
    path = modules()[name]
    if os.path.getsize(path) == 0:
        pytest.skip("empty package marker")
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert doc and len(doc.split(".")[0].split()) >= 3, f"{name} has no docstring naming its job"


# What a plain ``import ossresume_c`` plus building options and parameters must not load:
# the HTTP stack, the bulk/Dask layers, the credentials chain, the XML parser and the native
# core all load with the first call that needs them.
NOT_AT_IMPORT = ("requests", "urllib3", "sqlite3", "dask", "ssl", "http.client",
                 "xml.etree.ElementTree", "ossresume_c.credentials", "ossresume_c._native")


def test_import_and_options_load_no_transfer_machinery():
    import subprocess
    probe = (
        "import sys, ossresume_c as oss\n"
        "oss.request_options_create(endpoint='http://127.0.0.1:9', access_key_id='a',"
        " access_key_secret='b', region='cn-hangzhou')\n"
        "oss.create_resumable_clt_params(part_size=1 << 20, thread_num=2)\n"
        f"print(' '.join(m for m in {NOT_AT_IMPORT!r} if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.stdout.split() == []


def test_the_lazy_names_still_resolve():
    import subprocess
    probe = ("import ossresume_c as oss\n"
             "assert oss.credentials.default_chain is not None\n"
             "from ossresume_c import credentials, resumable_upload_file\n"
             "assert callable(resumable_upload_file) and credentials is oss.credentials\n"
             "import sys; assert 'ossresume_c.credentials' in sys.modules\n")
    subprocess.run([sys.executable, "-c", probe], check=True, env=dict(os.environ,
                                                                        PYTHONPATH=str(ROOT)))
