"""What the server and its mitmdump child agree on: variable names, a header, a line.

Standard library only, no imports at all: the addon loads this file as a top-level module
(mitmproxy puts a script's folder on ``sys.path``), the server as part of the package.
"""

SECRET_ENV = "WIRETRACE_CHILD_SECRET"
"""The value the server expects in ``SECRET_HEADER`` (given in the environment: not in
argv, which other local users can read)."""
TOKEN_ENV = "WIRETRACE_CHILD_TOKEN"
"""The proxy token clients must send: ``Proxy-Authorization: Basic`` of ``PROXY_USER:token``."""
READY_FD_ENV = "WIRETRACE_CHILD_READY_FD"
"""The file descriptor the addon writes ``READY`` and its address to, once it listens."""
PROXY_USER = "wiretrace"
SECRET_HEADER = "Wiretrace-Intercept-Secret"
"""Proves a request on ``ROUTE`` comes from the child (the server drops it, as every
``Wiretrace-*`` header, before forwarding)."""
READY = "wiretrace-intercept: listening on"
ROUTE = "/intercept/"
"""The server's route for decrypted requests: ``/intercept/<host[:port]><path>``."""
