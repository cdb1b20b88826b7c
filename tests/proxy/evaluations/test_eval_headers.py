"""Calls tagged ``Wiretrace-Eval-Run``/``Wiretrace-Eval-Row`` are filed under their row.

The headers are wiretrace's metadata: recorded as ``attributes.eval_run``, ``eval_row``
and ``eval_trial``, never sent upstream. A run's rows then show the tokens, cost and ids
of their calls as the wire recorded them, whether the call was stored before the row was
reported or after.
"""

from __future__ import annotations

import math

import openai
import pytest
from wiretrace_proxy.record.eval_tags import parse_eval_row

from tests.harness import Servers
from tests.proxy.evaluations.client import new_run, ok

pytestmark = pytest.mark.both_databases

KEY = "sk-test-evalheaders-000000000000000000001"


def tagged_call(client: openai.OpenAI, run: str, row: str, text: str = "hi") -> str:
    """One chat call made for ``row`` of ``run``; its call id."""
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": text}],
        extra_headers={"Wiretrace-Eval-Run": run, "Wiretrace-Eval-Row": row},
    )
    return raw.headers["wiretrace-call-id"]


def test_tagged_calls_give_each_row_its_wire_tokens_cost_and_call_ids(servers: Servers) -> None:
    base = servers.proxy_url
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    new_run(base, "hdr-run")
    # row 0 is reported first, its calls stored after; row 1's call is stored first
    ok(base, "POST", "/api/evaluations/runs/hdr-run/rows",
       {"rows": [{"row_index": 0, "output": "a", "scores": {"exact_match": True}}]})  # fmt: skip
    row0 = [tagged_call(client, "hdr-run", "0"), tagged_call(client, "hdr-run", "0:0", "again")]
    row1 = [tagged_call(client, "hdr-run", "1:1")]
    other = tagged_call(client, "another-run", "0")
    servers.flush()
    ok(base, "POST", "/api/evaluations/runs/hdr-run/rows", {"rows": [
        {"row_index": 1, "trial": 1, "output": "b", "scores": {"exact_match": False}},
        {"row_index": 2, "output": "c", "scores": {"exact_match": True}},
    ]})  # fmt: skip

    for seen in servers.fake.seen:  # metadata headers never reach the upstream
        assert not any(name.lower().startswith("wiretrace-") for name in seen.headers)
    record = servers.record(row1[0])
    assert record.attributes["eval_run"] == "hdr-run"
    assert (record.attributes["eval_row"], record.attributes["eval_trial"]) == (1, 1)
    assert servers.record(other).attributes["eval_run"] == "another-run"

    rows = {
        (r["row_index"], r["trial"]): r
        for r in ok(base, "GET", "/api/evaluations/runs/hdr-run/rows")["rows"]
    }
    for key, ids in (((0, 0), row0), ((1, 1), row1)):
        calls = [servers.record(i) for i in ids]
        assert rows[key]["call_ids"] == ids
        for field in ("prompt_tokens", "completion_tokens", "total_tokens"):
            expected = sum(getattr(c.usage, field) for c in calls if c.usage)
            assert rows[key]["usage"][field] == expected > 0
        costs = [c.cost_usd for c in calls]
        assert all(cost is not None for cost in costs)
        assert rows[key]["cost_usd"] == pytest.approx(math.fsum(c for c in costs if c))
    assert rows[(2, 0)]["call_ids"] == [] and rows[(2, 0)]["cost_usd"] is None
    assert rows[(2, 0)]["usage"] == {
        "prompt_tokens": None, "completion_tokens": None, "total_tokens": None,
    }  # fmt: skip

    run = ok(base, "GET", "/api/evaluations/runs/hdr-run")
    mine = [servers.record(i) for i in row0 + row1]
    assert run["usage"]["total_tokens"] == sum(c.usage.total_tokens or 0 for c in mine if c.usage)
    assert run["cost_usd"] == pytest.approx(math.fsum(c.cost_usd or 0 for c in mine))


def test_a_malformed_row_header_is_kept_as_sent_not_guessed(servers: Servers) -> None:
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    call_id = tagged_call(client, "hdr-run", "three")
    attributes = servers.record(call_id).attributes
    assert attributes["eval_run"] == "hdr-run" and attributes["eval_row_invalid"] == "three"
    assert "eval_row" not in attributes and "eval_trial" not in attributes


@pytest.mark.parametrize(
    ("header", "parsed"),
    [("7", (7, 0)), ("7:2", (7, 2)), (" 0:0 ", (0, 0)), ("-1", None), ("1:2:3", None),
     ("a", None), ("", None), ("١", None), ("9" * 13, None)],
)  # fmt: skip
def test_row_headers_are_an_index_and_an_optional_trial(
    header: str, parsed: tuple[int, int] | None
) -> None:
    assert parse_eval_row(header) == parsed


def test_the_finish_answer_counts_calls_the_writer_had_not_stored_yet(db_url: str) -> None:
    """The writer here stores only every 30 s (or when flushed): the calls are still
    pending when the finish is posted, and its answer (the SDK's summary) counts them."""
    servers = Servers(db_url, key_salt="test-salt", flush_interval=30.0)
    try:
        base = servers.proxy_url
        client = openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
        new_run(base, "lagging-run")
        ids = [tagged_call(client, "lagging-run", str(i), f"question {i}") for i in range(3)]
        rows = [{"row_index": i, "output": "a", "scores": {"exact_match": True}} for i in range(3)]
        ok(base, "POST", "/api/evaluations/runs/lagging-run/rows", {"rows": rows})
        assert ok(base, "GET", "/api/evaluations/runs/lagging-run")["usage"]["total_tokens"] is None

        finished = ok(
            base, "POST", "/api/evaluations/runs/lagging-run/finish", {"status": "finished"}
        )
        calls = [servers.record(i) for i in ids]
        assert all(c.usage is not None and c.cost_usd is not None for c in calls)
        tokens = sum(c.usage.total_tokens or 0 for c in calls if c.usage)
        assert finished["usage"]["total_tokens"] == tokens > 0
        assert finished["cost_usd"] == pytest.approx(math.fsum(c.cost_usd or 0 for c in calls))
    finally:
        servers.close()
