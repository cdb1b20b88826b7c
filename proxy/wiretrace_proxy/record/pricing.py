"""``cost_usd`` of a call from its model and token usage, from a maintained price source.

Why ``genai-prices`` (pydantic's price database): ``tokencost`` and litellm's
``model_prices_and_context_window.json`` are flat per-token maps keyed by model name, with
no provider (Azure, Groq, OpenRouter price one name differently), no price history (o3's
input cost 5x more before 2025-06-10, so a flat map reprices old calls wrongly), no service
or long-context tiers, and litellm drags a large dependency tree in for one JSON file.
``genai-prices`` has all of these, matches dated snapshots, is typed and maintained, and its
usage semantics match OpenAI's: ``cache_read_tokens`` is a subset of ``input_tokens`` and
``output_reasoning_tokens`` of ``output_tokens``, as cached tokens are counted inside
``prompt_tokens`` and reasoning inside ``completion_tokens``; our ``Usage`` maps one to one.

No network I/O, ever: only ``UpdatePrices.start()`` (never called) fetches prices, and we
read the bundled ``genai_prices.data``, not the process-wide snapshot: reproducible numbers.

Fast: ``calc_price`` costs ~65 µs, too much per recorded call on the writer thread. Its
arithmetic is affine in the four counts within a long-context tier band, so the first call
per (model, price in force, band) asks the package for five probe prices and keeps the
coefficients; later calls cost a dict lookup and five Decimal products (~3 µs).

Unknown or unpriceable models (no token price: per audio hour...) give ``cost_usd=None``
and ``unknown_model=True``, never a guess. Web searches, audio tokens and cache writes are
not in usage, so not charged. A TOML file (``--prices``) wins over the package, in USD per
million tokens, keyed by model name, exact (tried first) or glob, any case::

    [models."ft:gpt-4o-mini:acme:*"]
    input = 0.30
    cached_input = 0.15   # optional, default: input
    output = 1.20
    reasoning = 1.20      # optional, default: output (reasoning is billed as output)
"""

from __future__ import annotations

import bisect
import fnmatch
import logging
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import version
from typing import TYPE_CHECKING

from wiretrace_proxy.callrecord import Usage
from wiretrace_proxy.errors import ConfigError
from wiretrace_proxy.settings import DEFAULT_UPSTREAM, ENV_PRICES, Settings

if TYPE_CHECKING:
    from genai_prices.types import ModelInfo, ModelPrice, Provider

__all__ = ["ENV_PRICES", "OverridePrice", "PriceResult", "Pricer", "load_overrides"]

log = logging.getLogger(__name__)

_CACHE_LIMIT = 10_000  # entries per cache, then cleared: clients choose the model names
_FIELDS = {"input", "cached_input", "output", "reasoning"}


@dataclass(frozen=True, slots=True)
class PriceResult:
    cost_usd: float | None
    """USD, or None when the call cannot be priced (no usage, unknown model)."""
    source: str
    """``genai-prices <version>`` or ``override:<file>``: where the number came from."""
    unknown_model: bool = False
    """The call has usage but no price for its model: add it to a prices file."""


@dataclass(frozen=True, slots=True)
class OverridePrice:
    """One prices-file entry; every price is USD per million tokens."""

    pattern: str
    input: Decimal
    cached_input: Decimal
    output: Decimal
    reasoning: Decimal

    def cost(self, i: int, c: int, o: int, r: int) -> Decimal:
        total = (i - c) * self.input + c * self.cached_input
        return (total + (o - r) * self.output + r * self.reasoning) / 1_000_000


def load_overrides(path: str) -> list[OverridePrice]:
    """Entries of a prices file, exact names first; a bad file is one ``ConfigError`` line."""
    try:
        with open(path, "rb") as f:
            models = tomllib.load(f).get("models", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"prices file {path}: {exc}") from None
    if not isinstance(models, dict):
        raise ConfigError(f'prices file {path}: expected [models."<name>"] tables')
    entries = [_entry(path, str(name), spec) for name, spec in models.items()]
    return sorted(entries, key=lambda e: any(ch in e.pattern for ch in "*?["))


def _entry(path: str, name: str, spec: object) -> OverridePrice:
    where = f'prices file {path}: [models."{name}"]'
    if not isinstance(spec, dict) or not {"input", "output"} <= spec.keys():
        raise ConfigError(f"{where} needs input and output (USD per million tokens)")
    if unknown := sorted(spec.keys() - _FIELDS):
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; allowed: {sorted(_FIELDS)}")
    values: dict[str, Decimal] = {}
    for key, value in spec.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{where}: {key} must be a number >= 0, got {value!r}")
        values[key] = Decimal(str(value))
    i, o = values["input"], values["output"]
    return OverridePrice(
        name.lower(), i, values.get("cached_input", i), o, values.get("reasoning", o)
    )


@dataclass(frozen=True, slots=True)
class _Known:
    model: ModelInfo
    own: bool  # listed by the provider itself, not a fallback: only then do tiers apply


@dataclass(slots=True)
class _Affine:
    """Coefficients of one active price: ``bands[k]`` for long-context tier band ``k``."""

    price: ModelPrice
    starts: list[int]
    bands: dict[int, tuple[Decimal, ...] | None]
    priceable: bool


class Pricer:
    """Prices calls; built once per server (or ``reprice`` run) and reused on one thread."""

    def __init__(
        self,
        overrides: list[OverridePrice] | None = None,
        *,
        upstream: str = DEFAULT_UPSTREAM,
        prices_file: str | None = None,
    ) -> None:
        from genai_prices.data import providers
        from genai_prices.data_snapshot import DataSnapshot

        self._snapshot = DataSnapshot(providers=providers, from_auto_update=False)
        self.source = f"genai-prices {version('genai-prices')}"
        self.override_source = f"override:{prices_file or '<inline>'}"
        self._overrides = overrides or []
        self._upstream = upstream
        self._providers: dict[str, Provider] = {}
        self._models: dict[tuple[str, str], OverridePrice | _Known | None] = {}
        self._affine: dict[object, _Affine] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Pricer:
        path = settings.prices_file
        return cls(
            load_overrides(path) if path else [], upstream=settings.upstream, prices_file=path
        )

    def price(
        self,
        model: str | None,
        usage: Usage | None,
        *,
        upstream: str | None = None,
        at: datetime | None = None,
        service_tier: str | None = None,
    ) -> PriceResult:
        """The cost of one call. ``at`` (default now) picks the price in force then;
        ``service_tier`` is the response's (``flex``, ``priority``...). Never raises."""
        if usage is None or (usage.prompt_tokens is None and usage.completion_tokens is None):
            return PriceResult(None, self.source)
        i, c = usage.prompt_tokens or 0, usage.cached_tokens or 0
        o, r = usage.completion_tokens or 0, usage.reasoning_tokens or 0
        if not model or c > i or r > o:  # inconsistent counts: no number beats a wrong one
            return PriceResult(None, self.source)
        provider = self._provider(upstream or self._upstream)
        entry = self._lookup(provider, model)
        if isinstance(entry, OverridePrice):
            return PriceResult(float(entry.cost(i, c, o, r)), self.override_source)
        cost = None if entry is None else self._cost(entry, at, service_tier, (i, c, o, r))
        return PriceResult(None if cost is None else float(cost), self.source, cost is None)

    def price_call(
        self,
        model: str | None,
        response_model: str | None,
        usage: Usage | None,
        *,
        at: datetime | None = None,
        output: object = None,
        upstream: str | None = None,
    ) -> PriceResult:
        """A recorded call's cost: the model that answered (``gpt-4o-2024-05-13`` costs
        more than today's ``gpt-4o``; an Azure deployment name is priced by it), else the
        one requested; the service tier read from the response body ``output``."""
        tier = output.get("service_tier") if isinstance(output, dict) else None
        tier = tier if isinstance(tier, str) else None
        result = PriceResult(None, self.source)
        for name in dict.fromkeys(n for n in (response_model, model) if n):
            result = self.price(name, usage, upstream=upstream, at=at, service_tier=tier)
            if not result.unknown_model:
                break
        return result

    def _provider(self, url: str) -> Provider:
        found = self._providers.get(url)
        if found is None:
            try:
                found = self._snapshot.find_provider(None, None, url)
            except LookupError:  # a self-hosted or unlisted upstream: priced as OpenAI
                found = self._snapshot.find_provider(None, "openai", None)
            self._providers[url] = found
        return found

    def _lookup(self, provider: Provider, model: str) -> OverridePrice | _Known | None:
        key = (provider.id, model)
        if key in self._models:
            return self._models[key]
        name = model.lower()
        entry: OverridePrice | _Known | None = next(
            (o for o in self._overrides if fnmatch.fnmatchcase(name, o.pattern)), None
        )
        if entry is None:
            found = provider.find_model(name, all_providers=self._snapshot.providers)
            own = found is not None and any(found is m for m in provider.models)
            entry = _Known(found, own) if found is not None else None
        if len(self._models) >= _CACHE_LIMIT:
            self._models.clear()
        self._models[key] = entry
        return entry

    def _cost(
        self, known: _Known, at: datetime | None, tier: str | None, counts: tuple[int, ...]
    ) -> Decimal | None:
        model, when = known.model, at or datetime.now(UTC)
        variants = model.price_variants if tier and known.own else None
        base = model.get_prices(when)  # the snapshot's own object: its id is stable
        key: object = id(base)
        if variants:  # a service tier: which variants are in force is part of the key
            active = tuple(v.constraint is None or v.constraint.active(when) for v in variants)
            key = (key, id(model), tier, active)
        affine = self._affine.get(key)
        if affine is None:
            if len(self._affine) >= _CACHE_LIMIT:
                self._affine.clear()
            price = model.get_prices(when, {"service_tier": str(tier)}) if variants else base
            affine = self._affine[key] = _prepare(price)
        price = affine.price
        if not affine.priceable:
            return None
        band = bisect.bisect_left(affine.starts, counts[0])
        try:
            if band not in affine.bands:
                affine.bands[band] = _coefficients(price, affine.starts, band)
            coef = affine.bands[band]
            if coef is None:  # tier band too narrow to probe: ask the package directly
                return _probe(price, *counts)
        except (ValueError, ArithmeticError) as exc:
            log.warning("pricing: cannot price %s from token counts: %s", model.id, exc)
            affine.priceable = False
            return None
        c0, a_in, a_cached, a_out, a_reasoning = coef
        i, c, o, r = counts
        return c0 + a_in * i + a_cached * c + a_out * o + a_reasoning * r


def _prepare(price: ModelPrice) -> _Affine:
    from genai_prices.types import TieredPrices

    values = {k: v for k, v in vars(price).items() if v is not None}
    # Per audio hour or character cannot be priced from tokens; no price at all is free.
    priceable = not values or bool({"input_mtok", "output_mtok"} & values.keys())
    starts = sorted(
        {t.start for v in values.values() if isinstance(v, TieredPrices) for t in v.tiers}
    )
    return _Affine(price, starts, {}, priceable)


def _coefficients(price: ModelPrice, starts: list[int], band: int) -> tuple[Decimal, ...] | None:
    """``(c0, a_input, a_cached, a_output, a_reasoning)`` from unit probes inside ``band``;
    None if the band is too narrow to probe. The package's own errors propagate."""
    r = 1 if band == 0 else starts[band - 1] + 1
    if band < len(starts) and r + 1 > starts[band]:
        return None
    base = _probe(price, r, 0, 0, 0)
    a_in = _probe(price, r + 1, 0, 0, 0) - base
    a_cached = _probe(price, r, 1, 0, 0) - base
    out = _probe(price, r, 0, 1, 0)
    a_reasoning = _probe(price, r, 0, 1, 1) - out
    return base - a_in * r, a_in, a_cached, out - base, a_reasoning


def _probe(price: ModelPrice, i: int, c: int, o: int, r: int) -> Decimal:
    from genai_prices import Usage as U

    usage = U(input_tokens=i, cache_read_tokens=c, output_tokens=o, output_reasoning_tokens=r)
    return price.calc_price(usage)["total_price"]
