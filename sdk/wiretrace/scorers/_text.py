"""Scorers on text: exact match, containment, a regular expression, fuzzy similarity."""

from __future__ import annotations

import re
from typing import Any

from wiretrace._op import op
from wiretrace._scorer import Scorer

from ._optional import require

__all__ = ["Contains", "ExactMatch", "Regex", "StringSimilarity"]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


class ExactMatch(Scorer):
    """``output == target`` (after ``strip``; ignoring case unless ``case_sensitive``)."""

    strip: bool = True
    case_sensitive: bool = True

    @op
    def score(self, *, output: Any, target: Any) -> bool:
        got, want = _text(output), _text(target)
        if self.strip:
            got, want = got.strip(), want.strip()
        if not self.case_sensitive:
            got, want = got.casefold(), want.casefold()
        return got == want


class Contains(Scorer):
    """``target`` appears in ``output`` (ignoring case unless ``case_sensitive``)."""

    case_sensitive: bool = False

    @op
    def score(self, *, output: Any, target: Any) -> bool:
        got, want = _text(output), _text(target)
        if not self.case_sensitive:
            got, want = got.casefold(), want.casefold()
        return want in got


class Regex(Scorer):
    """``pattern`` matches somewhere in ``output`` (``re.search``)."""

    pattern: str
    flags: int = 0

    @op
    def score(self, *, output: Any) -> bool:
        return re.search(self.pattern, _text(output), self.flags) is not None


class StringSimilarity(Scorer):
    """Fuzzy similarity of ``output`` and ``target`` in [0, 1] (rapidfuzz's ``fuzz.<method>``:
    ``ratio``, ``partial_ratio``, ``token_sort_ratio``, ``token_set_ratio``, ...)."""

    method: str = "ratio"

    def ready(self) -> None:
        require("rapidfuzz.fuzz", "StringSimilarity", "rapidfuzz")

    @op
    def score(self, *, output: Any, target: Any) -> float:
        fuzz = require("rapidfuzz.fuzz", "StringSimilarity", "rapidfuzz")
        return float(getattr(fuzz, self.method)(_text(output), _text(target))) / 100.0
