"""Where intercept mode's mitmproxy comes from: its own virtualenv, never wiretrace's.

mitmproxy's releases pin what wiretrace's environment needs newer (``h11<=0.14`` in the
last one for Python 3.11, where openai's HTTP stack needs ``h11>=0.16``; a
``typing-extensions`` cap on 3.12 that pydantic exceeds), so it cannot share a virtualenv
with wiretrace. It runs as ``mitmdump`` from a separate one instead: ``make`` builds
``.venv-intercept`` in a checkout, ``wiretrace intercept install`` one in the data
directory (``requirements.txt`` beside this file picks the release for that Python);
``--mitmdump`` names any other.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import platformdirs

from wiretrace_proxy.errors import ConfigError

REQUIREMENTS = Path(__file__).with_name("requirements.txt")
_CHECKOUT = Path(__file__).resolve().parents[3]


def intercept_dir() -> Path:
    """Intercept mode's own directory (its CA, its bundle) in the user's data directory."""
    return Path(platformdirs.user_data_dir("wiretrace", appauthor=False)) / "intercept"


def candidates() -> list[Path]:
    """Where ``find_mitmdump`` looks, in order (PATH last)."""
    found = [_CHECKOUT / ".venv-intercept" / "bin" / "mitmdump"]
    found.append(intercept_dir() / "venv" / "bin" / "mitmdump")
    on_path = shutil.which("mitmdump")
    if on_path:
        found.append(Path(on_path))
    return found


def find_mitmdump(configured: str | None) -> Path:
    """The mitmdump to run; ConfigError (one line, with the fix) when there is none."""
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise ConfigError(f"intercept mode: --mitmdump {configured}: no such file")
        return path
    for path in candidates():
        if path.is_file():
            return path
    raise ConfigError(
        "intercept mode is not installed: run `wiretrace intercept install` (or "
        "`make install` in a checkout)"
    )


PREFERRED = ("python3.13", "python3.12")
"""Interpreters tried first: mitmproxy 12 needs Python 3.12+."""


def best_python() -> str:
    """A Python 3.12+ on PATH that runs, else this one (mitmproxy 11.0.2 for 3.11)."""
    for name in PREFERRED:
        found = shutil.which(name)
        if found and subprocess.run([found, "-c", ""], capture_output=True).returncode == 0:
            return found
    return sys.executable


def install_venv(python: str, venv: Path) -> Path:
    """A virtualenv at ``venv`` with ``requirements.txt`` installed; its mitmdump.
    ``subprocess.CalledProcessError`` if a step fails (its output went to the terminal)."""
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    return venv / "bin" / "mitmdump"


def interpreter_of(mitmdump: Path) -> str:
    """The Python that runs ``mitmdump`` (its script's ``#!`` line; else its neighbour)."""
    try:
        with mitmdump.open("rb") as script:
            first = script.readline(4096)
    except OSError:
        first = b""
    if first.startswith(b"#!"):
        command = first[2:].decode(errors="replace").strip().split()
        if command and Path(command[0]).name.startswith("python"):
            return command[0]
    return str(mitmdump.with_name("python"))
