"""Redaction's fast paths change no answer: the literal scan and the clean-text cache.

``redact._suspect``: the Aho-Corasick literal scan says what every prefilter says.

``_suspect`` runs a prefilter only when one of its literals is in the bytes, so each
prefilter's literals must be a necessary condition of it; then ``_suspect`` is exactly
"some prefilter matches" (the rule before the literal scan existed), never less strict.
Checked here over text built from the literals themselves, pieces of credentials, JSON
punctuation and escapes, in any case.

``redact._CLEAN_TEXTS`` remembers short texts found clean (header values, paths), never
one that a row could mask, and stays bounded.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wiretrace_proxy.record import redact

from tests.proxy.record.test_redact import SHAPED, TRICKY_TEXTS


def every_prefilter(data: bytes) -> bool:
    """What ``_suspect`` must answer: a NUL, or any prefilter matching, no literal scan."""
    lower = data.lower()
    return b"\x00" in data or any(
        p.pattern.search(lower if p.lower else data) is not None for p in redact.PREFILTERS
    )


LITERALS = sorted({literal for p in redact.PREFILTERS for literal in p.literals})
PIECES = [
    *LITERALS,
    *(literal.upper() for literal in LITERALS),
    *(literal.title() for literal in LITERALS),
    b"-",
    b"_",
    b'"',
    b'":',
    b'" :',
    b"=",
    b": ",
    b"\\",
    b'\\"',
    b"\\u002d",
    b"\\u006b",
    b" ",
    b"\n",
    b"s",
    b"proj",
    b"AbCdEfGhIjKlMnOp",
    b"0123456789",
    b"live_",
    b"ey",
    b"J",
    b"\xc3\xa9",
    b"\x00",
]
texts = st.lists(st.sampled_from(PIECES) | st.binary(max_size=3), max_size=12).map(b"".join)


@settings(max_examples=1500, deadline=None)
@given(texts)
def test_suspect_is_every_prefilter(data: bytes) -> None:
    assert redact._suspect(data) == every_prefilter(data)


@settings(max_examples=500, deadline=None)
@given(texts)
def test_each_prefilter_match_holds_one_of_its_literals(data: bytes) -> None:
    lower = data.lower()
    for prefilter in redact.PREFILTERS:
        if prefilter.pattern.search(lower if prefilter.lower else data) is not None:
            assert any(literal.lower() in lower for literal in prefilter.literals)


@pytest.mark.parametrize("text", [*TRICKY_TEXTS, *(secret for _, secret in SHAPED)])
def test_suspect_agrees_on_every_tricky_text_and_encoding(text: str) -> None:
    doc = {"messages": [{"content": text}], "api_key": text, text: 1}
    for data in (
        text.encode("utf-8", "surrogatepass"),
        json.dumps(doc).encode(),
        json.dumps(doc, ensure_ascii=False).encode(),
        json.dumps(doc).replace("-", "\\u002d").encode(),
        json.dumps(doc).encode("utf-16"),
    ):
        assert redact._suspect(data) == every_prefilter(data), data


def test_the_usual_bodies_are_clean_and_a_key_is_not() -> None:
    assert not redact._suspect(b'{"usage": {"prompt_tokens": 9, "total_tokens": 11}}')
    assert not redact._suspect(b"application/json")
    assert redact._suspect(b'{"x": "sk-proj-AbCdEfGhIjKlMnOpQrSt"}')
    assert redact._suspect(b'{"Api-Key": "1"}')


@pytest.fixture
def empty_cache() -> None:
    redact._CLEAN_TEXTS.clear()


@pytest.mark.usefixtures("empty_cache")
def test_clean_header_values_are_remembered_and_secrets_never() -> None:
    key = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx"
    headers = [("Content-Type", "application/json"), ("X-Note", f"key {key}")]
    first = redact.redact_headers(headers)
    assert first["x-note"] == redact._mask_text(f"key {key}")
    # The joined scan was suspect, so each value was scanned alone: only the clean one kept.
    assert list(redact._CLEAN_TEXTS) == ["application/json"]
    assert redact.redact_headers(headers) == first
    clean = [("Content-Type", "text/plain"), ("X-Request-Id", "req_123")]
    assert redact.redact_headers(clean) == {"content-type": "text/plain", "x-request-id": "req_123"}
    assert {"text/plain", "req_123"} <= redact._CLEAN_TEXTS.keys()
    assert redact.redact_headers(clean) == {"content-type": "text/plain", "x-request-id": "req_123"}
    assert not any(key in text for text in redact._CLEAN_TEXTS)


@pytest.mark.usefixtures("empty_cache")
def test_mask_secrets_answers_the_same_from_the_cache() -> None:
    for text in [*TRICKY_TEXTS, "/v1/chat/completions", "x" * 300]:
        first = redact.mask_secrets(text)
        assert redact.mask_secrets(text) == first == redact._mask_text(text)
        if first != text:
            assert text not in redact._CLEAN_TEXTS
    assert "x" * 300 not in redact._CLEAN_TEXTS  # only short texts are kept


@pytest.mark.usefixtures("empty_cache")
def test_the_clean_text_cache_is_bounded() -> None:
    for n in range(redact._CLEAN_TEXTS_LIMIT + 10):
        redact.mask_secrets(f"value {n}")
    assert 0 < len(redact._CLEAN_TEXTS) <= redact._CLEAN_TEXTS_LIMIT


@pytest.mark.parametrize(
    "data",
    [
        b'{"note": "the key to it", "api_key": "1"}',  # a prose word, then a key
        b'{"note": "the key \\" to it": 1}',  # an escaped quote inside the key
        b'{"the key \\\\": 1}',  # an escaped backslash, then the key's quote
        b'{"the key \\\n": 1}',  # a backslash before a newline ends the string run
        b'{"a": "key\\\n", "token\\"x": 2}',  # a blocked run, then a word in a key
        b'"key" "token" "auth" :',  # every word before the one quote that ends a key
        b"author sig secret\\",  # a backslash at the very end
        b"design signal monkey" * 50,  # words that are not names, no quote at all
    ],
)
def test_the_word_prefilters_answer_as_their_patterns(data: bytes) -> None:
    assert redact._suspect(data) == every_prefilter(data), data
    lower = data.lower()
    for prefilter in redact.PREFILTERS:
        assert prefilter.search(data, lower) == (
            prefilter.pattern.search(lower if prefilter.lower else data) is not None
        )
