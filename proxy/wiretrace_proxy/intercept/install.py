"""Where intercept mode's mitmproxy comes from: its own virtualenv, never wiretrace's.

mitmproxy's releases pin what wiretrace's environment needs newer (``h11<=0.14`` in the
last one for Python 3.11, where openai's HTTP stack needs ``h11>=0.16``; a
``typing-extensions`` cap on 3.12 that pydantic exceeds), so it cannot share a virtualenv
with wiretrace. It runs as ``mitmdump`` from a separate one instead: ``make`` builds
``.venv-intercept`` in a checkout (``requirements.txt`` beside this file picks the release
for that Python); ``--mitmdump`` names any other.
"""

from __future__ import annotations

import shutil
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
        "intercept mode is not installed: run `make install` in a checkout, or "
        f"`python3 -m venv DIR && DIR/bin/pip install -r {REQUIREMENTS}` and pass "
        "--mitmdump DIR/bin/mitmdump"
    )


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
