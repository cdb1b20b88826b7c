"""Every recorded OpenAI stream in tests/fixtures replayed through the proxy.

The client must get the recorded bytes unchanged, and the record must hold the stream
reassembled (``docs/architecture.md``, "The contract": output) with the usage the stream
carried.
"""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest
from wiretrace_proxy.endpoints import Endpoint
from wiretrace_proxy.record.reassemble import reassemble_stream

from tests.fakes import cassettes
from tests.harness import Servers


def streamed_cases() -> list[tuple[str, int]]:
    cases = []
    for path in cassettes.all_fixtures():
        rel = str(path.relative_to(cassettes.FIXTURES))
        for index, interaction in enumerate(cassettes.load(path)):
            if interaction.is_stream:
                cases.append((rel, index))
    return cases


CASES = streamed_cases()


def test_fixtures_cover_the_cases_the_issue_names() -> None:
    endpoints = {cassettes.load(p)[i].endpoint for p, i in CASES}
    assert {"/v1/chat/completions", "/v1/responses", "/v1/completions"} <= endpoints
    assert len(CASES) >= 40


@pytest.mark.parametrize(("fixture", "index"), CASES, ids=[f"{p}#{i}" for p, i in CASES])
async def test_replayed_stream(servers: Servers, fixture: str, index: int) -> None:
    recorded = cassettes.load(fixture)[index]
    endpoint = recorded.endpoint if recorded.endpoint.startswith("/v1/") else "/v1/chat/completions"
    request = {"model": "gpt-4o", "stream": True, "stream_options": {"include_usage": True}}
    headers = {"x-fake-replay": f"{fixture}#{index}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        async with session.post(
            servers.proxy_url + endpoint, data=json.dumps(request), headers=headers
        ) as resp:
            body = await resp.read()
            call_id = resp.headers["Wiretrace-Call-Id"]
    assert body == recorded.body
    record = servers.record(call_id)
    expected = reassemble_stream(Endpoint.of(endpoint), [recorded.body])
    assert record.output == expected.output
    assert record.response_model == expected.model
    if expected.usage is not None:
        assert record.usage == expected.usage and record.usage_source == "upstream"
    else:
        assert record.usage_source == "estimated" and record.usage is not None
    assert record.status == ("error" if expected.error else "ok")
    assert record.ttft_ms is not None and record.attributes["stream"] is True


def test_fixture_dir_is_inside_the_project() -> None:
    assert Path(cassettes.FIXTURES).resolve().is_relative_to(Path(__file__).resolve().parents[3])
