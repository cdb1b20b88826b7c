"""Access control and browser safety: who may use the server, and from which pages.

One middleware per rule, in this order (``wiring.install``):

1. ``hosts.check_host``: only loopback names, IP addresses and ``--public-host`` names are
   answered (DNS rebinding), on every path;
2. ``origin.check_origin``: a state change from another site's page is refused (CSRF);
3. ``auth.require_sign_in``: with ``--auth-token``, the API and UI need a bearer token or
   a session from ``/signin`` (``signin``);
4. ``proxy_token.require_proxy_token``: with ``--proxy-token``, ``/v1`` needs the
   ``Wiretrace-Token`` header.

``browser_headers`` adds the framing, sniffing and content security headers to every
answer but the proxy's, and ``binding`` is what ``wiretrace serve`` checks before it
listens (no token on a non-loopback address is refused). Nothing here runs on the
proxy's per-chunk path: each check is done once per request, before the handler.
"""
