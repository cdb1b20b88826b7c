"""The benchmark's fake OpenAI upstream (``upstream_server.py``) served over TLS.

``make bench-intercept`` compares proxies that all decrypt ``https://api.openai.com`` and
send the call on to the same local HTTPS server, so each pays the same upstream handshake
and encryption. The certificate and its key come from files (the benchmark issues them
with a trustme CA it also hands to the proxies).

Run: ``python bench/tls_upstream.py --cert C --key K --port 0`` prints ``READY <port>``.
Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys

from aiohttp import web

sys.path.insert(0, __file__.rpartition("/")[0])
from upstream_server import HOST, create_app  # noqa: E402 - this folder, put on the path above


async def serve(port: int, context: ssl.SSLContext) -> None:
    """Listen on loopback until killed; print ``READY <port>`` once bound."""
    runner = web.AppRunner(create_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port, ssl_context=context, backlog=4096)
    await site.start()
    print(f"READY {runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--cert", required=True, help="certificate chain (PEM)")
    parser.add_argument("--key", required=True, help="its private key (PEM)")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    asyncio.run(serve(args.port, context))


if __name__ == "__main__":
    main()
