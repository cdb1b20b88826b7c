"""redact: secrets are never stored (``docs/architecture.md``, "The contract": secrets).

Credentials are masked by shape (one row of ``_SHAPES`` per provider format, each tested
here) and by name (a credential word in a header, parameter, property or JSON field); the
counting names around tokens are not credentials and keep their values. The fast paths
(a scan of the bytes before any walk) must mask exactly what the walk masks.
"""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from wiretrace_proxy.callrecord import JSON
from wiretrace_proxy.record.redact import (
    _SHAPES,
    REDACTED,
    _mask_text,
    _walk,
    api_key_from_headers,
    api_key_from_query,
    fingerprint_key,
    is_clean_json_bytes,
    is_secret_name,
    mask_secrets,
    mask_value,
    redact_headers,
    redact_json,
    redact_parsed,
    redact_properties,
    redact_query,
)

KEY = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
HEX = "0123456789abcdef"


def fake(seed: str, n: int, alphabet: str = ALNUM) -> str:
    """``n`` random-looking characters, the same on every run (and no real secret in the
    source: provider scanners flag literal tokens)."""
    out = ""
    counter = 0
    while len(out) < n:
        digest = hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        out += "".join(alphabet[b % len(alphabet)] for b in digest)
        counter += 1
    return out[:n]


def b64url(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


JWT = ".".join(
    [
        b64url({"alg": "RS256", "typ": "JWT"}),
        b64url({"aud": "https://cognitiveservices.azure.com", "iss": "https://sts"}),
        fake("jwt", 43, ALNUM + "-_"),
    ]
)

# (kind shown in the mask, a credential of that shape), one per ``_SHAPES`` row and more.
SHAPED: list[tuple[str, str]] = [
    ("sk", "sk-" + fake("openai", 48)),
    ("sk-proj", "sk-proj-" + fake("proj", 120, ALNUM + "-_")),
    ("sk-svcacct", "sk-svcacct-" + fake("svc", 80)),
    ("sk-admin", "sk-admin-" + fake("admin", 60)),
    ("sk-ant", "sk-ant-api03-" + fake("anthropic", 93, ALNUM + "-_")),
    ("AIza", "AIza" + fake("google", 35, ALNUM + "-_")),
    ("ya29", "ya29." + fake("oauth", 120, ALNUM + "-_")),
    ("AKIA", "AKIA" + fake("aws", 16, UPPER)),
    ("ASIA", "ASIA" + fake("sts", 16, UPPER)),
    ("ghp", "gh" + "p_" + fake("github", 36)),
    ("gho", "gh" + "o_" + fake("github-oauth", 36)),
    ("ghs", "gh" + "s_" + fake("github-server", 36)),
    ("github_pat", "github" + "_pat_" + fake("pat", 82, ALNUM + "_")),
    ("xoxb", "xo" + "xb-" + fake("slack", 40, "0123456789") + "-" + fake("s2", 24)),
    ("xoxp", "xo" + "xp-" + fake("slack-user", 60)),
    ("hf", "hf_" + fake("hf", 34)),
    ("gsk", "gsk_" + fake("groq", 52)),
    ("xai", "xai-" + fake("xai", 80)),
    ("sk_live", "sk" + "_live_" + fake("stripe", 24)),
    ("cf", "v1.0-" + fake("cf1", 24, HEX) + "-" + fake("cf2", 146, HEX)),
    ("jwt", JWT),
]


@pytest.mark.parametrize(("kind", "secret"), SHAPED, ids=[k for k, _ in SHAPED])
def test_each_shape_is_masked_anywhere_with_its_kind(kind: str, secret: str) -> None:
    text = f"my credential is {secret}, please keep it safe"
    masked = mask_secrets(text)
    assert secret not in masked
    assert f"[redacted:{kind}…{secret[-4:]}]" in masked
    assert masked.startswith("my credential is ") and masked.endswith(", please keep it safe")
    doc: JSON = {"messages": [{"role": "user", "content": text}], "note": secret}
    for value in (redact_json(doc), redact_parsed(doc, json.dumps(doc).encode())):
        assert secret not in json.dumps(value, ensure_ascii=False)
    headers = redact_headers([("X-Note", secret)])
    assert secret not in headers["x-note"]
    query = redact_query(f"q={secret}&n=1")
    assert secret not in query and query.endswith("]&n=1")
    assert mask_secrets(masked) == masked  # idempotent


def test_every_shape_row_has_a_case() -> None:
    covered = {
        shape.name for shape in _SHAPES for _, secret in SHAPED if shape.pattern.search(secret)
    }
    assert covered == {shape.name for shape in _SHAPES}


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"Authorization: Bearer {'tok' + fake('opaque', 37)}", "tok" + fake("opaque", 37)),
        (f"curl -H 'cf-aig-authorization: Bearer {fake('cf', 40)}'", fake("cf", 40)),
        (f"Bearer {JWT}", JWT),
        ("auth Basic " + base64.b64encode(b"admin:hunter2-prod").decode(), "aHVudGVyMi1wcm9k"),
        (f"https://x.test/v1?key={fake('g', 12)}&q=1", fake("g", 12)),
        (
            f"GET /v1?api-version=2024-06-01&api_key={fake('azure', 32, HEX)}",
            fake("azure", 32, HEX),
        ),
        (f'{{"api_key": "{fake("k", 24)}"}}', fake("k", 24)),
        (f'{{\\"client_secret\\": \\"{fake("cs", 20)}\\"}}', fake("cs", 20)),
        (f"x-goog-api-key: {fake('goog', 30)}", fake("goog", 30)),
        ("password=correct-horse-battery-staple&user=bob", "correct-horse-battery-staple"),
        (f"AccountName=acct;AccountKey={fake('az', 86)}==;Endpoint", fake("az", 86)),
        (f"aws_secret_access_key = {fake('aws-secret', 40, ALNUM + '/+')}", fake("aws-secret", 40)),
        (f"se=2030&sig={fake('sas', 43)}%3D&sp=r", fake("sas", 43)),
    ],
)
def test_bearer_basic_and_named_assignments_in_text(text: str, secret: str) -> None:
    masked = mask_secrets(text)
    assert secret not in masked, masked
    assert "[redacted" in masked


def test_the_query_keeps_other_parameters_byte_for_byte() -> None:
    google = "AIza" + fake("q", 35)
    query = f"api-version=2024-06-01&key={google}&api_key={KEY}&q=caf%C3%A9+au+lait&flag"
    masked = redact_query(query)
    assert google not in masked and KEY not in masked
    assert masked.startswith("api-version=2024-06-01&key=[redacted:AIza…")
    assert masked.endswith("&q=caf%C3%A9+au+lait&flag")
    assert redact_query("api-version=2024-06-01") == "api-version=2024-06-01"
    encoded = "k%65y=" + fake("enc", 20)  # a name written with a percent escape
    assert fake("enc", 20) not in redact_query(encoded)


SECRET_NAMES = [
    "authorization",
    "Proxy-Authorization",
    "api-key",
    "x-api-key",
    "x-goog-api-key",
    "Ocp-Apim-Subscription-Key",
    "cf-aig-authorization",
    "x-portkey-api-key",
    "Cookie",
    "set-cookie",
    "X-Amz-Security-Token",
    "x-auth-token",
    "apiKey",
    "API_KEY",
    "access_token",
    "refreshToken",
    "session-token",
    "client_secret",
    "password",
    "db_passwd",
    "aws_secret_access_key",
    "credentials",
    "X-Signature",
    "sig",
    "oauth",
    "jwt",
    "private_key_id",
]

NOT_SECRET_NAMES = [
    "max_tokens",
    "max_completion_tokens",
    "max_output_tokens",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "input_tokens_details",
    "cache_read_input_tokens",
    "budget_tokens",
    "promptTokenCount",
    "totalTokenCount",
    "token_count",
    "token_ids",
    "tokenizer",
    "tokenization",
    "keys",
    "keywords",
    "keyboard",
    "monkey",
    "author",
    "authors",
    "authority",
    "prompt_cache_key",
    "design",
    "x-ratelimit-remaining-tokens",
    "anthropic-ratelimit-tokens-reset",
    "session_id",
    "user_id",
    "model",
    "content",
    "signal",
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_a_credential_name_masks_its_value_everywhere(name: str) -> None:
    value = fake(name, 32, HEX)  # an Azure-style key: no shape of its own
    assert is_secret_name(name)
    assert redact_headers([(name, value)])[name.lower()] == f"[redacted:…{value[-4:]}]"
    assert value not in redact_query(f"{name}={value}&n=1")
    assert redact_properties({name.lower(): value}) == {name.lower(): f"[redacted:…{value[-4:]}]"}
    doc: JSON = {"outer": {name: value, "n": 1}, "list": [{name: [value]}]}
    for masked in (redact_json(doc), redact_parsed(doc, json.dumps(doc).encode())):
        assert value not in json.dumps(masked)
        assert isinstance(masked, dict) and masked["outer"] == {
            name: f"[redacted:…{value[-4:]}]",
            "n": 1,
        }


@pytest.mark.parametrize("name", NOT_SECRET_NAMES)
def test_counting_and_lookalike_names_keep_their_values(name: str) -> None:
    assert not is_secret_name(name)
    doc: JSON = {name: "forty-two", "usage": {name: 42}}
    assert redact_json(doc) == doc
    assert redact_parsed(doc, json.dumps(doc).encode()) == doc
    assert redact_headers([(name, "forty-two")]) == {name.lower(): "forty-two"}
    assert redact_query(f"{name}=forty-two") == f"{name}=forty-two"


def test_usage_logprobs_and_schemas_are_kept() -> None:
    response: JSON = {
        "choices": [
            {
                "logprobs": {
                    "content": [
                        {
                            "token": "Hello",
                            "logprob": -0.1,
                            "top_logprobs": [{"token": "Hi", "logprob": -2.0}],
                        }
                    ]
                }
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    }
    assert redact_json(response) == response
    tools: JSON = {
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "login",
                    "parameters": {
                        "type": "object",
                        "properties": {"api_key": {"type": "string"}, "token": {"type": "string"}},
                        "required": ["api_key"],
                    },
                },
            }
        ]
    }
    assert redact_json(tools) == tools  # a schema describing a key is not a key
    assert redact_json({"token": "abc123secret"}) == {"token": "[redacted]"}


def test_masks_keep_a_fingerprint_only_for_long_single_tokens() -> None:
    assert mask_value("hunter2") == REDACTED
    assert mask_value(f"Bearer {KEY}") == "Bearer [redacted:sk-proj…6789]"
    assert (
        mask_value("Basic " + base64.b64encode(b"user:pass").decode()) == "Basic [redacted:basic]"
    )
    assert mask_value("theme=dark; sid=0123456789abcdef0123") == REDACTED  # no cookie's tail
    assert mask_value("[redacted:sk-proj…6789]") == "[redacted:sk-proj…6789]"
    assert mask_value("") == ""


def test_secret_headers_are_replaced() -> None:
    out = redact_headers(
        [
            ("Authorization", f"Bearer {KEY}"),
            ("api-key", "azure-secret-value"),
            ("Cookie", "session=abc"),
            ("OpenAI-Organization", "org-123"),
            ("X-Custom", f"carries {KEY}"),
            ("Accept", "application/json"),
        ]
    )
    assert out["authorization"] == "Bearer [redacted:sk-proj…6789]"
    assert out["api-key"] == REDACTED
    assert out["cookie"] == REDACTED
    assert out["openai-organization"] == REDACTED
    assert out["x-custom"] == "carries [redacted:sk-proj…6789]"
    assert out["accept"] == "application/json"


def test_fingerprint_is_stable_salted_and_shows_last_four() -> None:
    a = fingerprint_key(KEY, "salt1")
    assert a == fingerprint_key(KEY, "salt1")
    assert a != fingerprint_key(KEY, "salt2")
    assert a.endswith("6789") and KEY[:-4] not in a


def test_api_key_from_bearer_or_a_provider_header_or_the_query() -> None:
    assert api_key_from_headers([("authorization", f"Bearer {KEY}")]) == KEY
    assert api_key_from_headers([("api-key", "azure")]) == "azure"
    assert api_key_from_headers([("x-goog-api-key", "g"), ("x-api-key", "a")]) == "a"
    assert api_key_from_headers([("authorization", "Basic Zm9v")]) is None
    assert api_key_from_query("alt=sse&key=AIzaXYZ") == "AIzaXYZ"
    assert api_key_from_query("api-version=1") is None


def test_ordinary_text_is_untouched() -> None:
    for text in [
        "a task-list with well-known risk-free words, desk-top 12345678901234567890",
        "the bearer of bad news; basic information; the key: speed; monkey=banana",
        "task-management-system-design and keyword=value and author: Jane Austen",
        "gpt-4o-mini-2024-07-18 chatcmpl-AbC123 req_0123456789abcdef Asia AKIA",
    ]:
        assert mask_secrets(text) == text


# The fast paths (a scan of bytes or of the encoded value before any walk) must never let
# through what the walk would mask: each case below holds a secret in a form a naive scan
# of the raw bytes would miss, or nothing secret in a form that looks close.
TRICKY_TEXTS = [
    KEY,
    f"prefix{KEY}",
    f"line\n{KEY}\tend",
    "https://x.test/v1?api_key=AIzaSECRET&q=1",
    "https://x.test/v1?KEY=AIzaSECRET",
    "https://x.test/v1?\u212aey=AIzaSECRET",  # KELVIN SIGN: not an ASCII k, not a name
    "rk-" + "A" * 30,
    "pk-live_" + "b" * 20,
    "sk-short",
    "a task-list with well-known risk-free words, desk-top",
    "key = value, monkey=banana",
    'say \\"api_key\\": \\"abc123def\\" twice',
    "Authorization: Bearer opaque-token-1234567",
    "BASIC dXNlcjpwYXNzd29yZA==",
    "naïve — 你好 🙂 ✓",
    "",
    *(secret for _, secret in SHAPED),
]


def _reference(value: JSON) -> JSON:
    """The masking with no prefilter at all: every row on every string, names included."""
    return _walk(value, _mask_text)


def _encodings(value: JSON) -> list[bytes]:
    """The same value as JSON bytes written by different clients."""
    every_char_escaped = "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else c for c in KEY)
    return [
        json.dumps(value).encode(),
        json.dumps(value, ensure_ascii=False).encode(),
        json.dumps(value, indent=2).encode("utf-16"),
        json.dumps(value, ensure_ascii=False).encode("utf-32"),
        json.dumps(value).replace("-", "\\u002d").replace("=", "\\u003D").encode(),
        json.dumps(value).replace("k", "\\u006b").encode(),
        json.dumps(value).replace("/", "\\/").encode(),
        json.dumps({"escaped": value, "key": every_char_escaped}).encode(),
    ]


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_fast_paths_mask_exactly_what_the_walk_masks(text: str) -> None:
    doc: JSON = {
        "messages": [{"content": text, text: [text, 1, None]}],
        "n": 2.5,
        "api_key": text,
        "nested": {"client_secret": [text], "logprob": 0, "token": text},
    }
    for raw in _encodings(doc):
        value = json.loads(raw)
        want = _reference(value)
        assert redact_parsed(value, raw) == want, raw
        assert redact_json(value) == want
    assert mask_secrets(text) == _mask_text(text)
    headers = [("X-Custom", text), ("Authorization", f"Bearer {KEY}"), ("X-Custom", "b")]
    assert redact_headers(headers)["x-custom"] == f"{_mask_text(text)}, b"


def test_clean_values_come_back_as_they_are() -> None:
    doc: JSON = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 5,
        "usage": {"prompt_tokens": 1, "completion_tokens_details": {"reasoning_tokens": 0}},
    }
    raw = json.dumps(doc).encode()
    assert is_clean_json_bytes(raw)
    assert redact_parsed(doc, raw) is doc
    assert redact_json(doc) is doc
    assert not is_clean_json_bytes(b'{"a": "sk\\u002dproj-AbCdEfGhIjKlMnOpQrSt"}')
    assert not is_clean_json_bytes(b'{"x-api-key": "0123"}')
    assert is_clean_json_bytes(b'{"html": "\\u003cb\\u003e \\u0026 \\u00e9"}')
