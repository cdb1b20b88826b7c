"""The variables that send an app's HTTPS calls through the intercept proxy.

``HTTPS_PROXY`` (both spellings: curl and Go read the lower case one first) with the
token as the password, ``NO_PROXY`` for loopback, and the CA for each runtime: a bundle
(certifi's roots plus the CA) for the variables that replace the roots (Python's ``ssl``,
httpx, requests, curl) and the CA alone for Node, which adds it. ``NODE_USE_ENV_PROXY=1``
makes Node's own fetch honour the proxy variables. Never ``HTTP_PROXY``: mitmproxy
forwards plain http for any host and can decrypt none of it, so it would only add a hop.
"""

from __future__ import annotations

import shlex

from wiretrace_proxy.intercept.ca import CaFiles
from wiretrace_proxy.intercept.intercept_protocol import PROXY_USER

NO_PROXY = "localhost,127.0.0.1,::1"


def proxy_url(host: str, port: int, token: str | None) -> str:
    """``http://[wiretrace:TOKEN@]host:port``."""
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    auth = f"{PROXY_USER}:{token}@" if token else ""
    return f"http://{auth}{host}:{port}"


def variables(url: str, files: CaFiles) -> dict[str, str]:
    """Each variable an app needs, in the order ``export_lines`` prints them."""
    bundle, cert = str(files.bundle), str(files.cert)
    return {
        "HTTPS_PROXY": url,
        "https_proxy": url,
        "NO_PROXY": NO_PROXY,
        "no_proxy": NO_PROXY,
        "SSL_CERT_FILE": bundle,
        "REQUESTS_CA_BUNDLE": bundle,
        "CURL_CA_BUNDLE": bundle,
        "NODE_EXTRA_CA_CERTS": cert,
        "NODE_USE_ENV_PROXY": "1",
    }


def export_lines(values: dict[str, str]) -> list[str]:
    """``export NAME=value`` lines a POSIX shell can ``eval``."""
    return [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
