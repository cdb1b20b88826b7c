"""``pricing.Pricer``: the price source's numbers, null for unknown models, an override file
that wins.

Expected costs are worked out by hand from the rates in genai-prices' bundled data (quoted
beside each case, USD per million tokens), not by calling the package; one test then checks
the cached fast path against ``genai_prices.calc_price`` itself over every OpenAI model.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import genai_prices
import pytest
from wiretrace_proxy.callrecord import Usage
from wiretrace_proxy.errors import ConfigError
from wiretrace_proxy.record import pricing
from wiretrace_proxy.record.pricing import Pricer, load_overrides
from wiretrace_proxy.settings import Settings

SOURCE = f"genai-prices {genai_prices.__version__}"
MIXED = Usage(prompt_tokens=1000, cached_tokens=200, completion_tokens=500, reasoning_tokens=300)
"""1000 prompt tokens of which 200 cached; 500 completion tokens of which 300 reasoning."""
AFTER = datetime(2026, 11, 1, tzinfo=UTC)
AZURE = "https://acme.openai.azure.com"
GROQ = "https://api.groq.com/openai"
OPENROUTER = "https://openrouter.ai/api"
PERPLEXITY = "https://api.perplexity.ai"


@pytest.fixture(scope="module")
def pricer() -> Pricer:
    return Pricer()


@pytest.mark.parametrize(
    ("model", "upstream", "at", "expected"),
    [
        # gpt-4o: input 2.50, cached 1.25, output 10 (reasoning billed as output)
        ("gpt-4o", None, None, (800 * 2.5 + 200 * 1.25 + 500 * 10) / 1e6),
        # a dated snapshot resolves to its own price: 5 / 15, no cached rate (input rate)
        ("gpt-4o-2024-05-13", None, None, (1000 * 5 + 500 * 15) / 1e6),
        # o3 from 2025-06-10: 2 / 0.50 / 8; before: 10 / 0.50 / 40
        ("o3", None, AFTER, (800 * 2 + 200 * 0.5 + 500 * 8) / 1e6),
        ("o3", None, datetime(2025, 5, 1, tzinfo=UTC), (800 * 10 + 200 * 0.5 + 500 * 40) / 1e6),
        # Azure prices OpenAI's models through its fallback to the openai provider
        ("gpt-4o", AZURE, None, (800 * 2.5 + 200 * 1.25 + 500 * 10) / 1e6),
        # Groq: 0.59 / 0.79, no cached rate
        ("llama-3.3-70b-versatile", GROQ, None, (1000 * 0.59 + 500 * 0.79) / 1e6),
        # OpenRouter: input 2, output 8, reasoning 3 (priced apart from the other output)
        ("perplexity/sonar-deep-research", OPENROUTER, None, (1000 * 2 + 200 * 8 + 300 * 3) / 1e6),
        # Perplexity sonar: 1 / 1 per MTok plus 12 USD per thousand requests
        ("sonar", PERPLEXITY, None, (1000 + 500) / 1e6 + 12 / 1000),
        # moderation is free
        ("omni-moderation-latest", None, None, 0.0),
    ],
)
def test_known_models_give_the_price_sources_numbers(
    pricer: Pricer, model: str, upstream: str | None, at: datetime | None, expected: float
) -> None:
    result = pricer.price(model, MIXED, upstream=upstream, at=at)
    assert result.cost_usd == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert (result.source, result.unknown_model) == (SOURCE, False)


def test_long_context_tier_applies_above_its_threshold(pricer: Pricer) -> None:
    # gpt-5.4: 2.50 / 0.25 / 15 up to 272,000 input tokens; 5 / 0.50 / 22.50 above
    at_threshold = Usage(prompt_tokens=272_000, completion_tokens=1000)
    above = Usage(prompt_tokens=300_000, cached_tokens=100_000, completion_tokens=1000)
    low = pricer.price("gpt-5.4", at_threshold).cost_usd
    high = pricer.price("gpt-5.4", above).cost_usd
    assert low == pytest.approx((272_000 * 2.5 + 1000 * 15) / 1e6, rel=1e-12)
    assert high == pytest.approx((200_000 * 5 + 100_000 * 0.5 + 1000 * 22.5) / 1e6, rel=1e-12)


def test_service_tier_selects_its_price_variant(pricer: Pricer) -> None:
    # o3 from 2026-10-12: priority 3.50 / 0.875 / 14, flex 1 / 0.25 / 4; "default" is standard
    priority = pricer.price("o3", MIXED, at=AFTER, service_tier="priority").cost_usd
    flex = pricer.price("o3", MIXED, at=AFTER, service_tier="flex").cost_usd
    default = pricer.price("o3", MIXED, at=AFTER, service_tier="default").cost_usd
    before = pricer.price("o3", MIXED, at=datetime(2026, 9, 1, tzinfo=UTC), service_tier="flex")
    assert priority == pytest.approx((800 * 3.5 + 200 * 0.875 + 500 * 14) / 1e6, rel=1e-12)
    assert flex == pytest.approx((800 * 1 + 200 * 0.25 + 500 * 4) / 1e6, rel=1e-12)
    assert default == pytest.approx((800 * 2 + 200 * 0.5 + 500 * 8) / 1e6, rel=1e-12)
    assert before.cost_usd == default  # the flex variant was not yet in force


@pytest.mark.parametrize(
    ("model", "usage", "unknown"),
    [
        ("llama-3-70b-local", MIXED, True),  # not in the OpenAI price list
        ("llama-3.3-70b-versatile", MIXED, True),  # a Groq model, but the upstream is OpenAI
        ("whisper-1", MIXED, True),  # priced per audio hour: tokens cannot price it
        ("gpt-4o", None, False),  # no usage: nothing to price
        ("gpt-4o", Usage(total_tokens=5), False),
        (None, MIXED, False),
        ("gpt-4o", Usage(prompt_tokens=10, cached_tokens=20), False),  # inconsistent counts
    ],
)
def test_unpriceable_calls_get_null_never_a_guess(
    pricer: Pricer, model: str | None, usage: Usage | None, unknown: bool
) -> None:
    result = pricer.price(model, usage)
    assert result.cost_usd is None and result.unknown_model is unknown


def test_embeddings_usage_without_completion_tokens(pricer: Pricer) -> None:
    # text-embedding-3-small: 0.02 per MTok of input
    usage = Usage(prompt_tokens=5000, total_tokens=5000)
    assert pricer.price("text-embedding-3-small", usage).cost_usd == pytest.approx(0.0001)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "prices.toml"
    path.write_text(text)
    return str(path)


OVERRIDES = """
[models."gpt-4o"]
input = 1.0
cached_input = 0.5
output = 2.0
reasoning = 4.0

[models."FT:gpt-4o-mini:acme:*"]
input = 0.3
output = 1.2

[models."ft:gpt-4o-mini:acme:special"]
input = 9
output = 9
"""


def test_override_file_wins_over_the_package(tmp_path: Path) -> None:
    path = write(tmp_path, OVERRIDES)
    pricer = Pricer.from_settings(Settings(prices_file=path))
    own = pricer.price("gpt-4o", MIXED)
    assert own.cost_usd == pytest.approx((800 * 1 + 200 * 0.5 + 200 * 2 + 300 * 4) / 1e6)
    assert own.source == f"override:{path}" and not own.unknown_model
    # a glob, any case; cached defaults to input, reasoning to output
    glob = pricer.price("ft:GPT-4o-mini:acme:abc123", MIXED)
    assert glob.cost_usd == pytest.approx((1000 * 0.3 + 500 * 1.2) / 1e6)
    # an exact name beats a glob listed before it
    special = pricer.price("ft:gpt-4o-mini:acme:special", MIXED)
    assert special.cost_usd == pytest.approx((1000 * 9 + 500 * 9) / 1e6)
    # models not in the file still come from the package
    assert pricer.price("o3", MIXED, at=AFTER).source == SOURCE


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[models."m"]\ninput = 1\n', "needs input and output"),
        ('[models."m"]\ninput = 1\noutput = 2\ncache = 1\n', "unknown key 'cache'"),
        ('[models."m"]\ninput = -1\noutput = 2\n', "input must be a number >= 0"),
        ('[models."m"]\ninput = "1"\noutput = 2\n', "input must be a number >= 0"),
        ("models = 3\n", "expected [models"),
        ("[models\n", "prices file"),
    ],
)
def test_bad_override_file_is_one_config_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_overrides(write(tmp_path, text))


def test_missing_override_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No such file"):
        load_overrides(str(tmp_path / "absent.toml"))


def openai_token_models() -> list[str]:
    from genai_prices.data import providers

    openai = next(p for p in providers if p.id == "openai")
    names = []
    for model in openai.models:
        prices = model.prices if isinstance(model.prices, list) else [model.prices]
        keys = {k for p in prices for k, v in vars(getattr(p, "prices", p)).items() if v}
        if {"input_mtok", "output_mtok"} & keys:
            names.append(model.id)
    return names


USAGES = [
    (1000, 200, 500, 300),
    (0, 0, 7, 0),
    (123_456, 100_000, 4321, 4000),
    (272_001, 1, 10, 5),
    (1_000_000, 0, 0, 0),
]


def test_fast_path_equals_calc_price_for_every_openai_model(pricer: Pricer) -> None:
    checked = 0
    for name in openai_token_models():
        for i, c, o, r in USAGES:
            usage: Any = genai_prices.Usage(
                input_tokens=i, cache_read_tokens=c, output_tokens=o, output_reasoning_tokens=r
            )
            got = pricer.price(name, Usage(i, o, i + o, c, r), at=AFTER).cost_usd
            try:
                want = genai_prices.calc_price(
                    usage, name, provider_id="openai", genai_request_timestamp=AFTER
                )
            except LookupError:  # an id its own match rule does not accept (ft:...)
                assert got is None, name
                continue
            assert got == pytest.approx(float(want.total_price), rel=1e-12, abs=1e-15), name
            checked += 1
    assert checked > 200


def test_no_network_io(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pricing tried to use the network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    fresh = Pricer()
    assert fresh.price("gpt-4o", MIXED).cost_usd is not None
    assert fresh.price("gpt-5.4", MIXED, service_tier="flex").cost_usd is not None
    from genai_prices import update_prices

    assert update_prices._shared_updater.thread is None  # the updater never started


def test_model_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pricing, "_CACHE_LIMIT", 10)
    fresh = Pricer()
    for n in range(25):
        assert fresh.price(f"made-up-{n}", MIXED).unknown_model
    assert len(fresh._models) <= 10


def test_price_call_prefers_the_answering_model_and_reads_the_tier(pricer: Pricer) -> None:
    # gpt-4o-2024-05-13 answered a "gpt-4o" request: 5 / 15, no cached rate
    dated = pricer.price_call("gpt-4o", "gpt-4o-2024-05-13", MIXED)
    assert dated.cost_usd == pytest.approx((1000 * 5 + 500 * 15) / 1e6)
    # an unknown answering name (a deployment, a renaming proxy) falls back to the request
    renamed = pricer.price_call("gpt-4o", "acme-prod-4o", MIXED)
    assert renamed.cost_usd == pytest.approx((800 * 2.5 + 200 * 1.25 + 500 * 10) / 1e6)
    both = pricer.price_call("acme-a", "acme-b", MIXED)
    assert both.cost_usd is None and both.unknown_model
    # o3 priority tier from 2026-10-12: 3.50 / 0.875 / 14
    tiered = pricer.price_call("o3", None, MIXED, at=AFTER, output={"service_tier": "priority"})
    assert tiered.cost_usd == pytest.approx((800 * 3.5 + 200 * 0.875 + 500 * 14) / 1e6)
    assert pricer.price_call(None, None, MIXED) == pricing.PriceResult(None, SOURCE, False)
