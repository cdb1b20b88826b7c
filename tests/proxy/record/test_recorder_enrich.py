"""Every proxied call is priced and given its prompt version as it is recorded.

The price is genai-prices' own number for the model that answered (``calc_price`` computed
here independently), an unknown model gets null (and is listed by ``/api/pricing/unknown``),
a prices file wins; the ``prompt_digest`` groups calls by template, not by user turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import genai_prices
import openai
import pytest
from wiretrace_proxy.callrecord import CallRecord

from tests.harness import Servers

KEY = "sk-test-enrich-0000000000000000000001234"


def chat(servers: Servers, model: str, system: str, user: str, **extra: Any) -> CallRecord:
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model=model,
        messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
        **extra,
    )
    return servers.record(raw.headers["wiretrace-call-id"])


def expected_cost(record: CallRecord) -> float:
    assert record.usage is not None and record.response_model is not None
    usage: Any = genai_prices.Usage(
        input_tokens=record.usage.prompt_tokens,
        cache_read_tokens=record.usage.cached_tokens or 0,
        output_tokens=record.usage.completion_tokens,
        output_reasoning_tokens=record.usage.reasoning_tokens or 0,
    )
    price = genai_prices.calc_price(
        usage,
        record.response_model,
        provider_id="openai",
        genai_request_timestamp=record.started_at,
    )
    return float(price.total_price)


@pytest.mark.parametrize("stream", [False, True])
def test_a_known_model_costs_what_the_price_source_says(servers: Servers, stream: bool) -> None:
    record = chat(servers, "gpt-4o-mini", "Be brief.", "hi", stream=stream)
    if stream:
        assert record.usage_source == "injected"
    assert record.usage is not None and record.usage.prompt_tokens
    assert record.cost_usd is not None and record.cost_usd > 0
    assert record.cost_usd == pytest.approx(expected_cost(record), rel=1e-12)


def test_an_unknown_model_costs_null_never_a_guess(servers: Servers) -> None:
    record = chat(servers, "acme-secret-model-7", "Be brief.", "hi")
    assert record.usage is not None and record.usage.total_tokens
    assert record.cost_usd is None


@pytest.fixture
def priced_servers(tmp_path: Path, db_url: str) -> Iterator[Servers]:
    prices = tmp_path / "prices.toml"
    prices.write_text('[models."acme-*"]\ninput = 1.0\noutput = 2.0\n')
    servers = Servers(db_url, prices_file=str(prices))
    try:
        yield servers
    finally:
        servers.close()


def test_a_prices_file_wins(priced_servers: Servers) -> None:
    record = chat(priced_servers, "acme-secret-model-7", "Be brief.", "hi")
    assert record.usage is not None
    prompt, completion = record.usage.prompt_tokens or 0, record.usage.completion_tokens or 0
    assert record.cost_usd == pytest.approx((prompt * 1.0 + completion * 2.0) / 1e6, rel=1e-12)


def test_prompt_digest_follows_the_template_not_the_user_turn(servers: Servers) -> None:
    a = chat(servers, "gpt-4o-mini", "Summarise in one line.", "first article")
    b = chat(servers, "gpt-4o-mini", "Summarise in one line.", "a different article")
    c = chat(servers, "gpt-4o-mini", "Summarise in three bullets.", "first article")
    d = chat(servers, "gpt-4o-mini", "Summarise in one line.", "first article", temperature=0.9)
    assert a.prompt_digest is not None and len(a.prompt_digest) == 16
    assert a.prompt_digest == b.prompt_digest
    assert len({a.prompt_digest, c.prompt_digest, d.prompt_digest}) == 3


def test_embeddings_have_no_prompt_version(servers: Servers) -> None:
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    raw = client.embeddings.with_raw_response.create(model="text-embedding-3-small", input="x")
    record = servers.record(raw.headers["wiretrace-call-id"])
    assert record.prompt_digest is None
    assert record.usage is not None and record.usage.prompt_tokens
    usage: Any = genai_prices.Usage(input_tokens=record.usage.prompt_tokens)
    want = genai_prices.calc_price(usage, "text-embedding-3-small", provider_id="openai")
    assert record.cost_usd == pytest.approx(float(want.total_price), rel=1e-12)
