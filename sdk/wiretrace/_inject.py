"""Route OpenAI requests through the proxy and tag them with the current span.

Where: the ``send`` method of ``httpx2.Client`` and ``httpx2.AsyncClient`` (the httpx fork
the installed ``openai`` uses; every request of an OpenAI client goes through
``self._client.send(request)``), and of plain ``httpx`` too when it is importable (older
``openai`` releases, or clients passed as ``http_client=httpx.Client()``).

Why ``send`` on the class: patching the class reaches clients created before ``init()``,
clients with a custom ``http_client`` (any subclass of ``Client``, any transport, including
openai's aiohttp client), and it runs before httpx picks a transport for the URL, so proxy
environment variables and mounts see the rewritten URL. It runs in the caller's thread and
context (for the async client, inside the caller's task), so ``current_span()`` there is
the op that made the call. Nothing the app holds is wrapped or replaced: not the client,
not the response, not the ``Stream``. The original methods are kept and ``uninstall()``
puts them back, unless another library wrapped the method after us: then its wrapper stays
and ours, inside its chain, only passes requests through.

What it changes, per request:

- URL ``https://api.openai.com/<path>`` becomes ``{url}/<path>`` (the proxy; ``<path>``
  starts with ``/v1``), with the ``Host`` header to match.
- A request that goes to the proxy (rewritten, or already aimed at ``{url}/v1``; loopback
  names are treated as one host) gets ``traceparent`` (when there is a current span or a
  ``TRACEPARENT`` parent, and the app did not set one), ``Wiretrace-Project`` (when a
  project was given), and ``Wiretrace-Eval-Run``/``Wiretrace-Eval-Row`` while an
  evaluation row's model runs (``_context.EVAL_ROW``).
- Anything else, including clients configured for another provider (Azure, a local model
  server, ...), is left untouched: the proxy has a single upstream, and sending another
  provider's key to it would be wrong.

Fail open (``_fallback``): a rewritten request that cannot connect to the proxy is put back
as the app built it (URL, ``Host``, no added headers) and sent again to its original URL;
while the proxy is down, OpenAI requests are not rewritten at all, until a background
re-check finds it answering. A request the app itself aimed at the proxy is the app's
choice: its errors reach the app as they are.

Import order: if ``httpx2``/``httpx`` is not imported yet at ``init()``, a ``sys.meta_path``
finder patches it as soon as it is (so ``init()`` then ``import openai`` works) without
importing it early; the finder leaves ``sys.meta_path`` once both modules are patched. The
exporter uses ``urllib``, so its own requests are never touched.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading

from . import _context, _fallback

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import ModuleType
    from typing import Any

__all__ = [
    "OPENAI_HOST",
    "OPENAI_PORT",
    "OPENAI_SCHEME",
    "install",
    "installed",
    "prepare_request",
    "routing",
    "uninstall",
]

log = logging.getLogger(__name__)

OPENAI_HOST = "api.openai.com"
OPENAI_SCHEME = "https"
OPENAI_PORT: int | None = None
"""The origin rewritten to the proxy (``None``: the scheme's default port). Tests point it
at a local fake standing in for OpenAI."""
MODULES = ("httpx2", "httpx")
"""Modules whose ``Client.send`` and ``AsyncClient.send`` are patched."""
_METHOD = "send"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Target:
    """The proxy: where rewritten requests go and how to recognise requests already there."""

    __slots__ = ("base", "health", "host", "netloc", "prefix", "project", "port", "scheme")

    def __init__(self, url: str, project: str | None, health: _fallback.Health | None) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.host = (parts.hostname or "").lower()
        self.port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 80)
        self.netloc = parts.netloc
        self.prefix = parts.path.rstrip("/")
        self.base = f"{parts.scheme}://{parts.netloc}{self.prefix}"
        self.project = project
        if health is None or health.base != self.base:
            health = _fallback.Health(self.base)
        self.health = health
        """Whether the proxy is down; kept when ``init()`` is called again with the same URL."""

    def matches(self, url: Any) -> bool:
        host = str(url.host).lower()
        if host != self.host and not (host in _LOOPBACK and self.host in _LOOPBACK):
            return False
        port = url.port or _DEFAULT_PORTS.get(url.scheme, 80)
        return bool(
            url.scheme == self.scheme
            and port == self.port
            and str(url.path).startswith(self.prefix + "/v1")
        )


class _Patch:
    """One patched method: where it is, what it replaced, and whether it still reroutes."""

    __slots__ = ("active", "connect_errors", "original", "owner", "wrapper")

    def __init__(
        self, owner: type, original: Any, connect_errors: tuple[type[Exception], ...]
    ) -> None:
        self.owner = owner
        self.original = original
        self.connect_errors = connect_errors
        """The module's ``ConnectError`` and ``ConnectTimeout``: what may mean "never sent"."""
        self.active = True
        self.wrapper: object = None


class _Rewrite:
    """What ``prepare_request`` changed on a request, to undo before sending it direct."""

    __slots__ = ("added", "health", "host", "url")

    def __init__(self, url: Any, host: str | None, health: _fallback.Health) -> None:
        self.url = url
        self.host = host
        self.health = health
        self.added: list[str] = []
        """Headers we added (``traceparent``, ``Wiretrace-Project``)."""

    def fall_back(self, request: Any, error: BaseException) -> bool:
        """If ``error`` means the proxy never got ``request``: put it back as the app built
        it, mark the proxy down, and say so (True: the caller sends it again). Never raises."""
        try:
            if not _fallback.never_sent(error, request):
                return False
            request.url = self.url
            headers = request.headers
            if self.host is None:
                headers.pop("Host", None)
            else:
                headers["Host"] = self.host
            for name in self.added:
                headers.pop(name, None)
            self.health.unreachable(error)
            return True
        except Exception:  # fail-open: the app gets the error it would have got anyway
            log.debug("wiretrace: could not send a request direct", exc_info=True)
            return False


_target: _Target | None = None
_patches: list[_Patch] = []
_patched_modules: set[str] = set()
"""Names in ``MODULES`` whose classes were patched since ``install()``; the finder goes when
all are."""
_finder: _PostImportFinder | None = None
_lock = threading.RLock()


def install(url: str, project: str | None, quiet: bool = False) -> None:
    """Patch the HTTP clients (now, or when imported) to route and tag OpenAI requests.

    Called again with the same URL, the proxy's known state (down or not) is kept.
    """
    global _target
    with _lock:
        previous = _target
        _target = _Target(url, project, previous.health if previous is not None else None)
        if previous is not None and previous.health is not _target.health:
            previous.health.close()
        _target.health.quiet = quiet
        for name in MODULES:
            module = sys.modules.get(name)
            if module is not None:
                patch_module(module)
        _update_finder()


def uninstall() -> None:
    """Undo ``install()``: put back each method still ours, disarm the others.

    A method someone else wrapped after us (an APM's httpx integration, say) is left in
    place, since restoring ours would silently remove their wrapper; our wrapper inside their
    chain becomes a plain pass-through, so their chain keeps working and nothing is rerouted.
    """
    global _target
    with _lock:
        if _target is not None:
            _target.health.close()
        _target = None
        _fallback.reset_counts()
        covered: list[str] = []
        while _patches:
            patch = _patches.pop()
            patch.active = False
            if vars(patch.owner).get(_METHOD) is patch.wrapper:
                setattr(patch.owner, _METHOD, patch.original)
            else:
                covered.append(f"{patch.owner.__module__}.{patch.owner.__qualname__}")
        if covered:
            log.debug(
                "wiretrace: %s.%s wrapped again by another library; left in place, ours "
                "now passes requests through unchanged",
                " and ".join(reversed(covered)),
                _METHOD,
            )
        _patched_modules.clear()
        _update_finder()


def installed() -> bool:
    """Whether any client class is patched right now."""
    return bool(_patches)


def routing() -> bool:
    """Whether OpenAI requests are sent through the proxy now (not before ``init()``, not
    while the proxy is unreachable)."""
    target = _target
    return target is not None and not target.health.down


def patch_module(module: ModuleType) -> None:
    """Patch ``Client.send`` and ``AsyncClient.send`` of an httpx-like module, once."""
    with _lock:
        for class_name, is_async in (("Client", False), ("AsyncClient", True)):
            owner = getattr(module, class_name, None)
            original = vars(owner).get(_METHOD) if isinstance(owner, type) else None
            if original is None or any(patch.owner is owner for patch in _patches):
                continue
            assert isinstance(owner, type)
            patch = _Patch(owner, original, _connect_errors(module))
            patch.wrapper = _async_send(patch) if is_async else _sync_send(patch)
            setattr(owner, _METHOD, patch.wrapper)
            _patches.append(patch)
        if module.__name__ in MODULES:
            _patched_modules.add(module.__name__)


def _connect_errors(module: ModuleType) -> tuple[type[Exception], ...]:
    found: list[type[Exception]] = []
    for name in ("ConnectError", "ConnectTimeout"):
        kind = getattr(module, name, None)
        if isinstance(kind, type) and issubclass(kind, Exception):
            found.append(kind)
    return tuple(found)


def _update_finder() -> None:
    """Keep the import hook while installed and some module in ``MODULES`` is unpatched."""
    global _finder
    with _lock:
        wanted = _target is not None and not _patched_modules.issuperset(MODULES)
        if wanted and _finder is None:
            _finder = _PostImportFinder()
            sys.meta_path.insert(0, _finder)
        elif not wanted and _finder is not None:
            if _finder in sys.meta_path:
                sys.meta_path.remove(_finder)
            _finder = None


def _sync_send(patch: _Patch) -> Any:
    original = patch.original

    @functools.wraps(original)
    def send(self: object, request: Any, *args: object, **kwargs: object) -> object:
        rewrite = prepare_request(request) if patch.active else None
        if rewrite is not None:
            try:
                return original(self, request, *args, **kwargs)
            except patch.connect_errors as error:
                if not rewrite.fall_back(request, error):
                    raise
        # Sent again outside the ``except``: a failure of the direct call reaches the app as
        # it would without wiretrace, not chained to the proxy's connect error.
        return original(self, request, *args, **kwargs)

    return send


def _async_send(patch: _Patch) -> Any:
    original = patch.original

    @functools.wraps(original)
    async def send(self: object, request: Any, *args: object, **kwargs: object) -> object:
        rewrite = prepare_request(request) if patch.active else None
        if rewrite is not None:
            try:
                return await original(self, request, *args, **kwargs)
            except patch.connect_errors as error:
                if not rewrite.fall_back(request, error):
                    raise
        return await original(self, request, *args, **kwargs)

    return send


def prepare_request(request: Any) -> _Rewrite | None:
    """Rewrite an OpenAI request to the proxy and add headers; never raises.

    Returns what it changed when it rewrote the URL (so the request can go direct if the
    proxy cannot be reached), else None. While the proxy is down it changes nothing.
    """
    target = _target
    if target is None:
        return None
    rewrite: _Rewrite | None = None
    try:
        url = request.url
        headers = request.headers
        if url.host == OPENAI_HOST and url.scheme == OPENAI_SCHEME and url.port == OPENAI_PORT:
            health = target.health
            if health.down:  # the one question a down proxy adds to the request path
                health.went_direct()
                return None
            rewrite = _Rewrite(url, headers.get("Host"), health)
            raw_path = bytes(url.raw_path).decode("ascii")
            request.url = type(url)(target.base + raw_path)
            headers["Host"] = target.netloc
        elif not target.matches(url):
            return None
        if "traceparent" not in headers:
            traceparent = _context.current_traceparent()
            if traceparent is not None:
                if rewrite is not None:
                    rewrite.added.append("traceparent")
                headers["traceparent"] = traceparent
        if target.project and "wiretrace-project" not in headers:
            if rewrite is not None:
                rewrite.added.append("Wiretrace-Project")
            headers["Wiretrace-Project"] = target.project
        eval_row = _context.EVAL_ROW.get()
        if eval_row is not None and "wiretrace-eval-run" not in headers:
            if rewrite is not None:
                rewrite.added += ("Wiretrace-Eval-Run", "Wiretrace-Eval-Row")
            headers["Wiretrace-Eval-Run"], headers["Wiretrace-Eval-Row"] = eval_row
    except Exception:  # fail-open boundary: the request goes out as the app built it
        log.debug("wiretrace: could not prepare a request", exc_info=True)
    return rewrite


class _PatchingLoader:
    """Runs the real loader, then patches the module; leaves no trace on the module."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> ModuleType | None:
        result: ModuleType | None = self.loader.create_module(spec)
        return result

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        if _target is not None:
            try:
                patch_module(module)
                _update_finder()
            except Exception:  # fail-open: the module imported fine, only untraced
                log.debug("wiretrace: could not patch %s", module.__name__, exc_info=True)


class _PostImportFinder:
    """A ``sys.meta_path`` entry that only wraps the loader of ``httpx2`` and ``httpx``."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> Any:
        if fullname not in MODULES:
            return None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _PatchingLoader(spec.loader)
        return spec

    def invalidate_caches(self) -> None:
        return None
