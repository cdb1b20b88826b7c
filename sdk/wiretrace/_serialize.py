"""Turn any Python value into JSON-ready data, without ever raising.

Why: an op's inputs and output are recorded from the user's own values, which can be
anything: pydantic models, numpy arrays, open files, objects whose ``__repr__`` raises,
self-referencing lists. Recording must never break the call it records, so ``serialize``
catches everything and degrades to a short description.

Rules, in order:

- ``None``, ``bool``, ``int``, ``str`` as is; non-finite floats become ``"NaN"``,
  ``"Infinity"``, ``"-Infinity"`` (JSON has no such numbers).
- Strings longer than ``MAX_STRING`` characters are cut, ending in ``"…[truncated N chars]"``.
- dicts keep at most ``MAX_ITEMS`` keys (then ``"…": "[N more keys]"``); lists, tuples,
  sets (sorted when possible, so digests are stable) and other iterables-by-type keep
  ``MAX_ITEMS`` items (then ``"…[N more items]"``).
- Enums give their value; datetimes, dates and times their ISO 8601 form; UUIDs, decimals
  and paths their string.
- Dataclasses become a dict of their fields; pydantic models (duck-typed ``model_dump``, no
  pydantic import) what ``model_dump(mode="json")`` gives.
- ``bytes`` become ``{"_type": "bytes", "len": N, "preview": "..."}``; numpy arrays (duck
  typed) ``{"_type": "ndarray", "shape": [...], "dtype": "...", "values"?: [...]}`` with values
  only for small arrays.
- A container met again while inside itself becomes ``"<cycle: list>"``; nesting deeper
  than ``MAX_DEPTH`` becomes ``"<max depth: T>"``; anything else its (cut) ``repr``.

Optional types (enum, datetime, uuid, ...) are looked up in ``sys.modules`` rather than
imported: if a module was never imported, no value of its types can exist.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeAlias

    JSON: TypeAlias = None | bool | int | float | str | list["JSON"] | dict[str, "JSON"]

__all__ = [
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_STRING",
    "serialize",
    "summarize_self",
    "truncate",
    "type_name",
]

MAX_STRING = 10_000
"""Characters kept of one string."""
MAX_ITEMS = 1_000
"""Items kept of one collection."""
MAX_DEPTH = 20
"""Nesting levels followed."""
SMALL_ARRAY = 32
"""Arrays with at most this many elements also carry their values."""

_PRIMITIVES = (type(None), bool, int)
_SEQUENCES = (list, tuple)
_SETS = (set, frozenset)
_BYTES = (bytes, bytearray, memoryview)
_STRINGISH = {"datetime", "date", "time", "UUID", "Decimal", "PosixPath", "WindowsPath"}
_STRINGISH_MODULES = {"datetime", "uuid", "decimal", "pathlib"}


def type_name(kind: type) -> str:
    """``Outer.Inner``, without the ``f.<locals>.`` part of classes defined in functions."""
    return kind.__qualname__.rpartition("<locals>.")[2]


def truncate(text: str, limit: int = MAX_STRING) -> str:
    """Cut ``text`` to ``limit`` characters with a visible marker."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[truncated {len(text) - limit} chars]"


def serialize(value: object) -> JSON:
    """JSON-ready copy of ``value``; never raises."""
    try:
        return _convert(value, 0, set())
    except Exception:  # fail-open boundary: recording never breaks the call
        return _describe(value)


def summarize_self(value: object) -> str:
    """How a method's ``self`` (or ``cls``) is recorded: its class, never its contents."""
    if isinstance(value, type):
        return f"<class {type_name(value)}>"
    return f"<{type_name(type(value))}>"


def _describe(value: object) -> str:
    try:
        return truncate(repr(value), 1_000)
    except Exception:
        return f"<unrepresentable {type_name(type(value))}>"


def _float(value: float) -> JSON:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _convert(value: object, depth: int, path: set[int]) -> JSON:
    kind = type(value)
    if kind is str:
        return value if len(value) <= MAX_STRING else truncate(value)  # type: ignore[arg-type,return-value]
    if kind in _PRIMITIVES:
        return value  # type: ignore[return-value]
    if kind is float:
        return value if value - value == 0 else _float(value)  # type: ignore[operator,return-value,arg-type]
    if depth >= MAX_DEPTH:
        return f"<max depth: {type_name(kind)}>"
    if kind is dict or kind in _SEQUENCES or kind in _SETS:
        return _container(value, depth, path)
    return _special(value, depth, path)


def _container(value: object, depth: int, path: set[int]) -> JSON:
    ident = id(value)
    if ident in path:
        return f"<cycle: {type_name(type(value))}>"
    path.add(ident)
    try:
        if isinstance(value, dict):
            return _mapping(value, depth + 1, path)
        items = list(value) if isinstance(value, _SETS) else value
        if isinstance(value, _SETS):
            items = _sorted(items)  # type: ignore[arg-type]
        assert isinstance(items, list | tuple)
        depth += 1
        if len(items) <= MAX_ITEMS:
            return [_convert(item, depth, path) for item in items]
        out: list[JSON] = [_convert(item, depth, path) for item in items[:MAX_ITEMS]]
        out.append(f"…[{len(items) - MAX_ITEMS} more items]")
        return out
    finally:
        path.discard(ident)


def _sorted(items: list[object]) -> list[object]:
    try:
        return sorted(items)  # type: ignore[type-var]
    except Exception:
        return sorted(items, key=_describe)


def _mapping(value: dict[object, object], depth: int, path: set[int]) -> JSON:
    out: dict[str, JSON] = {}
    for key, item in value.items():
        if len(out) == MAX_ITEMS:
            out["…"] = f"[{len(value) - MAX_ITEMS} more keys]"
            break
        if type(key) is not str or len(key) > 1_000:
            key = truncate(key if isinstance(key, str) else _key(key), 1_000)
        out[key] = _convert(item, depth, path)
    return out


def _key(key: object) -> str:
    converted = serialize(key)
    return converted if isinstance(converted, str) else _describe(key)


def _special(value: object, depth: int, path: set[int]) -> JSON:
    """Everything that is not a plain JSON type or a builtin container."""
    enum = sys.modules.get("enum")
    if enum is not None and isinstance(value, enum.Enum):
        return _convert(value.value, depth + 1, path)
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, float):
        return _float(float(value))
    if isinstance(value, str):
        return truncate(str(value))
    if isinstance(value, _BYTES):
        return _bytes(value)
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return _container(value._asdict(), depth, path)  # a namedtuple: keep the names
    if isinstance(value, dict | list | tuple | set | frozenset):
        return _container(value, depth, path)
    kind = type(value)
    if kind.__name__ in _STRINGISH and kind.__module__.split(".")[0] in _STRINGISH_MODULES:
        if kind.__module__ == "datetime":
            return str(value.isoformat())  # type: ignore[attr-defined]
        return truncate(str(value))
    if hasattr(kind, "__dataclass_fields__") and not isinstance(value, type):
        return _dataclass(value, depth, path)
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return _pydantic(value, dump, depth, path)
    if kind.__module__.split(".")[0] == "numpy" and hasattr(value, "dtype"):
        return _numpy(value, depth, path)
    return _describe(value)


def _bytes(value: bytes | bytearray | memoryview) -> JSON:
    data = bytes(value[:32])
    return {"_type": type(value).__name__, "len": len(value), "preview": repr(data)}


def _dataclass(value: object, depth: int, path: set[int]) -> JSON:
    ident = id(value)
    if ident in path:
        return f"<cycle: {type_name(type(value))}>"
    path.add(ident)
    try:
        fields = type(value).__dataclass_fields__  # type: ignore[attr-defined]
        return {
            name: _convert(getattr(value, name, None), depth + 1, path)
            for name in list(fields)[:MAX_ITEMS]
        }
    finally:
        path.discard(ident)


def _pydantic(value: object, dump: object, depth: int, path: set[int]) -> JSON:
    try:
        data = dump(mode="json")  # type: ignore[operator]
    except Exception:
        try:
            data = dump()  # type: ignore[operator]
        except Exception:
            return _describe(value)
    return _convert(data, depth + 1, path)


def _numpy(value: object, depth: int, path: set[int]) -> JSON:
    shape = getattr(value, "shape", None)
    if shape == () and hasattr(value, "item"):
        return _convert(value.item(), depth + 1, path)  # numpy scalar
    if not isinstance(shape, tuple):
        return _describe(value)
    summary: dict[str, JSON] = {
        "_type": "ndarray",
        "shape": [int(n) for n in shape],
        "dtype": str(getattr(value, "dtype", "?")),
    }
    size = getattr(value, "size", SMALL_ARRAY + 1)
    if isinstance(size, int) and size <= SMALL_ARRAY and hasattr(value, "tolist"):
        summary["values"] = _convert(value.tolist(), depth + 1, path)
    return summary
