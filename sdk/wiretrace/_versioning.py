"""Versions: what code (and which configuration) produced a span.

Why digests of source: a prompt tweak or a changed retrieval step should show as a new
version of the op without the user naming versions. An op's version is the sha256 (first
16 hex characters) of its dedented source, decorators included; where no source can be
found (``exec``, the REPL, a C callable) the digest falls back to the code object's
bytecode, constants and names, and ``source`` is empty. Editing the body makes a new
version; re-running unchanged code keeps it. Closed-over variables and globals are not part
of the version: the values an op actually received are in its inputs.

A ``Model``'s version is the digest of its attribute values (serialised) and of the source
of every method its class and bases (up to ``Model``) define.

Everything here is computed lazily, once per op or class, and only when ``init()`` was
called, so decorating a function costs nothing at import time.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re

from . import _serialize

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._serialize import JSON

__all__ = [
    "class_sources",
    "digest",
    "display_qualname",
    "model_version",
    "op_version",
    "source_of",
]


def digest(data: bytes) -> str:
    """sha256, first 16 hex characters."""
    return hashlib.sha256(data).hexdigest()[:16]


def display_qualname(qualname: str) -> str:
    """``outer.<locals>.inner`` -> ``outer.inner``: readable names for closures."""
    return qualname.replace(".<locals>", "")


def _target(fn: object) -> object:
    """The function whose code defines ``fn``: through partials and ``__wrapped__``."""
    seen = 0
    while seen < 100:
        seen += 1
        if isinstance(fn, functools.partial):
            fn = fn.func
            continue
        inner = getattr(fn, "__wrapped__", None)
        if inner is None:
            break
        fn = inner
    if not hasattr(fn, "__code__") and not isinstance(fn, type) and callable(fn):
        return type(fn)  # a callable instance: its class is its code
    return fn


def source_of(fn: object) -> str:
    """Dedented source of ``fn``, or ``""`` when Python cannot find it."""
    import inspect
    import textwrap

    try:
        return textwrap.dedent(inspect.getsource(fn))  # type: ignore[arg-type]
    except Exception:  # OSError, TypeError, and anything a broken loader raises
        return ""


def _code_bytes(fn: object) -> bytes:
    code = getattr(fn, "__code__", None)
    if code is None:
        return repr(fn).encode("utf-8", "replace")
    parts = [code.co_code, repr(code.co_consts).encode(), repr(code.co_names).encode()]
    return b"\0".join(parts)


def op_version(fn: object) -> dict[str, str]:
    """``{"digest", "source", "module", "qualname"}`` of the code ``fn`` runs."""
    target = _target(fn)
    source = source_of(target)
    data = source.encode("utf-8") if source else _code_bytes(target)
    qualname = getattr(target, "__qualname__", type(target).__qualname__)
    return {
        "digest": digest(data),
        "source": source,
        "module": str(getattr(target, "__module__", None) or ""),
        "qualname": display_qualname(str(qualname)),
    }


_class_cache: dict[type, tuple[dict[str, str], str]] = {}
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
"""``<Foo object at 0x7f..>`` differs per run; the version must not."""


def _method_functions(cls: type, stop: type) -> dict[str, object]:
    found: dict[str, object] = {}
    for klass in reversed(cls.__mro__):
        if klass is stop or klass is object or not issubclass(klass, stop):
            continue
        prefix = klass.__qualname__ + "."
        for name, value in vars(klass).items():
            inner = getattr(value, "__func__", None) or getattr(value, "fget", None) or value
            target = _target(inner)
            code = getattr(target, "__code__", None)
            # Only functions written in the class body: generated dataclass methods have a
            # "<string>" file, and Python 3.13's ``__replace__`` is dataclasses' own function.
            defined_here = getattr(target, "__qualname__", "").startswith(prefix)
            if code is not None and defined_here and not code.co_filename.startswith("<"):
                found[name] = inner
    return found


def class_sources(cls: type, stop: type) -> tuple[dict[str, str], str]:
    """``{method: source}`` for methods ``cls`` and its bases below ``stop`` define, digested."""
    cached = _class_cache.get(cls)
    if cached is None:
        functions = _method_functions(cls, stop)
        sources = {name: source_of(_target(fn)) for name, fn in sorted(functions.items())}
        cached = (sources, digest(json.dumps(sources, sort_keys=True).encode()))
        _class_cache[cls] = cached
    return cached


def model_version(instance: object, stop: type) -> dict[str, JSON]:
    """``{"name", "digest", "attributes", "source"}`` of a ``Model`` instance, as it is now."""
    cls = type(instance)
    fields = getattr(cls, "__dataclass_fields__", {})
    attributes: dict[str, JSON] = {
        name: _serialize.serialize(getattr(instance, name, None)) for name in fields
    }
    sources, sources_digest = class_sources(cls, stop)
    key = sources_digest + json.dumps(attributes, sort_keys=True)
    source_json: dict[str, JSON] = dict(sources)
    return {
        "name": display_qualname(cls.__qualname__),
        "digest": _model_digest(key),
        "attributes": attributes,
        "source": source_json,
    }


@functools.lru_cache(maxsize=1024)
def _model_digest(key: str) -> str:
    return digest(_ADDRESS.sub("", key).encode("utf-8", "surrogatepass"))
