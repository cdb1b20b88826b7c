"""``sse.iter_events``: WHATWG event-stream parsing over arbitrarily split chunks.

Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest
import sseclient
from hypothesis import given, settings
from hypothesis import strategies as st
from wiretrace_proxy.record.sse import SSEEvent, iter_events

from tests.fakes.cassettes import all_fixtures, load


def parse(*chunks: bytes) -> list[tuple[str, str]]:
    return [(e.event, e.data) for e in iter_events(chunks)]


def test_event_defaults_to_message_and_named_events_keep_their_name() -> None:
    assert parse(b"data: a\n\nevent: response.created\ndata: b\n\n") == [
        ("message", "a"),
        ("response.created", "b"),
    ]


def test_data_lines_join_with_newline_and_only_one_leading_space_is_removed() -> None:
    # spec: "If value starts with a U+0020 SPACE character, remove it from value."
    assert parse(b"data: one\ndata:  two\ndata:three\n\n") == [("message", "one\n two\nthree")]


def test_comments_unknown_fields_id_and_retry_are_ignored() -> None:
    stream = b": OPENROUTER PROCESSING\nid: 7\nretry: 10\nfoo: bar\ndata: x\n\n"
    assert parse(stream) == [("message", "x")]


def test_field_without_colon_and_empty_data_dispatch_an_empty_string() -> None:
    # spec: a line with no colon is a field with an empty value; "data" then adds "".
    assert parse(b"data\n\n", b"data:\n\n") == [("message", ""), ("message", "")]


def test_event_without_data_is_not_dispatched_and_its_name_does_not_leak() -> None:
    assert parse(b"event: ping\n\ndata: x\n\n") == [("message", "x")]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_each_line_ending(eol: bytes) -> None:
    stream = b"event: e" + eol + b"data: 1" + eol + eol + b"data: 2" + eol + eol
    assert parse(stream) == [("e", "1"), ("message", "2")]


def test_mixed_line_endings_separate_events() -> None:
    assert parse(b"data: a\n\r\ndata: b\r\n\rdata: c\r\r") == [
        ("message", "a"),
        ("message", "b"),
        ("message", "c"),
    ]


def test_leading_byte_order_mark_is_skipped_even_when_split() -> None:
    assert parse(b"\xef\xbb", b"\xbfdata: a\n\n") == [("message", "a")]


def test_invalid_utf8_becomes_replacement_character() -> None:
    assert parse(b"data: \xff\xfe ok\n\n") == [("message", "\ufffd\ufffd ok")]


def test_truncated_final_event_is_still_yielded() -> None:
    assert parse(b"data: a\n\nevent: e\ndata: cut mid-li") == [
        ("message", "a"),
        ("e", "cut mid-li"),
    ]
    assert parse(b"data: a\n\ndata: b\r") == [("message", "a"), ("message", "b")]


def test_no_events_from_empty_or_blank_input() -> None:
    assert parse() == []
    assert parse(b"", b"\n\n\r\n") == []


SAMPLE = (
    "event: response.output_text.delta\r\n"
    'data: {"delta":"h\u00e9llo \U0001f600 \u4e16\u754c"}\r\n'
    "\r\n"
    ": keep-alive\n"
    "data: line one\n"
    "data: line two\n"
    "\n"
    "data: [DONE]\r\r"
).encode()


def test_every_two_way_split_gives_the_same_events() -> None:
    """Splits land mid-line, inside multi-byte characters and between CR and LF."""
    expected = parse(SAMPLE)
    assert len(expected) == 3
    for cut in range(len(SAMPLE) + 1):
        assert parse(SAMPLE[:cut], SAMPLE[cut:]) == expected, cut


def test_one_byte_chunks_give_the_same_events() -> None:
    assert parse(*(SAMPLE[i : i + 1] for i in range(len(SAMPLE)))) == parse(SAMPLE)


def test_events_are_yielded_before_the_input_ends() -> None:
    """The parser is incremental: an event is out as soon as its blank line has arrived."""
    fed: list[bytes] = []

    def chunks() -> Iterator[bytes]:
        for chunk in (b"data: a\n\n", b"data: b\n\n"):
            fed.append(chunk)
            yield chunk

    events = iter_events(chunks())
    assert next(events) == SSEEvent("message", "a")
    assert len(fed) == 1


def _random_split(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 40))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def _streamed_bodies() -> list[tuple[str, bytes]]:
    out = []
    for path in all_fixtures():
        for n, item in enumerate(load(path)):
            if item.is_stream:
                out.append((f"{path.parent.name}/{path.name}#{n}", item.body))
    return out


@pytest.mark.parametrize(("name", "body"), _streamed_bodies(), ids=lambda v: str(v)[:60])
def test_agrees_with_sseclient_py_on_every_fixture(name: str, body: bytes) -> None:
    """On well-formed streams the reference library and this parser must agree exactly."""
    rng = random.Random(name)
    for _ in range(3):
        chunks = _random_split(body, rng)
        ours = [(e.event, e.data) for e in iter_events(chunks)]
        theirs = [(e.event, e.data) for e in sseclient.SSEClient(iter(chunks)).events()]
        assert ours == theirs
        assert ours


def test_sseclient_py_fails_where_we_must_not() -> None:
    """Why sse.py has its own parser (see its docstring). If this starts failing, the library
    was fixed: reconsider using it."""

    def theirs(data: bytes) -> list[tuple[str, str]]:
        return [(e.event, e.data) for e in sseclient.SSEClient(iter([data])).events()]

    with pytest.raises(UnicodeDecodeError):
        theirs(b"data: \xff\n\n")
    assert theirs(b"data: a\n\r\ndata: b\n\n") == [("message", "a\nb")]  # two events merged
    assert theirs(b"\xef\xbb\xbfdata: a\n\n") == []  # first event lost to the BOM
    assert parse(b"data: a\n\r\ndata: b\n\n") == [("message", "a"), ("message", "b")]
    assert parse(b"\xef\xbb\xbfdata: a\n\n") == [("message", "a")]


def _reference(body: bytes) -> list[tuple[str, str]]:
    """The spec's interpretation written plainly (one regex split into lines), to hold
    the parser's one-``str.split`` line handling to."""
    text = body.decode("utf-8", "replace").removeprefix("\ufeff")
    events: list[tuple[str, str]] = []
    data: list[str] = []
    event = ""
    lines = re.split(r"\r\n|\r|\n", text)
    if lines[-1] == "":
        lines.pop()  # the text ended with a line ending: no unterminated last line
    for line in [*lines, ""]:  # the close: a truncated last event is still dispatched
        if not line:
            if data:
                events.append((event or "message", "\n".join(data)))
            data, event = [], ""
            continue
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        value = value[1:] if colon and value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    return events


_PIECES = ["data:", "data: ", "data:  ", "event: ", "event:", ":", "data", "id: 1", "x", " "]
_PIECES += ["\r", "\n", "\r\n", "\n\n", "\r\r", "é", "[DONE]"]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=24), st.lists(st.integers(0, 200), max_size=4))
def test_any_text_split_anywhere_reads_as_the_spec_says(pieces: list[str], cuts: list[int]) -> None:
    body = "".join(pieces).encode()
    bounds = sorted({min(c, len(body)) for c in cuts})
    chunks = [body[a:b] for a, b in zip([0, *bounds], [*bounds, len(body)], strict=True)]
    assert parse(*chunks) == _reference(body)
