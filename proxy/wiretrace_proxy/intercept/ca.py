"""Intercept mode's certificate authority and the trust bundle apps are pointed at.

mitmproxy creates the CA (``mitmproxy-ca.pem``, certificate and key, owner-only) in
intercept mode's directory on first use, run through mitmdump's own Python so that this
process needs no cryptography package. Apps get two files: the CA alone (for variables
that add to the default roots, ``NODE_EXTRA_CA_CERTS``) and a bundle of certifi's roots
plus the CA (for variables that replace them, ``SSL_CERT_FILE``): tunnelled hosts present
their real certificates, which the CA alone would not verify.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from wiretrace_proxy.errors import ConfigError

CA_CERT = "mitmproxy-ca-cert.pem"
CA_KEY = "mitmproxy-ca.pem"
BUNDLE = "ca-bundle.pem"

_CREATE = (
    "import sys, certifi\n"
    "from mitmproxy.certs import CertStore\n"
    "CertStore.from_store(sys.argv[1], 'mitmproxy', 2048)\n"
    "print(certifi.where())\n"
)


@dataclass(frozen=True, slots=True)
class CaFiles:
    confdir: Path
    """mitmproxy's ``confdir``: the CA with its key (owner-only)."""
    cert: Path
    """The CA certificate alone (PEM)."""
    bundle: Path
    """certifi's roots and the CA (PEM)."""


def ensure_ca(confdir: Path, python: str) -> CaFiles:
    """The CA files in ``confdir``, created (with ``python``, mitmdump's) when missing."""
    confdir.mkdir(parents=True, exist_ok=True)
    os.chmod(confdir, 0o700)
    files = CaFiles(confdir, confdir / CA_CERT, confdir / BUNDLE)
    if files.cert.is_file() and (confdir / CA_KEY).is_file() and files.bundle.is_file():
        return files
    try:
        done = subprocess.run(
            [python, "-c", _CREATE, str(confdir)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"intercept mode: cannot run {python}: {exc}") from exc
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ConfigError(f"intercept mode: creating the CA in {confdir} failed: {last}")
    for name in (CA_KEY, "mitmproxy-ca.p12"):
        if (confdir / name).exists():
            os.chmod(confdir / name, 0o600)
    roots = Path(done.stdout.strip()).read_text(encoding="ascii")
    partial = files.bundle.with_suffix(".tmp")
    partial.write_text(roots.rstrip("\n") + "\n" + files.cert.read_text(encoding="ascii"))
    partial.replace(files.bundle)
    return files


def fingerprint(cert: Path) -> str:
    """SHA-256 of the certificate (DER), as colon-separated hex pairs."""
    der = ssl.PEM_cert_to_DER_cert(cert.read_text(encoding="ascii"))
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
