"""``reprice`` and ``GET /api/pricing/unknown``: cost is stored with the record and
recomputable; unknown models are listed, never priced with a wrong number.

Expected costs are worked by hand from genai-prices' bundled rates (USD per million tokens).
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import genai_prices
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from wiretrace_proxy.api.pricing import UnknownModelList
from wiretrace_proxy.appkeys import ENGINE
from wiretrace_proxy.callrecord import CallRecord, Usage
from wiretrace_proxy.commands.reprice import reprice
from wiretrace_proxy.record.pricing import Pricer, load_overrides
from wiretrace_proxy.storage import writes as queries
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.migrate import upgrade_to_head
from wiretrace_proxy.storage.models import CALLS
from wiretrace_proxy.storage.pricing import unknown_models

from tests.harness import Servers
from tests.proxy.process import wiretrace_cmd

SOURCE = f"genai-prices {genai_prices.__version__}"
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
MIXED = Usage(prompt_tokens=1000, completion_tokens=500, total_tokens=1500, cached_tokens=200)
GPT_4O = (800 * 2.5 + 200 * 1.25 + 500 * 10) / 1e6
"""gpt-4o: input 2.50, cached 1.25, output 10."""
GPT_4O_MAY = (1000 * 5 + 500 * 15) / 1e6
"""gpt-4o-2024-05-13: input 5, output 15, no cached rate."""
O3_OLD = (800 * 10 + 200 * 0.5 + 500 * 40) / 1e6
"""o3 before 2025-06-10: input 10, cached 0.50, output 40."""
OVERRIDE = (800 * 0.5 + 200 * 0.25 + 500 * 1) / 1e6
PRICES = '[models."llama-*"]\ninput = 0.5\ncached_input = 0.25\noutput = 1\n'


def record(n: int, model: str | None, **changes: Any) -> CallRecord:
    rec = CallRecord(
        id=f"{n:016x}",
        project="p",
        trace_id=f"{n:032x}",
        parent_id=None,
        op_name="openai.chat.completions.create",
        display_name=None,
        started_at=T0 + timedelta(minutes=n),
        ended_at=None,
        latency_ms=10.0,
        ttft_ms=None,
        overhead_ms=None,
        status="ok",
        http_status=200,
        model=model,
        response_model=None,
        inputs={"model": model},
        output={"object": "chat.completion"},
        usage=MIXED,
        usage_source="upstream",
        cost_usd=None,
        error=None,
    )
    return dataclasses.replace(rec, **changes)


RECORDS = [
    record(1, "gpt-4o"),
    record(2, "gpt-4o", response_model="gpt-4o-2024-05-13"),  # the answering model wins
    record(3, "my-azure-deployment", response_model="gpt-4o-2024-08-06"),
    record(4, "gpt-4o", response_model="proxy-renamed"),  # unknown answer: requested model
    record(5, "o3", started_at=datetime(2025, 5, 1, tzinfo=UTC)),  # the price then in force
    record(6, "llama-3-local"),
    record(7, "llama-3-local", project="q"),
    record(8, "gpt-4o", usage=None, usage_source=None),  # nothing to price
    record(9, "gpt-4o", cost_usd=123.0),  # a stale stored cost is corrected
]
EXPECTED = {1: GPT_4O, 2: GPT_4O_MAY, 3: GPT_4O, 4: GPT_4O, 5: O3_OLD, 9: GPT_4O}


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine_for(db_url)
    upgrade_to_head(engine)
    with engine.begin() as conn:
        queries.insert_records(conn, RECORDS)
    yield engine
    engine.dispose()


def costs(engine: Engine) -> dict[int, float | None]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(CALLS.c.id, CALLS.c.cost_usd))
        return {int(call_id, 16): cost for call_id, cost in rows}


@pytest.mark.parametrize("batch_size", [1000, 2])
def test_reprice_stores_the_price_sources_numbers(engine: Engine, batch_size: int) -> None:
    report = reprice(engine, Pricer(), batch_size=batch_size)
    stored = costs(engine)
    for n, want in EXPECTED.items():
        assert stored[n] == pytest.approx(want, rel=1e-12), n
    assert stored[6] is None and stored[7] is None and stored[8] is None
    assert (report.scanned, report.priced, report.updated) == (8, 6, 6)
    assert dict(report.unknown) == {"llama-3-local": 2}
    again = reprice(engine, Pricer(), batch_size=batch_size)
    assert (again.priced, again.updated) == (6, 0)  # nothing changed: nothing written


def test_override_prices_the_unknown_models(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(PRICES)
    report = reprice(engine, Pricer(load_overrides(str(path))))
    assert costs(engine)[6] == pytest.approx(OVERRIDE) and not report.unknown


@pytest.mark.parametrize(
    ("filters", "updated"),
    [
        ({"model": "gpt-4o"}, {1, 2, 4, 9}),
        ({"model": "gpt-4o-2024-08-06"}, {3}),  # the answering model matches too
        ({"since": T0 + timedelta(minutes=3), "until": T0 + timedelta(minutes=5)}, {3, 4}),
        ({"project": "q"}, set()),
    ],
)
def test_filters_limit_what_is_repriced(
    engine: Engine, filters: dict[str, Any], updated: set[int]
) -> None:
    reprice(engine, Pricer(), **filters)
    assert {n for n, cost in costs(engine).items() if cost is not None and n != 9} == updated - {9}


def test_unknown_models_lists_what_no_price_covers(engine: Engine) -> None:
    with engine.connect() as conn:
        models, repriceable = unknown_models(conn, Pricer())
    assert [(m["model"], m["calls"]) for m in models] == [("llama-3-local", 2)]
    assert models[0]["last_seen"] == (T0 + timedelta(minutes=7)).isoformat()
    assert repriceable == 5  # calls 1-5: priceable now, recorded with no cost
    with engine.connect() as conn:
        assert unknown_models(conn, Pricer(), project="q")[0][0]["calls"] == 1


async def test_api_lists_unknown_models(servers: Servers) -> None:
    with servers.app[ENGINE].begin() as conn:
        queries.insert_records(conn, RECORDS)
    async with aiohttp.ClientSession() as session:
        async with session.get(servers.proxy_url + "/api/pricing/unknown") as resp:
            status, body = resp.status, await resp.json()
        async with session.get(servers.proxy_url + "/api/pricing/unknown?model=x") as resp:
            bad = resp.status, await resp.json()
    assert status == 200
    UnknownModelList.model_validate(body)
    assert [(m["model"], m["response_model"], m["calls"]) for m in body["models"]] == [
        ("llama-3-local", None, 2)
    ]
    assert body["repriceable_calls"] == 5 and body["source"].startswith("genai-prices ")
    assert bad[0] == 400 and bad[1]["error"]["param"] == "model"


async def test_api_uses_the_servers_prices_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(PRICES)
    servers = Servers(f"sqlite:///{tmp_path / 'w.db'}", key_salt="s", prices_file=str(path))
    try:
        with servers.app[ENGINE].begin() as conn:
            queries.insert_records(conn, RECORDS)
        async with aiohttp.ClientSession() as session:
            async with session.get(servers.proxy_url + "/api/pricing/unknown") as resp:
                body = await resp.json()
        assert body["models"] == [] and body["repriceable_calls"] == 7
    finally:
        servers.close()


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        wiretrace_cmd(*args),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_cli_reprice(engine: Engine, db_url: str, tmp_path: Path) -> None:
    db = db_url.removeprefix("sqlite:///")
    done = run("reprice", "--db", db, "--model", "llama-3-local")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"priced 0 of 2 calls with usage (0 updated) from {SOURCE}",
        "unknown models (add them to a --prices file, then run reprice again):",
        "  llama-3-local: 2 calls",
    ]
    path = tmp_path / "prices.toml"
    path.write_text(PRICES)
    done = run("reprice", "--db", db, "--prices", str(path), "--since", "2026-11-02T08:02:00Z")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"priced 6 of 6 calls with usage (6 updated) from {SOURCE} and override:{path}"
    ]
    row = sqlite3.connect(db).execute("select cost_usd from calls where model = 'o3'").fetchone()
    assert row == (None,)  # before --since: untouched (calls 1 and 5)


def test_cli_reprice_reads_settings_not_filters_from_the_environment(
    engine: Engine, db_url: str
) -> None:
    """WIRETRACE_DB says where; a server's WIRETRACE_PROJECT must not narrow the reprice."""
    env = {"WIRETRACE_DB": db_url, "WIRETRACE_PROJECT": "q"}
    done = run("reprice", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("priced 6 of 8 calls with usage (6 updated)")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--since", "yesterday"], 2, "not an ISO 8601 time"),
        (["--upstream", "api.groq.com"], 2, "upstream must be an http(s) URL"),
        (["--prices", "/nonexistent/prices.toml"], 2, "prices file /nonexistent/prices.toml"),
        (["--db", "mysql://u@h/d"], 2, "--db/WIRETRACE_DB: unsupported database mysql://"),
        (["--model"], 2, "argument --model: expected one argument"),
    ],
)
def test_cli_reprice_errors_are_one_line(
    db_url: str, args: list[str], code: int, message: str
) -> None:
    done = run("reprice", "--db", db_url, *args)
    assert done.returncode == code and message in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_refuses_a_bad_prices_file(tmp_path: Path) -> None:
    bad = tmp_path / "prices.toml"
    bad.write_text('[models."m"]\ninput = 1\n')
    done = run("serve", "--db", str(tmp_path / "w.db"), "--port", "0", "--prices", str(bad))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f'wiretrace serve: error: --prices/WIRETRACE_PRICES: prices file {bad}: [models."m"] '
        "needs input and output (USD per million tokens)"
    ]
