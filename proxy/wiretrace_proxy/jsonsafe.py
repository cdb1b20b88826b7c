"""JSON that is always valid: non-finite numbers spelled as strings, and a depth bound.

Why: Python's ``json`` reads and writes ``NaN``, ``Infinity`` and ``-Infinity``, which JSON
does not have. Local model servers put them in logprobs and an SDK span can carry one;
stored as they are, they make SQLite's JSON functions fail ("malformed JSON") for every
filter over the table, and the API's answers unreadable to a browser. So:

- Where a value enters a record (``record/bodies.py``, ``record/spans.py``), a non-finite
  number becomes the string the SDK already sends for one (``"NaN"``, ``"Infinity"``,
  ``"-Infinity"``; Python's ``float()`` and JavaScript's ``Number()`` read each back), and
  the record says so.
- Every encoder that writes or serves JSON (``dumps``: the database's JSON columns, the
  API's answers) refuses them (``allow_nan=False``) and, as the last line, spells any that
  got through the same way: a value is never lost and never written invalid.

Reading is ``msgspec`` first (several times faster than ``json``, and it reads what
``json`` reads into equal values: big integers exactly, floats correctly rounded). What it
refuses (``NaN``/``Infinity``, a number that overflows to inf, lone surrogates, a UTF-8 byte
order mark, invalid JSON, deep nesting) goes to ``json``, which then reads it or raises
its own error, as before: ``read_json`` and ``loads``.

The walks here are iterative, so a value of any depth can be checked and spelled;
``depth_exceeds`` and ``MAX_DEPTH`` bound what SDK spans may nest.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

import msgspec

from wiretrace_proxy.callrecord import JSON

__all__ = [
    "MAX_DEPTH",
    "depth_exceeds",
    "dumps",
    "encoder",
    "finite",
    "has_nonfinite",
    "loads",
    "read_json",
    "spell",
]

MAX_DEPTH = 256
"""Levels of arrays and objects a recorded value may nest (a scalar is depth 0, ``[]`` 1).
Far above any API body or SDK span (the SDK cuts values at 20), far below the ~1000 that
Python's recursion limit lets ``json`` and recursive walks reach."""

_SPELLINGS = {"NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity"}
_BIG_EXPONENT = re.compile(rb"[eE]\+?0*[1-9][0-9]{2,}|[0-9]{309}")
"""An exponent of 100 or more, or a run of 309 digits: the only ways a JSON number literal
can overflow to inf, checked (a C scan) before paying for a Python call per float."""


_fast_decode = msgspec.json.Decoder().decode


def read_json(data: bytes | str) -> Any:
    """``json.loads(data)``, read by ``msgspec`` when it can (see the module docstring).

    Raises what ``json.loads`` raises: whatever ``msgspec`` refuses is read again by ``json``.
    """
    try:
        return _fast_decode(data)
    except (ValueError, RecursionError):  # msgspec.DecodeError, or a str it cannot encode
        return json.loads(data)


def spell(number: float) -> str:
    """``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` for a non-finite float."""
    if math.isnan(number):
        return "NaN"
    return "Infinity" if number > 0 else "-Infinity"


def loads(data: bytes | str) -> tuple[JSON, bool]:
    """``json.loads(data)`` with each ``NaN``/``Infinity``/``-Infinity`` read as its string,
    and whether there was one. Raises what ``json.loads`` raises (``RecursionError`` too).

    ``msgspec`` reads nearly every body; it refuses the constants and an overflowing
    number, so only a body it refuses is looked at again: the constants' names are looked
    for first (a C scan), and a body without one is read by the plain decoder.
    """
    try:
        return _fast_decode(data), False
    except (ValueError, RecursionError):
        pass  # NaN, inf, a lone surrogate, a BOM, invalid JSON: as ``json`` reads it
    probe = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    overflow = _BIG_EXPONENT.search(probe) is not None
    if b"NaN" not in probe and b"Infinity" not in probe and not overflow:
        return json.loads(data), False
    found: list[str] = []

    def constant(name: str) -> str:
        found.append(name)
        return _SPELLINGS[name]

    def number(text: str) -> float | str:
        value = float(text)
        if math.isfinite(value):
            return value
        found.append(text)
        return spell(value)

    # Only when an overflow is possible pay for a Python call per float (``1e999`` is inf).
    parse_float = number if overflow else None
    return json.loads(data, parse_constant=constant, parse_float=parse_float), bool(found)


def has_nonfinite(value: object) -> bool:
    """Whether a non-finite float sits anywhere in ``value`` (iterative walk)."""
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def finite(value: Any) -> tuple[Any, bool]:
    """``value`` with every non-finite float spelled (``spell``), and whether there was one.

    The value itself comes back when it has none; otherwise a copy (tuples become lists,
    as JSON has them). Iterative, so any depth is fine.
    """
    if not has_nonfinite(value):
        return value, False
    stack: list[tuple[Any, Any]] = []

    def shell(item: Any) -> Any:
        if isinstance(item, float) and not math.isfinite(item):
            return spell(item)
        if isinstance(item, dict):
            copy: dict[Any, Any] = {}
            stack.append((item, copy))
            return copy
        if isinstance(item, list | tuple):
            items: list[Any] = []
            stack.append((item, items))
            return items
        return item

    root = shell(value)
    while stack:
        source, target = stack.pop()
        if isinstance(source, dict):
            for key, item in source.items():
                target[key] = shell(item)
        else:
            target.extend(shell(item) for item in source)
    return root, True


def encoder(*, compact: bool = True, ensure_ascii: bool = True) -> Callable[[Any], str]:
    """A ``dumps`` whose JSON is always valid: non-finite numbers spelled, never ``NaN``.

    ``compact`` drops the spaces after separators (storage); the API's answers keep the
    ``json.dumps`` layout. The C encoder is built once and refuses non-finite numbers
    (``allow_nan=False``); only a value that holds one pays for a spelled copy.
    """
    separators = (",", ":") if compact else (", ", ": ")
    encode = json.JSONEncoder(
        separators=separators, allow_nan=False, ensure_ascii=ensure_ascii
    ).encode

    def dumps(value: Any) -> str:
        try:
            return encode(value)
        except ValueError:
            spelled, changed = finite(value)
            if not changed:
                raise  # not a non-finite number (a circular reference): the caller's bug
            return encode(spelled)

    return dumps


dumps = encoder(compact=False)
"""``json.dumps(value)`` as the API answers it, but always valid JSON."""


def depth_exceeds(value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests arrays and objects deeper than ``limit`` (iterative walk)."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        depth += 1
        if depth > limit:
            return True
        stack.extend((child, depth) for child in children if isinstance(child, dict | list))
    return False
