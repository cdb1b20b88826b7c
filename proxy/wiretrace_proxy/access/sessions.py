"""The sign-in cookie: a signed, timestamped session value, never the token itself.

The value is signed with a key derived from the token the user signed in with
(``itsdangerous``' timestamped serializer, HMAC-SHA256, the key derived with the salt
below), so a session cannot be forged without a token, a cookie that leaks does not reveal
one, and removing a token from the server ends every session that was opened with it. Replicas that
share their tokens accept each other's sessions; a session ended by ``/signout`` is refused
by all of them through ``revocations``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer

from wiretrace_proxy.access.tokens import TokenSet
from wiretrace_proxy.forward.headers import SESSION_COOKIE_PREFIX

__all__ = ["COOKIE_PREFIX", "SESSION_MAX_AGE_S", "Session", "Sessions"]

SESSION_MAX_AGE_S = 7 * 24 * 3600
"""A session lasts a week, then the user signs in again."""
COOKIE_PREFIX = SESSION_COOKIE_PREFIX
"""The cookie's name, followed by the port: cookies ignore ports, so two servers on one
host would otherwise overwrite each other's session. The proxy never forwards it."""
_SALT = "wiretrace.session.v1"


@dataclass(frozen=True, slots=True)
class Session:
    """A valid session value's identity: its random id, and when its cookie expires."""

    id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Sessions:
    """Issue and check session values for the tokens in force."""

    tokens: TokenSet

    def _serializer(self, token: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(
            token, salt=_SALT, signer_kwargs={"digest_method": hashlib.sha256}
        )

    def issue(self, token: str) -> str:
        """A new session value for a user who proved they hold ``token``."""
        return str(self._serializer(token).dumps({"n": secrets.token_urlsafe(12)}))

    def check(self, value: str, max_age: int = SESSION_MAX_AGE_S) -> Session | None:
        """The session ``value`` holds if it was issued for a token still in force, less
        than ``max_age`` seconds ago; else None."""
        found: Session | None = None
        for token in self.tokens.tokens:  # every token is tried: no early answer
            try:
                payload, signed_at = self._serializer(token).loads(
                    value, max_age=max_age, return_timestamp=True
                )
            except BadSignature:  # also SignatureExpired, a subclass
                continue
            if isinstance(payload, dict) and isinstance(payload.get("n"), str):
                expires_at = signed_at.astimezone(UTC) + timedelta(seconds=max_age)
                found = Session(payload["n"], expires_at)
        return found

    def valid(self, value: str, max_age: int = SESSION_MAX_AGE_S) -> bool:
        """Whether ``value`` was issued for a token still in force, less than ``max_age``
        seconds ago (``check``, for callers that need no more)."""
        return self.check(value, max_age) is not None
