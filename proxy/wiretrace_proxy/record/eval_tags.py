"""The evaluation tags of a proxied call: which run, row and trial it was made for.

An evaluation client (the SDK, or anything that can set a header) sends
``Wiretrace-Eval-Run: <run id>`` and ``Wiretrace-Eval-Row: <row_index>`` or
``<row_index>:<trial>`` with every call made while a row's model runs. The record keeps
them as ``attributes["eval_run"]``, ``["eval_row"]`` and ``["eval_trial"]`` (integers), and
the run's rows read their tokens, cost and call ids from the calls tagged so
(``storage/eval_calls.py``). A row header that is not one or two non-negative integers is
kept as sent under ``eval_row_invalid`` rather than guessed at.
"""

from __future__ import annotations

from wiretrace_proxy.callrecord import JSONObject

__all__ = ["eval_attributes", "parse_eval_row"]

_MAX_DIGITS = 12
"""Longer numbers are refused: an index that large is a bug, and ints must fit a column."""


def parse_eval_row(value: str) -> tuple[int, int] | None:
    """``(row_index, trial)`` from ``"7"`` (trial 0) or ``"7:2"``; None if malformed."""
    parts = value.strip().split(":")
    if len(parts) > 2 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    if any(len(p) > _MAX_DIGITS for p in parts):
        return None
    row = int(parts[0])
    trial = int(parts[1]) if len(parts) == 2 else 0
    return row, trial


def eval_attributes(run: str | None, row: str | None) -> JSONObject:
    """The attributes a record gets from the two headers (empty when neither was sent)."""
    attributes: JSONObject = {}
    if run is not None:
        attributes["eval_run"] = run.strip()
    if row is not None:
        parsed = parse_eval_row(row)
        if parsed is None:
            attributes["eval_row_invalid"] = row
        else:
            attributes["eval_row"], attributes["eval_trial"] = parsed
    return attributes
