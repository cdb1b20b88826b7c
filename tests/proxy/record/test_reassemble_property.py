"""Reassembly does not depend on where the network cut a stream (property-based).

Every recorded stream in ``tests/fixtures/openai``, split at arbitrary byte offsets (inside a
line, inside a UTF-8 character, between ``\\r`` and ``\\n``) and fed as those chunks, gives
exactly the record the whole body gives; and a stream cut short at any offset still
reassembles into JSON that storage accepts. WHATWG HTML, "9.2.6 Interpreting an event
stream": the parse of a stream is independent of how it is chunked.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wiretrace_proxy.endpoints import Endpoint
from wiretrace_proxy.record.reassemble import reassemble_stream

from tests.fakes.cassettes import Interaction, all_fixtures, load

STREAMS: list[Interaction] = [
    item for path in all_fixtures() for item in load(path) if item.is_stream
]
BOUNDED = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _split(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(body) + 1) for c in cuts})
    edges = [0, *points, len(body)]
    return [body[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a]


def test_there_are_streams_to_check() -> None:
    assert len(STREAMS) >= 10


@BOUNDED
@given(
    index=st.integers(min_value=0, max_value=len(STREAMS) - 1),
    cuts=st.lists(st.integers(min_value=0), max_size=40),
)
def test_any_split_reassembles_like_the_whole(index: int, cuts: list[int]) -> None:
    item = STREAMS[index]
    endpoint = Endpoint.of(item.path)
    whole = reassemble_stream(endpoint, [item.body])
    assert reassemble_stream(endpoint, _split(item.body, cuts)) == whole


@BOUNDED
@given(
    index=st.integers(min_value=0, max_value=len(STREAMS) - 1),
    cut=st.integers(min_value=0),
    cuts=st.lists(st.integers(min_value=0), max_size=10),
)
def test_a_stream_cut_anywhere_still_gives_storable_json(
    index: int, cut: int, cuts: list[int]
) -> None:
    item = STREAMS[index]
    short = item.body[: cut % (len(item.body) + 1)]
    result = reassemble_stream(Endpoint.of(item.path), _split(short, cuts))
    json.dumps(result.output, allow_nan=False)
