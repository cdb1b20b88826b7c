"""A seeded database for query tests: varied calls written through ``insert_records``.

Deterministic (a seeded ``random.Random``) and built to exercise the query API: 3-deep
traces (op -> op -> llm), orphans whose parent was never recorded, times spread over days
with deliberate ties, NULLs in every sortable column but ``started_at``, unicode and SQL
metacharacters in text, properties, sessions, users, prompt digests and op versions.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from wiretrace_proxy.callrecord import JSON, CallRecord, JSONObject, Status, Usage
from wiretrace_proxy.storage.writes import insert_records

BASE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MODELS = ("gpt-4o", "gpt-4o-mini", "o3-mini", "unknown-model")
TEXTS = (
    "What is the capital of France?",
    "Résumé: café ☕ naïve — 日本語のテキスト",
    "100% sure it's a_b; not axb",
    "path C:\\temp\\new and a 'quote' ; DROP TABLE calls;--",
    "Ünïcödé ÉCOLE emoji 🚀 done",
    "plain english about trace context",
)
METACHARS = ("%", "_", "'", ";", "\\")


def _id(rng: random.Random) -> str:
    return f"{rng.getrandbits(64):016x}"


def make_record(
    rng: random.Random,
    *,
    started_at: datetime,
    trace_id: str,
    parent_id: str | None,
    kind: str,
    index: int,
) -> CallRecord:
    """One call; which columns are NULL depends on ``index`` so every kind of gap occurs."""
    model = MODELS[index % len(MODELS)] if kind == "llm" else None
    status: Status = ("ok", "ok", "ok", "error", "ok", "cancelled", "ok", "running")[index % 8]
    running = status == "running"
    latency = None if running else float(rng.choice((120.5, 480.0, 950.25, 2200.0, 480.0)))
    streamed = kind == "llm" and index % 3 != 0
    prompt = rng.choice((10, 100, 500, 1500)) if kind == "llm" and index % 5 != 4 else None
    completion = rng.choice((1, 50, 400)) if prompt is not None else None
    usage = (
        Usage(prompt, completion, prompt + completion, 0, None)
        if prompt is not None and completion is not None
        else None
    )
    text = TEXTS[index % len(TEXTS)]
    inputs: JSON = {"model": model, "messages": [{"role": "user", "content": text}]}
    output: JSON = {"choices": [{"message": {"content": f"answer {index}: {text[::-1]}"}}]}
    properties: JSONObject = {"env": ("prod", "staging")[index % 2]}
    if index % 4 == 0:
        properties["feature"] = "search"
    return CallRecord(
        id=_id(rng),
        project=("default", "other")[int(index % 7 == 0)],
        trace_id=trace_id,
        parent_id=parent_id,
        op_name="openai.chat.completions.create" if kind == "llm" else f"op.step{index % 3}",
        display_name=None,
        started_at=started_at,
        ended_at=None if running else started_at + timedelta(milliseconds=latency or 0),
        latency_ms=latency,
        ttft_ms=round((latency or 0) / 4, 2) if streamed and not running else None,
        overhead_ms=1.5,
        status=status,
        http_status=(200 if status == "ok" else 500) if kind == "llm" else None,
        model=model,
        response_model=model,
        inputs=inputs,
        output=output,
        usage=usage,
        usage_source="upstream" if usage else None,
        cost_usd=None if model in (None, "unknown-model") or not prompt else prompt * 1e-6,
        error={"message": "boom", "type": "server_error", "code": None}
        if status == "error"
        else None,
        session_id=f"session-{index % 4}" if index % 9 != 8 else None,
        user_id=f"user-{index % 3}" if index % 10 != 9 else None,
        attributes={"properties": properties, "request": {"method": "POST"}},
        kind="llm" if kind == "llm" else "op",
        op_version=f"v{index % 2}" if kind == "op" else None,
        prompt_digest=f"digest-{index % 3}" if kind == "llm" else None,
    )


def build(traces: int = 20, seed: int = 7) -> list[CallRecord]:
    """``traces`` 3-deep traces plus a few orphans; some start at the same instant."""
    rng = random.Random(seed)
    records: list[CallRecord] = []
    index = 0
    for t in range(traces):
        trace_id = f"{rng.getrandbits(128):032x}"
        # every fifth trace starts at the same instant as the one before: ties on started_at
        slot = t - 1 if t % 5 == 4 else t
        start = BASE + timedelta(hours=7 * slot, minutes=slot)
        parent: str | None = None
        for depth, kind in enumerate(("op", "op", "llm")):
            record = make_record(
                rng,
                started_at=start + timedelta(milliseconds=depth),
                trace_id=trace_id,
                parent_id=parent,
                kind=kind,
                index=index,
            )
            records.append(record)
            parent = record.id
            index += 1
    for o in range(4):  # orphans: their parent span lives in the app, not in wiretrace
        trace_id = f"{rng.getrandbits(128):032x}"
        start = BASE + timedelta(days=3, minutes=o)
        records.append(
            make_record(
                rng, started_at=start, trace_id=trace_id, parent_id="f" * 16, kind="llm", index=o
            )
        )
    return records


def insert(engine: Engine, records: list[CallRecord]) -> None:
    with engine.begin() as conn:
        insert_records(conn, records)


def metachar_records() -> list[CallRecord]:
    """Calls whose text fields hold one SQL metacharacter each, and a decoy each that a
    wildcard or an unescaped quote would also match."""
    rng = random.Random(99)
    out: list[CallRecord] = []
    for n, char in enumerate(METACHARS):
        for decoy in (False, True):
            value = f"x{'Q' if decoy else char}y"
            record = make_record(
                rng,
                started_at=BASE - timedelta(days=1, minutes=2 * n + int(decoy)),
                trace_id=f"{rng.getrandbits(128):032x}",
                parent_id=None,
                kind="llm",
                index=1 + n,
            )
            record.model = record.op_name = value
            record.session_id = record.user_id = record.prompt_digest = value
            record.project = record.trace_id = value
            record.op_version = value
            record.parent_id = value  # an orphan: no such parent recorded
            props: JSONObject = {f"k{char}": "vQ", "kQ": f"v{char}"} if decoy else {}
            record.attributes = {"properties": {f"k{char}": f"v{char}", **props, "m": value}}
            record.inputs = {"messages": [{"role": "user", "content": f"find {value} here"}]}
            out.append(record)
    return out
