"""The build hook's decisions (``proxy/build_ui.py``), without running a build.

The hook is not an importable package module (no wheel ships it), so it is loaded from its
path, as setuptools loads it.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

HOOK = Path(__file__).resolve().parents[2] / "proxy" / "build_ui.py"


@pytest.fixture(scope="module")
def hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_ui", HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("version", "ok"),
    [
        ("v20.20.2", True),
        ("v20.19.0", True),
        ("v20.18.3", False),
        ("v18.19.0", False),
        ("v21.7.3", False),
        ("v22.11.0", False),
        ("v22.12.0", True),
        ("v24.1.0", True),
        ("", False),
    ],
)
def test_node_versions_vite_accepts(hook: ModuleType, version: str, ok: bool) -> None:
    assert hook.node_ok(version) is ok


def fake_node(folder: Path, version: str) -> None:
    for name, out in (("node", version), ("npm", "10.0.0")):
        script = folder / name
        script.write_text(f"#!/bin/sh\necho {out}\n")
        script.chmod(0o755)


def test_missing_node_is_one_line_naming_the_fix(
    hook: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(Exception, match=r"Node\.js \^20\.19 or >=22\.12") as caught:
        hook.check_node()
    assert "node not found; install it" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_old_node_is_named(
    hook: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_node(tmp_path, "v18.19.0")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(Exception, match=r"found node v18\.19\.0; upgrade"):
        hook.check_node()
    fake_node(tmp_path, "v22.12.0")
    assert hook.check_node() == str(tmp_path / "npm")


def test_assets_are_stale_when_missing_or_older_than_a_source(
    hook: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    web, static = tmp_path / "web", tmp_path / "static"
    (web / "src" / "pages").mkdir(parents=True)
    static.mkdir()
    monkeypatch.setattr(hook, "WEB", web)
    monkeypatch.setattr(hook, "STATIC", static)
    source = web / "src" / "pages" / "Page.tsx"
    source.write_text("export {};\n")
    (web / "package.json").write_text("{}\n")
    assert hook.ui_is_stale()  # never built

    index = static / "index.html"
    index.write_text("<!doctype html>\n")
    os.utime(source, (1_000, 1_000))
    os.utime(web / "package.json", (1_000, 1_000))
    os.utime(index, (2_000, 2_000))
    assert not hook.ui_is_stale()

    os.utime(source, (3_000, 3_000))  # a page edited after the build
    assert hook.ui_is_stale()
    os.utime(source, (1_000, 1_000))
    os.utime(web / "package.json", (3_000, 3_000))  # a dependency changed
    assert hook.ui_is_stale()


def test_sdist_inputs_name_the_ui_sources_and_the_hook(hook: ModuleType) -> None:
    names = {str(p.relative_to(hook.ROOT)) for p in hook.ui_sources()}
    assert {"web/index.html", "web/package-lock.json", "web/vite.config.ts"} <= names
    assert "web/src/App.tsx" in names
    assert not any("node_modules" in n for n in names)
