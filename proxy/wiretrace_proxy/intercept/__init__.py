"""Intercept mode: an HTTPS forward proxy (``HTTPS_PROXY``) that records LLM calls.

mitmproxy runs as a child process from its own virtualenv (``install``), loads ``addon``,
decrypts only LLM API hosts (``hosts``, from ``providers``) and hands each decrypted
request to the server's ``/intercept/`` route (``forward/intercepted.py``), so the reverse
proxy's handler, capture and recorder make the record. ``child`` starts and stops the
process, ``ca`` owns its certificate authority, ``environment`` the variables an app needs.
"""
