"""The layers stay apart: the HTTP layer never knows the emulator, the emulator never knows the
importer, and every path docs/architecture.md names exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "importer"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_module_of_the_http_layer_imports_the_sandbox() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(n for n in _imports(path) if "sandbox" in n)
        for path in (PACKAGE / "graph").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_sandbox_imports_nothing_from_the_importer() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            n for n in _imports(path) if n.startswith("importer.") and ".sandbox" not in n
        )
        for path in (PACKAGE / "sandbox").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_every_path_the_architecture_page_names_exists() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:importer|tests|bench|docs)/[\w./-]+)`", text))
    # Paths inside the package are also written without the leading importer/ (`write/planner.py`).
    named |= {
        f"importer/{p}"
        for p in re.findall(r"`([a-z_]+/[\w/]+\.py)`", text)
        if not p.startswith(("importer/", "tests/", "bench/", "docs/"))
    }
    assert named, "the page names no path: the pattern above no longer matches its style"
    missing = sorted(p for p in named if not (ROOT / p.rstrip("/")).exists())
    assert missing == []
