"""``signin.safe_next``: the sign-in form sends the browser only to a path of this server."""

from __future__ import annotations

import pytest
from wiretrace_proxy.access.signin import safe_next


@pytest.mark.parametrize("path", ["/", "/traces/abc", "/calls/1?tab=raw&x=%2F", "/compare#top"])
def test_paths_of_this_server_are_kept(path: str) -> None:
    assert safe_next(path) == path


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "javascript:alert(1)",
        "traces/abc",
        "/signin?next=/",
        "/signout",
    ],
)
def test_anything_else_becomes_the_home_page(value: str | None) -> None:
    assert safe_next(value) == "/"
