"""``--proxy-token``: let only apps that know a token call ``/v1`` through this server.

Off by default: apps authenticate to the upstream with their own key, which the proxy only
forwards. A team server that spends a shared upstream quota (a local model, a gateway that
trusts the network) can ask for a token of its own, in the ``Wiretrace-Token`` header
(``default_headers={"Wiretrace-Token": ...}`` in the ``openai`` SDK). Like every
``Wiretrace-*`` header it is read here and never forwarded (``forward/headers.py``), and
never recorded: the capture keeps only the headers it forwards. A refused call is answered
401 in OpenAI's error shape and not recorded. Intercept mode's calls are not asked for it:
``--intercept-token`` guards that proxy.
"""

from __future__ import annotations

from aiohttp import web

from wiretrace_proxy.access.replies import is_reverse_proxy_request, refuse
from wiretrace_proxy.access.state import ACCESS

__all__ = ["HEADER", "missing_proxy_token"]

HEADER = "Wiretrace-Token"


def missing_proxy_token(request: web.Request) -> web.StreamResponse | None:
    """The 401 for an app's call without the proxy token; None if it may go on."""
    tokens = request.app[ACCESS].proxy_tokens
    if not tokens or not is_reverse_proxy_request(request):  # intercept mode has its own
        return None
    given = request.headers.get(HEADER)
    if given is not None and tokens.match(given.strip()) is not None:
        return None
    what = "is not one this proxy accepts" if given else "is missing"
    return refuse(
        request,
        401,
        "invalid_wiretrace_token",
        f"the {HEADER} header {what}: this wiretrace proxy takes calls only with the token "
        "it was started with (--proxy-token)",
    )
