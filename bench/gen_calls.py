"""Fill a wiretrace SQLite database with N realistic calls, for ``bench_query.py``.

The database is created and migrated by the product's own code (``create_engine_for`` +
``upgrade_to_head``); rows are ``CallRecord`` objects turned into columns by the product's
``storage.rows.record_to_row`` and stored in that exact format (checked against an
``insert_records`` round trip at start), then bulk-inserted through the raw DBAPI in large
transactions, in time order, like the writer does (then the stats rollups are counted from
them, as the writer would have kept them). Generation runs in worker processes,
one chunk of rows (a slice of the time span) each; the same ``--seed`` gives the same
database.

What is in it (defaults, 30 days ending ``--end``):

- proxied LLM calls: gpt-4o-mini most, then gpt-4o, gpt-4.1, text-embedding-3-small,
  o3-mini, gpt-5 and a few models no price source knows (their cost is NULL); chat
  completions mostly, some Responses API and embeddings; ~60 % of chats streamed (ttft);
- ~3 % errors (429, 500, 400), ~0.7 % cancelled, a few still running;
- log-normal latency, ttft and token counts; cost from ``genai-prices`` per model;
- ~1,000 sessions of ~200 users, properties ``env``, ``team``, ``feature``;
- a few dozen prompt templates (``prompt_digest``), short chat messages, some unicode;
- ~20 % of rows in SDK traces, 3 deep (op root → op child → LLM call) with op versions,
  and ``--big-traces`` traces of exactly 50 calls (1 root, 7 ops, 42 LLM calls).

Usage: ``.venv/bin/python bench/gen_calls.py [--rows N] [--db PATH] [--seed S]``. An
existing file that already holds N calls is reused; ``--force`` regenerates.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as sqlite_dialect
from wiretrace_proxy.callrecord import JSON, CallRecord, JSONObject, Status, Usage
from wiretrace_proxy.storage import rollup_writes, text_index, writes
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.key_order import KeyOrderType
from wiretrace_proxy.storage.migrate import upgrade_to_head
from wiretrace_proxy.storage.models import CALLS
from wiretrace_proxy.storage.rows import record_to_row

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
DEFAULT_ROWS = 1_000_000
DEFAULT_END = datetime(2026, 11, 25, tzinfo=UTC)
CHUNK_ROWS = 20_000
COLUMNS: Final = tuple(col.name for col in CALLS.c)
JSON_COLUMNS: Final = frozenset(
    col.name
    for col in CALLS.c
    if isinstance(col.type, sa.JSON) or isinstance(getattr(col.type, "impl", None), sa.JSON)
)
_KEY_ORDER: Final = [col.name for col in CALLS.c if isinstance(col.type, KeyOrderType)]
"""Columns bound with a value their type turns into another (NULL on SQLite)."""
_SQLITE: Final = sqlite_dialect.dialect()
Row = tuple[object, ...]

_dumps = json.JSONEncoder(separators=(",", ":")).encode
"""The engine's JSON serialiser (compact, ASCII-escaped); checked by ``check_row_format``."""


# --- what the data looks like ---------------------------------------------------------

MODELS: Final = (
    # name, weight, median latency ms, chat (False: embeddings)
    ("gpt-4o-mini", 44.0, 900.0, True),
    ("gpt-4o", 17.0, 1800.0, True),
    ("gpt-4.1", 10.0, 2100.0, True),
    ("text-embedding-3-small", 10.0, 140.0, False),
    ("o3-mini", 7.0, 5200.0, True),
    ("gpt-5", 6.0, 8000.0, True),
    ("llama-3.1-70b-instruct", 3.0, 1500.0, True),
    ("acme-ft-support-v2", 2.0, 1100.0, True),
    ("mistral-large-latest", 1.0, 1700.0, True),
)
REASONING_MODELS: Final = frozenset({"o3-mini", "gpt-5"})
PROJECTS: Final = (("default", 0.85), ("batch-jobs", 0.15))
ENVS: Final = (("prod", 0.8), ("staging", 0.15), ("dev", 0.05))
FEATURES: Final = {
    # feature: team
    "support_chat": "support",
    "ticket_triage": "support",
    "search_answer": "search",
    "doc_summary": "knowledge",
    "invoice_extract": "finance",
    "email_draft": "growth",
    "code_assist": "platform",
    "translate": "growth",
}
FEATURE_WEIGHTS: Final = (30.0, 12.0, 15.0, 12.0, 6.0, 9.0, 10.0, 6.0)

SENTENCES: Final = (
    "Hi, I was charged twice for order #{n}, can I get a refund?",
    "How do I reset my password? The link in the email has expired.",
    "¿Dónde está mi pedido {n}? Lo pedí hace una semana.",
    "Mein Paket nach Zürich ist immer noch nicht angekommen.",
    "The app crashes every time I upload a photo 📷 from my phone.",
    "注文 {n} をキャンセルしたいです。",
    "Can you summarise the attached meeting notes in three bullet points?",
    "Translate this into French: our office is closed on Friday.",
    "Write a polite follow-up email to a customer who has not paid invoice {n}.",
    "What is the difference between the Pro and the Team plan?",
    "Extract the invoice number, the date and the total amount from this text.",
    "Invoice {n} dated 2026-10-{d:02d}, total 1 284,50 € incl. VAT.",
    "The quarterly revenue grew by 12% while churn dropped to 3.1%.",
    "Our API returns a 502 error when the payload is larger than 10 MB.",
    "Is there a way to export my data as CSV?",
    "Please classify this ticket: billing, technical, account or other.",
    "Customer says the dashboard is slow since the last release.",
    "Refactor this function so it does not read the whole file into memory.",
    "def load(path):\n    with open(path) as f:\n        return json.load(f)",
    "Explain why the test fails only on CI and not locally.",
    "Naïve question: can I change the billing currency to CHF?",
    "Привет! Как изменить адрес доставки?",
    "Le client demande un remboursement partiel pour la commande {n}.",
    "We moved the meeting to Thursday at 10:00 CET.",
    "Summarise the customer's sentiment in one word.",
    "Our shipping partner in São Paulo reports a two-day delay.",
    "Find the three most relevant help-centre articles for this question.",
    "The user wants to know whether their data is stored in the EU.",
)
ANSWERS: Final = (
    "I'm sorry about the double charge. I've opened a refund request for order #{n}; "
    "you'll see the money back within 5-7 business days.",
    "You can reset your password from Settings → Security → Reset password.",
    "Tu pedido {n} salió de nuestro almacén ayer y llegará en 2 días hábiles.",
    "Es tut uns leid! Wir haben eine Nachforschung für Ihr Paket gestartet.",
    "- Revenue up 12%\n- Churn down to 3.1%\n- Hiring freeze until Q2",
    "Notre bureau est fermé le vendredi.",
    "billing",
    "technical",
    '{{"invoice_number": "INV-{n}", "date": "2026-10-{d:02d}", "total": 1284.5}}',
    "The Team plan adds shared workspaces, SSO and an audit log on top of Pro.",
    "Yes: Settings → Data → Export lets you download everything as CSV.",
    "Positive 🙂",
    "Here is a streaming version:\n\n```python\ndef load(path):\n    with open(path) as f:\n"
    "        for line in f:\n            yield json.loads(line)\n```",
    "The test depends on the local timezone; CI runs in UTC.",
    "Your data is stored in Frankfurt (eu-central-1) and never leaves the EU.",
    "ご注文 {n} はキャンセルされました。",
)
SYSTEM_PROMPTS: Final = {
    "support_chat": "You are Acme's friendly support assistant. Answer in the user's language.",
    "ticket_triage": "Classify the ticket into exactly one of: billing, technical, account, other.",
    "search_answer": "Answer using only the provided help-centre articles. Cite them as [n].",
    "doc_summary": "Summarise the document for a busy executive.",
    "invoice_extract": "Extract invoice fields and reply with JSON only.",
    "email_draft": "Draft a short, polite business email.",
    "code_assist": "You are a senior Python engineer. Be concise.",
    "translate": "Translate faithfully; keep formatting and placeholders.",
}
PROMPT_VERSIONS: Final = (
    "",
    " Keep answers under 120 words.",
    " Never promise refunds above 100 EUR without escalation.",
    " Use a warm tone.",
    " If unsure, ask one clarifying question.",
)
ERRORS: Final = (
    # weight, http status, error object
    (
        5.0,
        429,
        {
            "message": "Rate limit reached for requests per min (RPM). Please try again in 20s.",
            "type": "requests",
            "code": "rate_limit_exceeded",
        },
    ),
    (
        2.0,
        500,
        {
            "message": "The server had an error while processing your request. Sorry about that!",
            "type": "server_error",
            "code": None,
        },
    ),
    (
        1.5,
        400,
        {
            "message": "This model's maximum context length is 128000 tokens.",
            "type": "invalid_request_error",
            "code": "context_length_exceeded",
        },
    ),
    (
        1.0,
        503,
        {"message": "upstream connect error", "type": "upstream_unavailable", "code": None},
    ),
)

TRACE_SHAPES: Final[dict[str, list[tuple[str, list[str | None]]]]] = {
    # root op: [(child op, [model or None for "pick a chat model", ...]), ...]
    "support_agent.run": [
        ("support_agent.retrieve", ["text-embedding-3-small"]),
        ("support_agent.answer", [None, None]),
        ("support_agent.check", ["gpt-4o-mini"]),
    ],
    "rag.answer": [
        ("rag.search", ["text-embedding-3-small"]),
        ("rag.generate", [None]),
    ],
    "summarize_document": [
        ("summarize_document.chunk", ["gpt-4o-mini"]),
        ("summarize_document.chunk", ["gpt-4o-mini"]),
        ("summarize_document.chunk", ["gpt-4o-mini"]),
        ("summarize_document.combine", ["gpt-4o"]),
    ],
}
BIG_TRACE_OP = "batch_eval.run"
BIG_TRACE_CHILD = "batch_eval.case"
BIG_TRACE_CHILDREN, BIG_TRACE_LLM = 7, 6  # 1 + 7 + 7 * 6 = 50 calls
TRACE_UNIT_SHARE = 0.04
"""Share of units (a standalone call or a whole trace) that are SDK traces: ~20 % of rows."""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _op_versions(op: str) -> list[str]:
    return [_digest(f"def {op}(...):  # v{v}") for v in range(1 + len(op) % 3)]


# --- prices ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per token for one model."""

    input: float
    cached: float
    output: float


def model_rates() -> dict[str, Rates]:
    """Per-token rates from ``genai-prices`` (a maintained source); unknown models absent."""
    try:
        from genai_prices import Usage as PriceUsage
        from genai_prices import calc_price
    except ImportError:
        print("genai-prices not installed: every cost_usd is NULL", file=sys.stderr)
        return {}
    rates: dict[str, Rates] = {}
    million = 1_000_000
    for name, *_ in MODELS:
        try:
            full = calc_price(
                PriceUsage(input_tokens=million, output_tokens=million),
                model_ref=name,
                provider_id="openai",
            )
            cached = calc_price(
                PriceUsage(input_tokens=million, cache_read_tokens=million, output_tokens=0),
                model_ref=name,
                provider_id="openai",
            )
        except LookupError:
            continue
        rates[name] = Rates(
            input=float(full.input_price) / million,
            cached=float(cached.input_price) / million,
            output=float(full.output_price) / million,
        )
    return rates


# --- the stored row format -------------------------------------------------------------


def _encode(name: str, value: object) -> object:
    if value is None:
        return None
    if name in JSON_COLUMNS:
        return _dumps(value)
    if isinstance(value, datetime):
        v = value.astimezone(UTC)
        return (
            f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
            f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
        )
    return value


_DATETIME_COLUMNS: Final = frozenset(("started_at", "ended_at"))
_ENCODED: Final = tuple(
    (name, name in JSON_COLUMNS or name in _DATETIME_COLUMNS) for name in COLUMNS
)


def to_row(rec: CallRecord) -> Row:
    """One record as the DBAPI row the engine would store (``COLUMNS`` order)."""
    row = record_to_row(rec)
    for name in _KEY_ORDER:
        row[name] = KeyOrderType().process_bind_param(row[name], _SQLITE)
    return tuple(_encode(name, row[name]) if enc else row[name] for name, enc in _ENCODED)


def insert_sql() -> str:
    names = ", ".join(COLUMNS)
    marks = ", ".join("?" for _ in COLUMNS)
    return f"INSERT INTO calls ({names}) VALUES ({marks})"


def check_row_format(sample: CallRecord) -> None:
    """Fail unless ``to_row`` stores exactly what ``storage.writes.insert_records`` stores."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine_for(f"sqlite:///{tmp}/check.db")
        try:
            upgrade_to_head(engine)
            with engine.begin() as conn:
                writes.insert_records(conn, [sample])
                names = ", ".join(COLUMNS)
                stored = tuple(conn.exec_driver_sql(f"SELECT {names} FROM calls").one())
        finally:
            engine.dispose()
    mine = to_row(sample)
    if stored != mine:
        diff = [(n, a, b) for n, a, b in zip(COLUMNS, stored, mine, strict=True) if a != b]
        raise SystemExit(f"gen_calls: row format drifted from insert_records: {diff}")


# --- generation -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything a worker needs to generate any chunk (picklable)."""

    seed: int
    rows: int
    start: float
    """Epoch seconds of the first possible call."""
    span_s: float
    big_chunks: frozenset[int]
    """Chunks that hold one 50-call trace."""
    rates: dict[str, Rates]

    @property
    def chunks(self) -> int:
        return math.ceil(self.rows / CHUNK_ROWS)

    def chunk_rows(self, index: int) -> int:
        return min(CHUNK_ROWS, self.rows - index * CHUNK_ROWS)


@dataclass(frozen=True, slots=True)
class Context:
    """Who and what a unit (a call or a whole trace) belongs to."""

    project: str
    session_id: str | None
    user_id: str | None
    properties: dict[str, str]
    feature: str


class ChunkGen:
    """Generates the rows of one chunk: a slice of the time span, in time order."""

    def __init__(self, plan: Plan, index: int) -> None:
        self.plan = plan
        self.index = index
        self.rng = random.Random(plan.seed * 1_000_003 + index)
        pools = random.Random(plan.seed)  # the same sessions and users in every chunk
        self.users = [f"usr_{pools.getrandbits(40):010x}" for _ in range(200)]
        self.sessions = [
            (f"sess_{pools.getrandbits(48):012x}", pools.choice(self.users)) for _ in range(1000)
        ]
        self.session_cum = list(
            itertools.accumulate(1.0 / (rank + 1) ** 0.7 for rank in range(len(self.sessions)))
        )
        self.model_names = [m[0] for m in MODELS if m[3]]
        self.model_cum = list(itertools.accumulate(m[1] for m in MODELS if m[3]))
        self.error_cum = list(itertools.accumulate(e[0] for e in ERRORS))
        self.feature_cum = list(itertools.accumulate(FEATURE_WEIGHTS))
        self.cum: dict[int, tuple[list[str], list[float]]] = {
            id(pairs): ([p[0] for p in pairs], list(itertools.accumulate(p[1] for p in pairs)))
            for pairs in (PROJECTS, ENVS)
        }
        self.median_ms = {m[0]: m[2] for m in MODELS}
        self.features = list(FEATURES)
        self.keys = {name: f"{_digest(name)[:12]}…{name[-4:]}" for name, _ in PROJECTS}
        self.shapes = list(TRACE_SHAPES)
        self.rows: list[Row] = []
        self.records: list[CallRecord] | None = None
        """Set to a list to keep the records too (the format check)."""

    def emit(self, rec: CallRecord) -> None:
        self.rows.append(to_row(rec))
        if self.records is not None:
            self.records.append(rec)

    # random helpers
    def hex16(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"

    def hex32(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def pick(self, pairs: Sequence[tuple[str, float]]) -> str:
        names, cum = self.cum[id(pairs)]
        return self.rng.choices(names, cum_weights=cum)[0]

    def lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(self.rng.gauss(0.0, sigma))

    def text(self, pool: Sequence[str], count: int) -> str:
        n, d = self.rng.randrange(10_000, 99_999), self.rng.randrange(1, 29)
        return " ".join(self.rng.choice(pool).format(n=n, d=d) for _ in range(count))

    def context(self) -> Context:
        rng = self.rng
        feature = rng.choices(self.features, cum_weights=self.feature_cum)[0]
        session_id = user_id = None
        if rng.random() < 0.75:
            session_id, user_id = rng.choices(self.sessions, cum_weights=self.session_cum)[0]
        elif rng.random() < 0.5:
            user_id = rng.choice(self.users)
        props = {"env": self.pick(ENVS), "team": FEATURES[feature], "feature": feature}
        return Context(self.pick(PROJECTS), session_id, user_id, props, feature)

    def chunk(self) -> list[Row]:
        """Units until the chunk holds its rows, started at sorted times in its slice."""
        plan, rng = self.plan, self.rng
        target = plan.chunk_rows(self.index)
        t0 = plan.start + plan.span_s * self.index * CHUNK_ROWS / plan.rows
        t1 = plan.start + plan.span_s * (self.index * CHUNK_ROWS + target) / plan.rows
        sizes: list[str] = []
        planned = 0
        if self.index in plan.big_chunks:
            sizes.append("big")
            planned += 1 + BIG_TRACE_CHILDREN * (1 + BIG_TRACE_LLM)
        while planned < target:
            if rng.random() < TRACE_UNIT_SHARE and target - planned >= 10:
                sizes.append("trace")
                planned += 7  # an estimate; the chunk is cut to size below
            else:
                sizes.append("call")
                planned += 1
        rng.shuffle(sizes)
        starts = sorted(self.busy_time(t0, t1) for _ in sizes)
        for kind, start in zip(sizes, starts, strict=True):
            if kind == "call":
                self.llm(start, self.context(), None, None, None)
            elif kind == "trace":
                self.trace(start, rng.choice(self.shapes))
            else:
                self.big_trace(start)
        rows = self.rows
        if len(rows) > target:  # cut standalone calls, never part of a trace
            rows = self.trim(rows, target)
        while len(rows) < target:
            self.rows = []
            self.llm(self.busy_time(t0, t1), self.context(), None, None, None)
            rows.extend(self.rows)
        started = COLUMNS.index("started_at")
        rows.sort(key=lambda row: str(row[started]))
        return rows

    def trim(self, rows: list[Row], target: int) -> list[Row]:
        parent_col = COLUMNS.index("parent_id")
        id_col = COLUMNS.index("id")
        parents = {row[parent_col] for row in rows if row[parent_col] is not None}
        excess = len(rows) - target
        kept: list[Row] = []
        for row in reversed(rows):
            if excess and row[parent_col] is None and row[id_col] not in parents:
                excess -= 1
                continue
            kept.append(row)
        kept.reverse()
        return kept

    def busy_time(self, t0: float, t1: float) -> float:
        """A time in [t0, t1), denser during (UTC) working hours and on weekdays."""
        rng = self.rng
        while True:
            t = t0 + rng.random() * (t1 - t0)
            hour = (t % 86_400) / 3600
            weekday = int(t // 86_400 + 3) % 7  # 1970-01-01 was a Thursday
            weight = 0.35 + 0.65 * math.exp(-(((hour - 14.0) / 5.0) ** 2))
            if weekday >= 5:
                weight *= 0.5
            if rng.random() < weight:
                return t

    def prompt_version(self, ctx: Context, start: float) -> int:
        """Each feature's prompt went through 2-5 versions over the month, newest last;
        around a release both versions run (a gradual rollout)."""
        versions = 2 + self.features.index(ctx.feature) % 4
        frac = (start - self.plan.start) / self.plan.span_s
        return min(versions - 1, int(frac * versions + self.rng.random() * 0.5))

    def op_span(
        self,
        op: str,
        span_id: str,
        trace_id: str,
        parent_id: str | None,
        start: float,
        end: float,
        ctx: Context,
        failed: bool,
        inputs: JSON,
        output: JSON,
    ) -> None:
        versions = _op_versions(op)
        frac = (start - self.plan.start) / self.plan.span_s
        version = versions[min(len(versions) - 1, int(frac * len(versions) + self.rng.random()))]
        status: Status = "error" if failed else "ok"
        error: JSONObject | None = (
            {"message": "a model call failed", "type": "RuntimeError", "code": None}
            if failed
            else None
        )
        rec = CallRecord(
            id=span_id,
            project=ctx.project,
            trace_id=trace_id,
            parent_id=parent_id,
            op_name=op,
            display_name=None,
            started_at=datetime.fromtimestamp(start, UTC),
            ended_at=datetime.fromtimestamp(end, UTC),
            latency_ms=round((end - start) * 1000, 3),
            ttft_ms=None,
            overhead_ms=None,
            status=status,
            http_status=None,
            model=None,
            response_model=None,
            inputs=inputs,
            output=None if failed else output,
            usage=None,
            usage_source=None,
            cost_usd=None,
            error=error,
            attributes={"properties": dict(ctx.properties), "sdk": "wiretrace-python/0.1.0"},
            kind="op",
            op_version=version,
        )
        self.emit(rec)

    def trace(self, start: float, root_op: str) -> None:
        """op root → op children → LLM calls (3 deep)."""
        ctx = self.context()
        trace_id, root_id = self.hex32(), self.hex16()
        at = start + self.rng.uniform(0.001, 0.01)
        failed = False
        question = self.text(SENTENCES, 1)
        for child_op, models in TRACE_SHAPES[root_op]:
            child_id = self.hex16()
            child_start = at
            at += self.rng.uniform(0.0005, 0.003)
            child_failed = False
            for model in models:
                latency, ok = self.llm(at, ctx, model, trace_id, child_id)
                at += latency / 1000 + self.rng.uniform(0.0005, 0.005)
                child_failed = child_failed or not ok
            at += self.rng.uniform(0.0002, 0.002)
            self.op_span(
                child_op,
                child_id,
                trace_id,
                root_id,
                child_start,
                at,
                ctx,
                child_failed,
                {"query": question},
                {"ok": True},
            )
            failed = failed or child_failed
            if failed:
                break
        end = at + self.rng.uniform(0.0005, 0.003)
        self.op_span(
            root_op,
            root_id,
            trace_id,
            None,
            start,
            end,
            ctx,
            failed,
            {"question": question, "user": ctx.user_id},
            {"answer": self.text(ANSWERS, 1)},
        )

    def big_trace(self, start: float) -> None:
        """A 50-call evaluation run: 1 root op, 7 case ops, 6 LLM calls in each."""
        ctx = self.context()
        trace_id, root_id = self.hex32(), self.hex16()
        at = start + 0.002
        for case in range(BIG_TRACE_CHILDREN):
            child_id, child_start = self.hex16(), at
            for _ in range(BIG_TRACE_LLM):
                latency, _ = self.llm(at, ctx, "gpt-4o-mini", trace_id, child_id, errors=False)
                at += latency / 1000 + 0.001
            self.op_span(
                BIG_TRACE_CHILD,
                child_id,
                trace_id,
                root_id,
                child_start,
                at,
                ctx,
                False,
                {"case": case},
                {"score": round(self.rng.random(), 3)},
            )
            at += 0.001
        self.op_span(
            BIG_TRACE_OP,
            root_id,
            trace_id,
            None,
            start,
            at + 0.002,
            ctx,
            False,
            {"dataset": "support-golden-v3", "cases": BIG_TRACE_CHILDREN},
            {"mean_score": 0.81},
        )

    def llm(
        self,
        start: float,
        ctx: Context,
        model: str | None,
        trace_id: str | None,
        parent_id: str | None,
        *,
        errors: bool = True,
    ) -> tuple[float, bool]:
        """One proxied call; its latency (ms) and whether it succeeded."""
        rng = self.rng
        if model is None:
            if rng.random() < 0.10 and trace_id is None:
                model = "text-embedding-3-small"
            else:
                model = rng.choices(self.model_names, cum_weights=self.model_cum)[0]
        embedding = model.startswith("text-embedding")
        responses_api = not embedding and rng.random() < 0.2
        if embedding:
            op_name, path = "openai.embeddings.create", "/v1/embeddings"
        elif responses_api:
            op_name, path = "openai.responses.create", "/v1/responses"
        else:
            op_name, path = "openai.chat.completions.create", "/v1/chat/completions"
        stream = not embedding and rng.random() < 0.6
        latency = self.lognormal(self.median_ms[model], 0.6)
        ttft = min(latency, self.lognormal(min(400.0, latency / 2), 0.5)) if stream else None

        status: Status = "ok"
        http_status: int | None = 200
        error: JSONObject | None = None
        roll = rng.random() if errors else 1.0
        if roll < 0.03:
            status = "error"
            _, http_status, err = rng.choices(ERRORS, cum_weights=self.error_cum)[0]
            error = dict(err)
            latency = self.lognormal(250.0, 0.8)
            ttft = None
        elif roll < 0.037:
            status = "cancelled"
            error = {"message": "client disconnected", "type": "cancelled", "code": None}
            latency *= rng.uniform(0.1, 0.9)
        elif roll < 0.0375:
            status, http_status = "running", None

        # prompt: a template (system prompt version) and a user turn
        system = SYSTEM_PROMPTS[ctx.feature] + PROMPT_VERSIONS[self.prompt_version(ctx, start)]
        temperature = 0.2 if ctx.feature in ("ticket_triage", "invoice_extract") else 0.7
        user = self.text(SENTENCES, rng.randint(1, 4))
        inputs: JSONObject
        prompt_digest = None
        if embedding:
            inputs = {"model": model, "input": [self.text(SENTENCES, 1) for _ in range(3)]}
        elif responses_api:
            inputs = {"model": model, "instructions": system, "input": user, "stream": stream}
            prompt_digest = _digest(f"responses|{system}")
        else:
            inputs = {
                "model": model,
                "messages": [
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                ],
                "temperature": temperature,
                "stream": stream,
            }
            if stream:
                inputs["stream_options"] = {"include_usage": True}
            prompt_digest = _digest(f"{ctx.feature}|{temperature}|{system}")

        usage: Usage | None = None
        cost: float | None = None
        output: JSON = None
        created = int(start)
        if status == "error":
            output = {"error": error}
        elif status == "running":
            output = None
        else:
            prompt = max(8, int(self.lognormal(550.0, 0.8)))
            completion = 0 if embedding else max(1, int(self.lognormal(160.0, 0.8)))
            if status == "cancelled":
                completion = max(1, completion // 3)
            reasoning = int(completion * rng.uniform(1.0, 6.0)) if model in REASONING_MODELS else 0
            cached = (prompt // 128) * 64 if prompt >= 1024 and rng.random() < 0.5 else 0
            total = prompt + completion + reasoning
            usage = Usage(
                prompt_tokens=prompt,
                completion_tokens=completion + reasoning if not embedding else None,
                total_tokens=total,
                cached_tokens=cached if not embedding else None,
                reasoning_tokens=reasoning if model in REASONING_MODELS else None,
            )
            rates = self.plan.rates.get(model)
            if rates is not None:
                cost = round(
                    (prompt - cached) * rates.input
                    + cached * rates.cached
                    + (completion + reasoning) * rates.output,
                    8,
                )
            answer = self.text(ANSWERS, rng.randint(1, 2))
            output = self.output(model, created, answer, usage, embedding, responses_api)
            if status == "cancelled":
                output = {"partial": True, **output} if isinstance(output, dict) else output
        end = start + latency / 1000
        call_id = self.hex16()
        request_id = f"req_{rng.getrandbits(96):024x}"
        attributes: JSONObject = {
            "session_id": ctx.session_id,
            "user_id": ctx.user_id,
            "properties": dict(ctx.properties),
            "stream": stream,
            "usage_injected": False,
            "request": {
                "method": "POST",
                "path": path,
                "query": None,
                "headers": {
                    "content-type": "application/json",
                    "user-agent": "OpenAI/Python 1.99.1",
                    "authorization": "[redacted]",
                    "x-stainless-lang": "python",
                },
                "bytes": 180 + len(user) + len(system),
                "truncated": False,
            },
            "response": {
                "headers": {
                    "content-type": "text/event-stream" if stream else "application/json",
                    "x-request-id": request_id,
                    "openai-processing-ms": str(int(latency)),
                },
                "bytes": 420 + (len(_dumps(output)) if output is not None else 0) // 2,
                "truncated": False,
            },
        }
        rec = CallRecord(
            id=call_id,
            project=ctx.project,
            trace_id=trace_id or self.hex32(),
            parent_id=parent_id,
            op_name=op_name,
            display_name=None,
            started_at=datetime.fromtimestamp(start, UTC),
            ended_at=None if status == "running" else datetime.fromtimestamp(end, UTC),
            latency_ms=None if status == "running" else round(latency, 3),
            ttft_ms=round(ttft, 3) if ttft is not None and status != "running" else None,
            overhead_ms=round(self.lognormal(0.35, 0.4), 3),
            status=status,
            http_status=http_status,
            model=model,
            response_model=f"{model}-2025-08-07" if usage is not None else None,
            inputs=inputs,
            output=output,
            usage=usage,
            usage_source="upstream" if usage is not None else None,
            cost_usd=cost,
            error=error,
            session_id=ctx.session_id,
            user_id=ctx.user_id,
            key_fingerprint=self.keys[ctx.project],
            attributes=attributes,
            prompt_digest=prompt_digest,
        )
        self.emit(rec)
        return latency, status == "ok"

    def output(
        self,
        model: str,
        created: int,
        answer: str,
        usage: Usage,
        embedding: bool,
        responses_api: bool,
    ) -> JSONObject:
        usage_json: JSONObject = {k: v for k, v in usage.to_dict().items() if v is not None}
        if embedding:
            return {
                "object": "list",
                "model": model,
                "usage": {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.total_tokens},
                "embeddings": {"count": 3, "dimensions": 1536, "stored": False},
            }
        if responses_api:
            return {
                "id": f"resp_{self.rng.getrandbits(96):024x}",
                "object": "response",
                "created_at": created,
                "status": "completed",
                "model": model,
                "output": [
                    {
                        "type": "message",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": answer, "annotations": []}],
                    }
                ],
                "usage": usage_json,
            }
        return {
            "id": f"chatcmpl-{self.rng.getrandbits(96):024x}",
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer, "refusal": None},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": usage_json,
        }


def generate_chunk(plan: Plan, index: int) -> list[Row]:
    """The rows of chunk ``index`` (run in a worker process)."""
    return ChunkGen(plan, index).chunk()


# --- the database ---------------------------------------------------------------------


def default_db(rows: int, seed: int) -> Path:
    return RESULTS / f"calls-{rows}-seed{seed}.db"


def count_rows(path: Path) -> int | None:
    """Calls in an existing wiretrace database, or None if it is not one."""
    if not path.exists():
        return None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT count(*) FROM calls").fetchone()[0])
    except sqlite3.Error:
        return None


def _chunk_results(
    plan: Plan, workers: int
) -> Iterator[list[Row]]:  # in chunk order, a few chunks ahead
    ctx = multiprocessing.get_context("fork")
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        pending: list[cf.Future[list[Row]]] = []
        next_index = 0
        while next_index < plan.chunks or pending:
            while next_index < plan.chunks and len(pending) < workers + 2:
                pending.append(pool.submit(generate_chunk, plan, next_index))
                next_index += 1
            yield pending.pop(0).result()


@dataclass(frozen=True, slots=True)
class GenResult:
    path: Path
    rows: int
    seconds: float
    reused: bool


def generate(
    path: Path,
    rows: int,
    seed: int = 1,
    end: datetime = DEFAULT_END,
    days: float = 30.0,
    big_traces: int = 5,
    workers: int | None = None,
    force: bool = False,
    analyze: bool = False,
) -> GenResult:
    """Make ``path`` hold ``rows`` generated calls (reusing it if it already does)."""
    if not force and count_rows(path) == rows:
        print(f"reusing {path} ({rows:,} calls)")
        return GenResult(path, rows, 0.0, True)
    started = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    for stale in (path, partial):
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(stale) + suffix).unlink(missing_ok=True)

    engine = create_engine_for(f"sqlite:///{partial}")
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()

    chunks = math.ceil(rows / CHUNK_ROWS)
    picker = random.Random(seed)
    big = frozenset(picker.sample(range(chunks), min(big_traces, chunks)))
    plan = Plan(
        seed=seed,
        rows=rows,
        start=(end - timedelta(days=days)).timestamp(),
        span_s=days * 86_400,
        big_chunks=big,
        rates=model_rates(),
    )
    sample = ChunkGen(plan, 0)
    sample.records = []
    sample.llm(plan.start, sample.context(), "gpt-4o", None, None)
    check_row_format(sample.records[0])

    workers = workers or max(1, (os.cpu_count() or 2))
    conn = sqlite3.connect(partial, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")  # a crash leaves only the .partial file
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1048576")  # 1 GiB: the indexes stay in memory
    conn.execute("PRAGMA temp_store = MEMORY")
    sql = insert_sql()
    done = 0
    last = time.perf_counter()
    try:
        for chunk_rows in _chunk_results(plan, workers):
            conn.execute("BEGIN")
            conn.executemany(sql, chunk_rows)
            conn.execute("COMMIT")
            done += len(chunk_rows)
            now = time.perf_counter()
            if now - last >= 5 or done == rows:
                rate = done / (now - started)
                print(f"  {done:>10,} / {rows:,} calls  {rate:,.0f} rows/s", flush=True)
                last = now
        _save_op_versions(conn, plan)
        if analyze:
            conn.execute("ANALYZE")
        conn.execute("PRAGMA journal_mode = WAL")  # what the server uses
    finally:
        conn.close()
    _count_rollups(partial)
    _index_text(partial)
    partial.rename(path)
    seconds = time.perf_counter() - started
    print(f"generated {rows:,} calls in {seconds:.1f} s ({rows / seconds:,.0f} rows/s) → {path}")
    return GenResult(path, rows, seconds, False)


def _count_rollups(path: Path) -> None:
    """The stats rollups of the rows inserted, as ``storage.writes`` would have kept them."""
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            rollup_writes.recount(conn)
    finally:
        engine.dispose()


def _index_text(path: Path) -> None:
    """The search index of the rows inserted, in a few large batches (the inserts queued
    them, as the server's would be until its writer indexes them)."""
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        text_index.index_all(engine, limit=100_000)
    finally:
        engine.dispose()


def _save_op_versions(conn: sqlite3.Connection, plan: Plan) -> None:
    """One ``op_versions`` row per SDK op version the traces use."""
    ops = {BIG_TRACE_OP, BIG_TRACE_CHILD, *TRACE_SHAPES}
    ops.update(child for shape in TRACE_SHAPES.values() for child, _ in shape)
    rows = []
    for project, _ in PROJECTS:
        for op in sorted(ops):
            for number, digest in enumerate(_op_versions(op)):
                created = datetime.fromtimestamp(plan.start + number * 86_400 * 7, UTC)
                rows.append(
                    (
                        project,
                        op,
                        digest,
                        f"def {op}(...):  # v{number}",
                        op.split(".")[0],
                        op,
                        _encode("created_at", created),
                    )
                )
    conn.executemany(
        "INSERT OR IGNORE INTO op_versions"
        " (project, op_name, digest, source, module, qualname, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="calls (1,000,000)")
    parser.add_argument("--db", type=Path, help="SQLite file (bench/results/calls-N-seedS.db)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--end", default=DEFAULT_END.isoformat(), help="newest call's day (UTC)")
    parser.add_argument("--days", type=float, default=30.0, help="time span of the calls")
    parser.add_argument("--big-traces", type=int, default=5, help="traces of exactly 50 calls")
    parser.add_argument("--workers", type=int, help="generator processes (CPU count)")
    parser.add_argument("--force", action="store_true", help="regenerate even if it exists")
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE at the end")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be positive")
    end = datetime.fromisoformat(args.end.replace("Z", "+00:00"))
    end = end.replace(tzinfo=UTC) if end.tzinfo is None else end
    generate(
        args.db or default_db(args.rows, args.seed),
        args.rows,
        seed=args.seed,
        end=end,
        days=args.days,
        big_traces=args.big_traces,
        workers=args.workers,
        force=args.force,
        analyze=args.analyze,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
