"""Is this exception a rate limit (HTTP 429), and how long does the server ask us to wait?

Why duck typing: ``openai.RateLimitError``, ``httpx.HTTPStatusError`` and most client
libraries' errors carry the status as ``status_code`` (or ``status``) on the exception or
on its ``response``, and the response's ``Retry-After`` header (seconds, or an HTTP date)
says when to come back. Nothing here imports a client library.
"""

from __future__ import annotations

import random

__all__ = ["MAX_BACKOFF", "backoff_seconds", "is_rate_limit", "retry_after"]

MAX_BACKOFF = 60.0
"""Longest wait before retrying a rate-limited row."""
BASE_BACKOFF = 0.5
"""First wait when the server gives no ``Retry-After``; doubled on each retry."""


def _status(obj: object) -> object:
    return getattr(obj, "status_code", None) or getattr(obj, "status", None)


def is_rate_limit(error: BaseException) -> bool:
    """True for a 429 answer: on the exception, its ``response``, or its cause."""
    seen = 0
    current: BaseException | None = error
    while current is not None and seen < 5:
        seen += 1
        if type(current).__name__ == "RateLimitError" or _status(current) == 429:
            return True
        if _status(getattr(current, "response", None)) == 429:
            return True
        current = current.__cause__
    return False


def retry_after(error: BaseException) -> float | None:
    """Seconds from the error's ``Retry-After`` header (or ``retry-after-ms``), if any."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return max(float(millis) / 1000.0, 0.0)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(float(value), 0.0)
        except ValueError:
            import email.utils
            import time

            when = email.utils.parsedate_to_datetime(str(value)).timestamp()
            return max(when - time.time(), 0.0)
    except Exception:  # a header we cannot read: fall back to our own back-off
        return None


def backoff_seconds(error: BaseException, attempt: int) -> float:
    """How long to wait before retry ``attempt`` (1, 2, ...): ``Retry-After`` when the
    server gave one, else exponential back-off with jitter; at most ``MAX_BACKOFF``."""
    asked = retry_after(error)
    if asked is not None:
        return min(asked, MAX_BACKOFF)
    return float(min(BASE_BACKOFF * 2 ** (attempt - 1) * (0.5 + random.random()), MAX_BACKOFF))
