"""``POST``/``GET /api/calls/{id}/feedback`` and feedback in ``GET /api/calls/{id}``.

Feedback is a thumbs up/down, a named score, a note and who gave it, listed with the call.
A POST answers 201 with the stored feedback, 404 for an unknown call, 400 naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp
import openai
import pytest
from wiretrace_proxy.appkeys import ENGINE

from tests.harness import Servers
from tests.proxy import seed

RECORDS = seed.build(traces=2)
CALL = RECORDS[2].id


@pytest.fixture
def seeded(servers: Servers) -> Servers:
    seed.insert(servers.app[ENGINE], RECORDS)
    return servers


async def request(
    method: str, url: str, body: object = None, raw: bytes | None = None
) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        kwargs: dict[str, Any] = {"json": body}
        if raw is not None:  # as JSON, however broken (any other type is a 415)
            kwargs = {"data": raw, "headers": {"Content-Type": "application/json"}}
        async with session.request(method, url, **kwargs) as resp:
            return resp.status, await resp.json()


async def test_feedback_is_stored_and_listed_oldest_first(seeded: Servers) -> None:
    url = f"{seeded.proxy_url}/api/calls/{CALL}/feedback"
    status, first = await request("POST", url, {"thumbs": "up", "author": "ana"})
    assert status == 201
    assert first["call_id"] == CALL and first["thumbs"] == "up" and first["author"] == "ana"
    assert first["score"] is None and first["name"] is None and first["note"] is None
    assert datetime.fromisoformat(first["created_at"]).tzinfo is not None
    body = {"name": "faithfulness", "score": 0.25, "note": "cites the wrong doc ✗"}
    status, second = await request("POST", url, body)
    assert status == 201 and second["score"] == 0.25 and second["note"] == body["note"]
    assert second["id"] != first["id"]
    status, listed = await request("GET", url)
    assert status == 200 and listed == {"feedback": [first, second]}
    status, call = await request("GET", f"{seeded.proxy_url}/api/calls/{CALL}")
    assert status == 200 and call["feedback"] == [first, second]


async def test_unknown_calls_get_404(seeded: Servers) -> None:
    url = f"{seeded.proxy_url}/api/calls/{'0' * 16}/feedback"
    status, body = await request("POST", url, {"thumbs": "down"})
    assert status == 404 and "0" * 16 in body["error"]["message"]
    status, body = await request("GET", url)
    assert status == 404


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({}, "body", "at least one of thumbs, score, note"),
        ({"author": "ana"}, "body", "at least one"),
        ({"score": 0.5}, "body", "a score needs a name"),
        ({"name": "acc", "thumbs": "up"}, "body", "a name needs a score"),
        ({"thumbs": "sideways"}, "thumbs", "'up' or 'down'"),
        ({"thumbs": 1}, "thumbs", "thumbs"),
        ({"name": "acc", "score": "high"}, "score", "score"),
        ({"name": "acc", "score": True}, "score", "score"),
        ({"thumbs": "up", "rating": 5}, "rating", "allowed: thumbs, name, score, note, author"),
        (["thumbs", "up"], "body", "object"),
    ],
)
async def test_bad_feedback_gets_400_naming_the_field(
    seeded: Servers, body: object, param: str, words: str
) -> None:
    status, answer = await request("POST", f"{seeded.proxy_url}/api/calls/{CALL}/feedback", body)
    assert status == 400 and answer["error"]["param"] == param
    assert words in answer["error"]["message"]
    _, listed = await request("GET", f"{seeded.proxy_url}/api/calls/{CALL}/feedback")
    assert listed == {"feedback": []}  # nothing half-stored


@pytest.mark.parametrize(
    ("raw", "param"),
    [(b"{not json", "body"), (b'{"name": "a", "score": NaN}', "body"), (b"", "body")],
)
async def test_unreadable_bodies_get_400(seeded: Servers, raw: bytes, param: str) -> None:
    url = f"{seeded.proxy_url}/api/calls/{CALL}/feedback"
    status, answer = await request("POST", url, raw=raw)
    assert status == 400 and answer["error"]["param"] == param


async def test_feedback_right_after_a_proxied_call_is_not_refused(servers: Servers) -> None:
    """The call id comes back in Wiretrace-Call-Id before the writer has stored the call."""
    client = openai.AsyncOpenAI(api_key="sk-test-feedback", base_url=servers.base_url)
    raw = await client.chat.completions.with_raw_response.create(model="gpt-4o", messages=[])
    await client.close()
    call_id = raw.headers["Wiretrace-Call-Id"]
    url = f"{servers.proxy_url}/api/calls/{call_id}/feedback"
    status, stored = await request("POST", url, {"thumbs": "down", "note": "wrong answer"})
    assert status == 201 and stored["call_id"] == call_id
