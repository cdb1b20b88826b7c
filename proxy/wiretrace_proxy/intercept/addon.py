"""The mitmproxy addon that ``wiretrace serve --intercept`` loads into its mitmdump child.

mitmdump runs from its own virtualenv (``intercept/install.py`` says why), so this file
imports only mitmproxy and the standard library, never ``wiretrace_proxy``. mitmproxy
decrypts only the LLM hosts (``allow_hosts``; every other host is a raw TCP tunnel and
never reaches this addon). Each decrypted request is sent, as it is, to the wiretrace
server's ``/intercept/<host>/<path>`` route with the server's secret: the server's own
forward handler then makes the upstream call (verifying certificates), relays the answer
chunk by chunk and records it, like any reverse-proxied call. Responses are streamed
through mitmproxy (never buffered), so a stream's chunks reach the app as they come.

Plain ``http://`` requests are left to mitmproxy (forwarded, not recorded). The child
exits when its standard input closes: the server holds the other end, so the proxy never
outlives the server, even one that was killed.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from intercept_protocol import (  # this folder: mitmproxy puts it on sys.path
    PROXY_USER,
    READY,
    READY_FD_ENV,
    ROUTE,
    SECRET_ENV,
    SECRET_HEADER,
    TOKEN_ENV,
)
from mitmproxy import ctx, http

UNUSED_ADDONS = frozenset(
    {
        "AntiCache",
        "AntiComp",
        "Browser",
        "BlockList",
        "ClientPlayback",
        "CommandHistory",
        "Comment",
        "Cut",
        "Dumper",
        "Export",
        "KeepServing",
        "MapLocal",
        "MapRemote",
        "ModifyBody",
        "ModifyHeaders",
        "Onboarding",
        "ReadFileStdin",
        "Save",
        "SaveHar",
        "ServerPlayback",
        "StickyAuth",
        "StickyCookie",
        "StripDnsHttpsRecords",
        "UpdateAltSvc",
    }
)
"""mitmdump's built-in addons this proxy never uses (their options stay at their defaults).
mitmproxy offers every event to every addon in its chain, a third of its CPU per call in a
profile; without these a mitmdump spent 15 to 25% less CPU per call. The ones left are
the proxy itself, TLS, the layer choice, proxy authorization, the client address block,
DNS and logging."""


class Forwarder:
    """Sends decrypted LLM requests to the wiretrace server, streams every response."""

    def __init__(self) -> None:
        self.secret = os.environ.get(SECRET_ENV, "")

    def load(self, loader: Any) -> None:  # mitmproxy.addonmanager.Loader
        loader.add_option("wiretrace_server", str, "", "host:port of the wiretrace server")
        _drop_unused_addons()
        token = os.environ.get(TOKEN_ENV)
        if token:  # before the proxy listens: no client is ever let in without it
            ctx.options.update(proxyauth=f"{PROXY_USER}:{token}")

    def running(self) -> None:
        addresses = ctx.master.addons.get("proxyserver").listen_addrs()
        host, port = addresses[0][:2] if addresses else ("", 0)
        ready_fd = os.environ.get(READY_FD_ENV)
        if ready_fd:
            os.write(int(ready_fd), f"{READY} {host}:{port}\n".encode())
            os.close(int(ready_fd))
        threading.Thread(target=_exit_with_parent, name="parent-watch", daemon=True).start()

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        request = flow.request
        if request.scheme != "https" or request.method == "CONNECT":
            return  # plain http: mitmproxy forwards it, nothing is recorded
        host, _, port = ctx.options.wiretrace_server.rpartition(":")
        authority = request.host if request.port == 443 else f"{request.host}:{request.port}"
        request.path = f"{ROUTE}{authority}{request.path}"
        request.scheme = "http"
        request.host = host.strip("[]")  # an IPv6 address, as mitmproxy spells hosts
        request.port = int(port)
        request.headers[SECRET_HEADER] = self.secret

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        flow.response.stream = True


def _drop_unused_addons() -> None:
    """Take ``UNUSED_ADDONS`` out of the event chain before the proxy runs: they never
    get ``running`` (nothing of theirs starts, so there is nothing to stop)."""
    manager = ctx.master.addons
    manager.chain = [a for a in manager.chain if type(a).__name__ not in UNUSED_ADDONS]


def _exit_with_parent() -> None:
    """Block on stdin (the server's pipe); at its end, stop, and exit if stopping hangs."""
    try:
        while os.read(0, 1024):  # the raw descriptor: no buffer lock held at exit
            pass
    except OSError:
        pass
    ctx.master.shutdown()
    time.sleep(5)
    os._exit(0)


addons = [Forwarder()]
