"""``wiretrace intercept install`` as a user runs it: mitmproxy lands in a virtualenv of its
own in wiretrace's data directory (never wiretrace's environment, never a shared place),
that mitmdump runs and makes intercept mode's CA there, and no trust store outside the
data directory changes. A failed install says why in one line."""

from __future__ import annotations

import hashlib
import os
import ssl
import subprocess
from pathlib import Path

import certifi
import pytest

from tests.proxy.process import wiretrace_cmd


def _run(data_home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_DATA_HOME": str(data_home)}
    env.pop("WIRETRACE_MITMDUMP", None)
    return subprocess.run(
        wiretrace_cmd("intercept", *args),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _trust_stores() -> dict[str, str]:
    """SHA-256 of each CA bundle apps on this machine trust by default."""
    paths = {certifi.where(), ssl.get_default_verify_paths().openssl_cafile}
    return {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths if os.path.isfile(p)}


def _files(directory: Path) -> set[Path]:
    return {path for path in directory.rglob("*") if path.is_file()}


@pytest.mark.packaging  # a real pip install of mitmproxy: slow
def test_install_puts_mitmproxy_in_the_data_directory_only(tmp_path: Path) -> None:
    data_home = tmp_path / "data"
    trusted = _trust_stores()
    done = _run(data_home, "install", timeout=600)
    assert done.returncode == 0, done.stderr
    venv = data_home / "wiretrace" / "intercept" / "venv"
    mitmdump = Path(done.stdout.strip())
    assert mitmdump == venv / "bin" / "mitmdump"
    assert f"into {venv}" in done.stderr
    version = subprocess.run(
        [str(mitmdump), "--version"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    newer = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sys; print(sys.version_info >= (3, 12))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    expected = "12." if newer == "True" else "11."  # mitmproxy 12 needs Python 3.12+
    assert f"Mitmproxy: {expected}" in version, version
    assert _files(tmp_path) == _files(data_home)  # nothing written beside the data directory
    assert not (venv.parent / "mitmproxy-ca-cert.pem").exists()  # install makes no CA

    printed = _run(data_home, "ca", "--mitmdump", str(mitmdump)).stdout.splitlines()
    assert Path(printed[0]) == venv.parent / "mitmproxy-ca-cert.pem"
    assert printed[1].startswith("SHA-256 ")
    assert _trust_stores() == trusted  # the CA was added to no trust store


def test_a_failed_install_says_why_in_one_line(tmp_path: Path) -> None:
    data_home = tmp_path / "data"
    done = _run(data_home, "install", "--python", str(tmp_path / "no-python"))
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "no-python" in errors[0], done.stderr
    assert done.stdout == ""
    assert not (data_home / "wiretrace" / "intercept" / "venv" / "bin" / "mitmdump").exists()
