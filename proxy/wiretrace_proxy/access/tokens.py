"""Tokens that grant access: ``--auth-token`` for the API and UI, ``--proxy-token`` for ``/v1``.

Several tokens may be in force at once, so one can be rotated without a gap: add the new
one, move the clients over, remove the old one. A candidate is compared with every token in
constant time (``hmac.compare_digest``), and all of them are always compared, so neither the
time nor the order says which token, or how much of one, matched.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from wiretrace_proxy.errors import ConfigError

__all__ = ["MIN_TOKEN_LENGTH", "TokenSet", "parse_token", "parse_tokens", "read_token_file"]

MIN_TOKEN_LENGTH = 16
"""Shorter tokens are refused: a sign-in form can be tried online, so a token must be long
random text (``python -c "import secrets; print(secrets.token_urlsafe(32))"``)."""

_TOKEN = re.compile(r"[\x21-\x2b\x2d-\x7e]+")
"""Printable ASCII without space or comma (the list separator): what a header carries."""


def parse_token(value: str) -> str:
    """One token, or ``ValueError`` with a one-line reason that does not repeat it."""
    token = value.strip()
    if not _TOKEN.fullmatch(token):
        raise ValueError("a token is printable ASCII with no space or comma")
    if len(token) < MIN_TOKEN_LENGTH:
        raise ValueError(
            f"a token has at least {MIN_TOKEN_LENGTH} characters (use a long random one: "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return token


def parse_tokens(value: str) -> tuple[str, ...]:
    """A comma-separated list of tokens (one or more)."""
    parts = [part for part in value.split(",") if part.strip()]
    if not parts:
        raise ValueError("must not be empty")
    return tuple(parse_token(part) for part in parts)


def read_token_file(path: str) -> tuple[str, ...]:
    """The tokens of a file, one a line (blank lines and ``#`` comments skipped), as a
    secret manager mounts them (``/run/secrets/...``); ``ConfigError`` naming the file."""
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read token file {path}: {exc}") from None
    lines = [line.strip() for line in text.splitlines()]
    wanted = [line for line in lines if line and not line.startswith("#")]
    if not wanted:
        raise ConfigError(f"token file {path} holds no token")
    try:
        return tuple(parse_token(line) for line in wanted)
    except ValueError as exc:
        raise ConfigError(f"token file {path}: {exc}") from None


@dataclass(frozen=True, slots=True)
class TokenSet:
    """The tokens in force; empty means this kind of access is not required."""

    tokens: tuple[str, ...] = ()

    @classmethod
    def of(cls, *groups: Iterable[str]) -> TokenSet:
        """The tokens of every group, each once, in order."""
        return cls(tuple(dict.fromkeys(token for group in groups for token in group)))

    def __bool__(self) -> bool:
        return bool(self.tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    def match(self, candidate: str) -> str | None:
        """The token equal to ``candidate``, or None; every token is compared, in constant
        time each."""
        given = candidate.encode("utf-8", "surrogateescape")
        found: str | None = None
        for token in self.tokens:
            if hmac.compare_digest(given, token.encode()):
                found = token
        return found
