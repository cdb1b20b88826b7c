"""Access control and browser safety: who may use the server, and from which pages.

One middleware (``guard``) runs the checks in this order (``wiring.install``); the first
refusal answers:

1. ``hosts.misdirected``: only loopback names, IP addresses and ``--public-host`` names
   are answered (DNS rebinding), on every path;
2. ``origin.cross_origin_refusal``: a state change from another site's page is refused
   (CSRF);
3. ``auth.sign_in_required``: with ``--auth-token``, the API and UI need a bearer token or
   a session from ``/signin`` (``signin``);
4. ``proxy_token.missing_proxy_token``: with ``--proxy-token``, ``/v1`` needs the
   ``Wiretrace-Token`` header.

``browser_headers`` adds the framing, sniffing and content security headers to every
answer but the proxy's, and ``binding`` is what ``wiretrace serve`` checks before it
listens (no token on a non-loopback address is refused). Nothing here runs on the
proxy's per-chunk path: each check is done once per request, before the handler.
"""
