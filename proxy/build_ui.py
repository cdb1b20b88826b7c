"""Build hook: every non-editable build of the ``wiretrace`` distribution carries the web UI.

setuptools loads this module through ``[tool.setuptools.cmdclass]`` in ``pyproject.toml``
(it sits beside the ``wiretrace_proxy`` package, not in it, so no wheel ships it). Its
``build_py`` runs the Vite build (as ``make web`` does) when ``web/`` is present and the
built assets in ``wiretrace_proxy/static`` are missing or older than a source, and lists the
UI sources (and itself) as build inputs so the sdist carries them and a wheel built from the
sdist gets the UI too. Editable installs skip it: they serve the tree, which ``make web``
keeps built. Without ``web/`` (the Docker image copies a prebuilt ``static/``) the assets
present are shipped as they are.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

from setuptools.command.build_py import build_py
from setuptools.errors import ExecError

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
STATIC = ROOT / "proxy" / "wiretrace_proxy" / "static"
WEB_FILES = ("index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts")
NODE_NEEDED = "Node.js ^20.19 or >=22.12 with npm"


def ui_sources() -> list[Path]:
    """Every file the Vite build reads (node_modules aside): what staleness is judged by."""
    files = [WEB / name for name in WEB_FILES if (WEB / name).is_file()]
    return files + sorted(p for p in (WEB / "src").rglob("*") if p.is_file())


def ui_is_stale() -> bool:
    """True when ``static/index.html`` is missing or older than a UI source."""
    index = STATIC / "index.html"
    if not index.is_file():
        return True
    newest = max((p.stat().st_mtime for p in ui_sources()), default=0.0)
    return index.stat().st_mtime < newest


def node_ok(version: str) -> bool:
    """Whether ``node --version`` output (``v20.19.1``) is one Vite 7 runs on."""
    found = re.match(r"v?(\d+)\.(\d+)", version.strip())
    if not found:
        return False
    major, minor = int(found[1]), int(found[2])
    return (major == 20 and minor >= 19) or (major == 22 and minor >= 12) or major > 22


def check_node() -> str:
    """The npm to run, or a one-line error naming the fix when Node/npm are unfit."""
    node, npm = shutil.which("node"), shutil.which(os.environ.get("NPM", "npm"))
    if node is None or npm is None:
        missing = "node" if node is None else "npm"
        raise ExecError(
            f"the web UI build needs {NODE_NEEDED}: {missing} not found; install it, retry"
        )
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    if not node_ok(version):
        raise ExecError(
            f"the web UI build needs {NODE_NEEDED}: found node {version}; upgrade, retry"
        )
    return npm


def build_ui() -> None:
    """``npm ci`` when ``web/node_modules`` is missing, then ``vite build`` into ``static/``."""
    npm = check_node()
    if not (WEB / "node_modules").is_dir():
        # --prefer-offline: the lockfile pins every package's hash, so the cache is as good.
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
            cwd=WEB,
            check=True,
        )
    subprocess.run([npm, "exec", "--", "vite", "build", "--logLevel", "warn"], cwd=WEB, check=True)
    (STATIC / "index.html").touch()  # as make web: newer than every source it was built from


class BuildPy(build_py):
    """setuptools' ``build_py`` that first makes sure the built UI is there and current."""

    def run(self) -> None:
        if not self.editable_mode:
            self.ensure_ui()
            # Assets are content-hashed: drop a previous build's copies so none lingers in
            # the wheel, and list the package data again (setuptools computes it lazily and
            # caches it; its finalize_options clears it the same way).
            shutil.rmtree(Path(self.build_lib) / "wiretrace_proxy" / "static", ignore_errors=True)
            vars(self).pop("data_files", None)
        super().run()

    def ensure_ui(self) -> None:
        if WEB.is_dir() and ui_is_stale():
            self.announce("building the web UI (vite build)", level=logging.INFO)
            try:
                build_ui()
            except subprocess.CalledProcessError as exc:
                raise ExecError(f"building the wiretrace web UI failed: {exc}") from exc
        if not (STATIC / "index.html").is_file():
            self.announce(
                "no built web UI and no web/ sources: / serves the start page", logging.WARNING
            )

    def get_source_files(self) -> list[str]:
        """The Python sources plus the UI sources and this hook, so the sdist has them."""
        extra = [Path(__file__).resolve(), *(ui_sources() if WEB.is_dir() else [])]
        python: list[str] = super().get_source_files()  # type: ignore[no-untyped-call]  # stubs
        return [*python, *(str(p.relative_to(ROOT)) for p in extra)]
