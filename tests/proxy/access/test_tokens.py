"""``access.tokens`` and ``access.sessions``: token checks, token files, signed sessions."""

from __future__ import annotations

from pathlib import Path

import pytest
from wiretrace_proxy.access.sessions import Sessions
from wiretrace_proxy.access.tokens import TokenSet, parse_token, read_token_file
from wiretrace_proxy.errors import ConfigError

OLD = "old-token-0123456789abcdef"
NEW = "new-token-fedcba9876543210"


def test_a_token_matches_only_itself() -> None:
    tokens = TokenSet.of([OLD, NEW], [OLD])
    assert tokens.tokens == (OLD, NEW)  # each once, in order
    assert tokens.match(OLD) == OLD and tokens.match(NEW) == NEW
    for wrong in ("", OLD[:-1], OLD + "x", OLD.upper(), "ünïcode-token-0123456789"):
        assert tokens.match(wrong) is None
    assert not TokenSet() and TokenSet().match(OLD) is None


def test_tokens_are_long_printable_and_commaless() -> None:
    assert parse_token(f"  {NEW} ") == NEW
    with pytest.raises(ValueError, match="at least 16 characters"):
        parse_token("short")
    for bad in ("has space in the token", "comma,in,the,token,value", "tab\tin-the-token-value"):
        with pytest.raises(ValueError, match="printable ASCII"):
            parse_token(bad)


def test_a_token_file_holds_one_token_a_line(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"# rotated 2026-01\n{OLD}\n\n  {NEW}  \n")
    assert read_token_file(str(path)) == (OLD, NEW)
    path.write_text("# nothing yet\n")
    with pytest.raises(ConfigError, match="holds no token"):
        read_token_file(str(path))
    path.write_text("short\n")
    with pytest.raises(ConfigError, match="at least 16"):
        read_token_file(str(path))
    with pytest.raises(ConfigError, match="cannot read token file"):
        read_token_file(str(tmp_path / "missing"))


def test_a_session_holds_no_token_and_ends_with_its_token() -> None:
    both = Sessions(TokenSet((OLD, NEW)))
    value = both.issue(OLD)
    assert OLD not in value and both.valid(value)
    assert both.issue(OLD) != value  # every sign-in gets its own value
    assert not both.valid(value[:-2] + "xx")  # tampered signature
    assert not both.valid("not-a-session")
    assert Sessions(TokenSet((OLD,))).valid(value)
    assert not Sessions(TokenSet((NEW,))).valid(value)  # OLD removed: its sessions end
    assert not both.valid(value, max_age=-1)  # expired
