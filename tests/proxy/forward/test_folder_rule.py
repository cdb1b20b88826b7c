"""The folder rule: nothing under ``forward/`` (the event loop's request path) reaches the
recording side, storage or a tokenizer, directly or through another module.

docs/architecture.md, "The thread cut": ``forward/`` handles bytes and times only; parsing,
redaction, token counts and SQL happen on the writer thread (``record/``, ``writer``,
``storage/``). The direct check reads every module's imports; the transitive check imports
each ``forward`` module in a fresh interpreter and looks at what got loaded.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "proxy" / "wiretrace_proxy"
FORWARD_MODULES = sorted(
    f"wiretrace_proxy.forward.{p.stem}" for p in (PACKAGE / "forward").glob("*.py")
)
BANNED = (
    "wiretrace_proxy.record",
    "wiretrace_proxy.storage",
    "wiretrace_proxy.writer",
    "sqlalchemy",
    "sqlmodel",
    "tiktoken",
    "alembic",
)


def _banned(module: str) -> bool:
    return any(module == b or module.startswith(b + ".") for b in BANNED)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def test_forward_modules_exist() -> None:
    names = {m.rsplit(".", 1)[1] for m in FORWARD_MODULES}
    assert {"handler", "capture", "headers", "include_usage"} <= names


@pytest.mark.parametrize("path", sorted((PACKAGE / "forward").glob("*.py")), ids=lambda p: p.name)
def test_no_direct_import_of_the_recording_side(path: Path) -> None:
    bad = [m for m in _imports(path) if _banned(m)]
    assert not bad, f"forward/{path.name} imports {bad}"


def test_no_transitive_import_of_the_recording_side() -> None:
    script = (
        "import importlib, json, sys\n"
        f"for name in {FORWARD_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    loaded = [m for m in json.loads(out) if _banned(m)]
    assert not loaded, f"importing forward/ loads {loaded}"


def test_the_rule_catches_a_transitive_import(tmp_path: Path) -> None:
    """The transitive check is real: a module that imports the writer through a helper
    is caught."""
    pkg = tmp_path / "probe"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "helper.py").write_text("import wiretrace_proxy.writer\n")
    (pkg / "entry.py").write_text("from probe import helper\n")
    script = "import json, sys; import probe.entry; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    assert any(_banned(m) for m in json.loads(out))
