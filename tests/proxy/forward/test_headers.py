"""headers.split_request_headers / filter_response_headers.

Which headers go upstream, which the proxy keeps for itself, which come back to the client:
``docs/architecture.md``, "The contract" (headers).
"""

from __future__ import annotations

from wiretrace_proxy.forward.headers import filter_response_headers, split_request_headers


def test_wiretrace_and_hop_by_hop_headers_are_not_forwarded() -> None:
    forward, meta = split_request_headers(
        [
            ("Host", "127.0.0.1:8787"),
            ("Authorization", "Bearer sk-x"),
            ("Connection", "keep-alive, X-Private"),
            ("X-Private", "per-hop"),
            ("Transfer-Encoding", "chunked"),
            ("Wiretrace-Project", "shop"),
            ("Wiretrace-Session-Id", "s1"),
            ("Wiretrace-User-Id", "u1"),
            ("Wiretrace-Name", "summarise"),
            ("Wiretrace-Property-Env", "prod"),
            ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            ("tracestate", "vendor=1"),
            ("Content-Type", "application/json"),
        ]
    )
    names = [n.lower() for n, _ in forward]
    assert names == ["authorization", "traceparent", "tracestate", "content-type"]
    assert (meta.project, meta.session_id, meta.user_id, meta.name) == (
        "shop",
        "s1",
        "u1",
        "summarise",
    )
    assert meta.properties == {"env": "prod"}
    assert meta.traceparent == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert meta.tracestate == "vendor=1"


def test_helicone_aliases_and_wiretrace_wins() -> None:
    forward, meta = split_request_headers(
        [
            ("Helicone-Session-Id", "h-session"),
            ("Helicone-User-Id", "h-user"),
            ("Wiretrace-User-Id", "w-user"),
            ("Helicone-Property-Team", "search"),
            ("Helicone-Session-Path", "/plan/step-2"),
            ("Helicone-Auth", "Bearer sk-helicone"),
        ]
    )
    assert forward == []
    assert meta.session_id == "h-session"
    assert meta.user_id == "w-user"
    assert meta.properties == {"team": "search"}
    assert meta.session_path == "/plan/step-2"


def test_response_headers_keep_length_and_encoding_drop_hop_by_hop() -> None:
    kept = filter_response_headers(
        [
            ("Content-Length", "10"),
            ("Content-Encoding", "gzip"),
            ("Connection", "close"),
            ("Keep-Alive", "timeout=5"),
            ("x-request-id", "req_1"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
        ]
    )
    assert kept == [
        ("Content-Length", "10"),
        ("Content-Encoding", "gzip"),
        ("x-request-id", "req_1"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    ]
