"""Browser tests of the web UI: a real ``wiretrace serve`` process, real traffic, real Chromium.

Fixtures (all synchronous; use the sync Playwright API in plain ``def test_...`` functions):

``ui_server`` (session)
    A :class:`UiServer`: ``wiretrace serve`` on a free port with a temporary SQLite database
    and the built UI (``proxy/wiretrace_proxy/static``, built first by ``make web`` when
    missing or older than ``web/``), in front of the fake OpenAI upstream
    (``tests/fakes/upstream.py``). It is seeded with
    :func:`tests.proxy.seed.build` (124 calls in 40 three-deep traces plus orphans, Jan 2026,
    varied models, NULLs, sessions, users, properties, op versions) written into the
    database before the server starts, and then with real traffic made by the ``openai``
    client through the proxy, plus SDK spans sent to ``POST /api/spans``. ``.url`` is the
    server's base URL; ``.seeded`` (:class:`Seeded`) names the interesting records:

    - ``chat_id``: a multi-turn chat (system/user/assistant/tool messages, an https image
      and a ``data:image`` image, tagged session ``sess-ui-1``, user ``alice``, property
      ``env=prod``), ``tools_id``: a call whose answer is a ``get_weather`` tool call,
      ``stream_id``: a streamed call (ttft), ``error_id``: an upstream 500, ``hostile_id``: a
      prompt holding ``HOSTILE_SCRIPT`` and ``HOSTILE_IMG``, ``responses_id``: a Responses
      API call; ``big_id``: a 5 MB prompt (written into the database directly);
    - ``trace_id``: an SDK trace ``pipeline.run`` → ``pipeline.retrieve``,
      ``pipeline.generate`` → a proxied chat call (``trace_call_id``), ``root_span_id``;
    - ``seed_ids``: the ids of the ``seed.build`` records.

    ``ui_server.chat(content, model=..., messages=..., stream=..., scenario=...,
    headers={...}, **params)`` makes one more real call (``scenario`` picks a fake upstream
    behaviour such as ``tools`` or ``error_500``) and returns its id once it is stored;
    ``ui_server.get(path)`` / ``ui_server.post(path, body)`` talk JSON to the API.

``empty_server`` (session)
    Another ``wiretrace serve`` with an empty database (for empty states). Same interface.

``browser`` (session)
    Debian's Chromium (``/usr/bin/chromium``) launched by Playwright; missing Chromium
    fails the test (CI must have it), it never skips.

``page`` (function)
    A page in a new browser context (viewport 1400x900). Uncaught page errors fail the test
    at teardown (``page_errors`` collects them), so a crash in React is never silent.

``upstream_url`` (session)
    The fake OpenAI upstream (in a loop thread of the test process) both servers forward
    to; ``UiServer(db_path, upstream_url)`` starts another server on any database (the
    performance tests do, on a generated 1M-call one).

``screenshot(page, name)``
    Saves ``tests/web/screenshots/<name>.png`` (an artifact, kept out of git) and returns
    its path. Import it (and ``HOSTILE_SCRIPT``, ``HOSTILE_IMG``, ``TOOL_ARGS``,
    ``UiServer``) from ``tests.web.conftest``.

Router updates in the app render as transitions, so the address bar can change before the
page does: to wait until the traces table shows the current URL, wait for
``[data-testid=traces-page]``'s ``data-search`` to equal ``location.search`` (as a
``URLSearchParams`` string) and ``[data-testid=calls-table]`` to be ``aria-busy=false``
(``settled()`` in ``test_traces_ui.py``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openai
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from sqlalchemy.engine import Engine
from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.migrate import upgrade_to_head

from tests.fakes.upstream import create_fake_upstream
from tests.harness import LoopThread, fake_upstream_url, start_site
from tests.proxy import seed
from tests.proxy.process import ServerProcess, wait_stored

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
STATIC = ROOT / "proxy" / "wiretrace_proxy" / "static"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = os.environ.get("WIRETRACE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 900}
API_KEY = "sk-test-ui-000000000000000000000000"

HOSTILE_SCRIPT = "<script>window.__pwned=1</script>"
HOSTILE_IMG = '<img src=x onerror="window.__pwned=1">'
BIG_PROMPT_BYTES = 5 * 1024 * 1024
TOOL_ARGS = {"city": "Paris", "unit": "celsius"}


# --- the built UI ----------------------------------------------------------------------


def _newest_source_mtime() -> float:
    paths = [WEB / "index.html", WEB / "package.json", WEB / "package-lock.json"]
    paths += [WEB / name for name in ("vite.config.ts", "tsconfig.json")]
    paths += [p for p in (WEB / "src").rglob("*") if p.is_file()]
    return max(p.stat().st_mtime for p in paths if p.exists())


def ensure_ui_built() -> None:
    """Build the UI (``make web``) unless ``static/index.html`` is newer than ``web/``."""
    index = STATIC / "index.html"
    if index.is_file() and index.stat().st_mtime >= _newest_source_mtime():
        return
    if shutil.which("npm") is None:
        pytest.fail("the web UI is not built and npm is missing: install Node.js 20+ (npm)")
    done = subprocess.run(
        ["make", "--no-print-directory", "web"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        pytest.fail(f"make web failed:\n{done.stdout}\n{done.stderr}")
    assert index.is_file(), "make web did not produce static/index.html"


# --- servers ---------------------------------------------------------------------------


@dataclass
class Seeded:
    """Ids of the records the seeding created (see the module docstring)."""

    chat_id: str = ""
    tools_id: str = ""
    stream_id: str = ""
    error_id: str = ""
    hostile_id: str = ""
    big_id: str = ""
    responses_id: str = ""
    trace_id: str = ""
    root_span_id: str = ""
    trace_call_id: str = ""
    seed_ids: list[str] = field(default_factory=list)


class UiServer:
    """A running ``wiretrace serve`` (plus the fake upstream) that tests talk to."""

    def __init__(self, db: Path, upstream_url: str, *extra: str) -> None:
        self.db = db
        self.process = ServerProcess(upstream_url, db, *extra)
        self.url = self.process.url
        self.seeded = Seeded()

    @property
    def base_url(self) -> str:
        """What an app sets as ``OPENAI_BASE_URL``."""
        return f"{self.url}/v1"

    def client(self, **headers: str) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=self.base_url, api_key=API_KEY, default_headers=headers, max_retries=0
        )

    def chat(
        self,
        content: str | list[dict[str, Any]],
        *,
        model: str = "gpt-4o-mini",
        messages: list[dict[str, Any]] | None = None,
        stream: bool = False,
        scenario: str | None = None,
        **params: Any,
    ) -> str:
        """One real chat call through the proxy; the recorded call's id, once stored."""
        headers = dict(params.pop("headers", {}))
        if scenario:
            headers["x-fake-scenario"] = scenario
        client = self.client(**headers)
        sent: Any = messages if messages is not None else [{"role": "user", "content": content}]
        call_id: str
        try:
            if stream:
                with client.chat.completions.with_streaming_response.create(
                    model=model, messages=sent, stream=True, **params
                ) as resp:
                    call_id = str(resp.headers["wiretrace-call-id"])
                    for _ in resp.iter_lines():
                        pass
            else:
                raw = client.chat.completions.with_raw_response.create(
                    model=model, messages=sent, **params
                )
                call_id = str(raw.headers["wiretrace-call-id"])
                raw.parse()
        except openai.APIStatusError as exc:  # an error scenario: still recorded
            call_id = str(exc.response.headers["wiretrace-call-id"])
        finally:
            client.close()
        self.wait_stored(call_id)
        return call_id

    def wait_stored(self, call_id: str, timeout: float = 10) -> None:
        """Return once the server's writer has stored ``call_id``."""
        wait_stored(self.url, call_id, timeout)

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=30) as resp:
            return json.load(resp)

    def post(self, path: str, body: object) -> Any:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as resp:
            return json.load(resp)

    def stop(self) -> None:
        self.process.stop()


def migrated_db(path: Path) -> Engine:
    engine = create_engine_for(f"sqlite:///{path}")
    upgrade_to_head(engine)
    return engine


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def seed_traffic(server: UiServer) -> None:
    """Real calls through the proxy and an SDK trace; fills ``server.seeded``."""
    s = server.seeded
    tags = {
        "Wiretrace-Session-Id": "sess-ui-1",
        "Wiretrace-User-Id": "alice",
        "Wiretrace-Property-Env": "prod",
    }
    conversation: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a weather assistant. Answer briefly."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is the weather like where this photo was taken?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.com/paris.jpg", "detail": "low"},
                },
                {
                    "type": "image_url",
                    "image_url": {
                        "url": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAA"
                        "fFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
                    },
                },
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_weather_paris",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": json.dumps(TOOL_ARGS)},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_weather_paris",
            "content": '{"temp_c": 18, "sky": "cloudy"}',
        },
    ]
    s.chat_id = server.chat(
        "", messages=conversation, model="gpt-4o", temperature=0.3, headers=tags
    )
    s.tools_id = server.chat(
        "What is the weather in Paris?",
        scenario="tools",
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Current weather for a city",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
                    },
                },
            }
        ],
        headers={"Wiretrace-Session-Id": "sess-ui-2", "Wiretrace-User-Id": "bob"},
    )
    s.stream_id = server.chat(
        "Stream me a greeting", stream=True, headers={"Wiretrace-User-Id": "bob"}
    )
    s.error_id = server.chat("This one fails upstream", scenario="error_500")
    s.hostile_id = server.chat(
        f"Please echo {HOSTILE_SCRIPT} and {HOSTILE_IMG} verbatim",
        headers={"Wiretrace-Property-Env": HOSTILE_IMG},
    )
    client = server.client()
    try:
        raw = client.responses.with_raw_response.create(
            model="gpt-4o-mini", instructions="Be terse.", input="Say hi with the Responses API"
        )
        s.responses_id = raw.headers["wiretrace-call-id"]
        raw.parse()
    finally:
        client.close()
    server.wait_stored(s.responses_id)

    # An SDK trace: pipeline.run -> retrieve, generate -> a proxied call (traceparent).
    s.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    s.root_span_id, retrieve, generate = "00f067aa0ba902b7", "00f067aa0ba902b8", "00f067aa0ba902b9"
    # Span times bracket the real call, which starts ~1.2 s after t0 (inside generate).
    t0 = datetime.now(UTC) - timedelta(milliseconds=1200)
    s.trace_call_id = server.chat(
        "Answer the question using the retrieved passages.",
        headers={"traceparent": f"00-{s.trace_id}-{generate}-01"},
    )
    spans = [
        {
            "id": s.root_span_id,
            "trace_id": s.trace_id,
            "op_name": "pipeline.run",
            "status": "ok",
            "started_at": _iso(t0),
            "ended_at": _iso(t0 + timedelta(milliseconds=2500)),
            "inputs": {"question": "What is W3C trace context?"},
            "output": {"answer": "A header format for distributed tracing."},
        },
        {
            "id": retrieve,
            "trace_id": s.trace_id,
            "parent_id": s.root_span_id,
            "op_name": "pipeline.retrieve",
            "status": "ok",
            "started_at": _iso(t0 + timedelta(milliseconds=20)),
            "ended_at": _iso(t0 + timedelta(milliseconds=420)),
            "inputs": {"query": "trace context"},
            "output": {"passages": 3},
        },
        {
            "id": generate,
            "trace_id": s.trace_id,
            "parent_id": s.root_span_id,
            "op_name": "pipeline.generate",
            "status": "ok",
            "started_at": _iso(t0 + timedelta(milliseconds=450)),
            "ended_at": _iso(t0 + timedelta(milliseconds=2450)),
            "inputs": {"passages": 3},
            "output": "A header format for distributed tracing.",
        },
    ]
    server.post("/api/spans", {"spans": spans})


def big_record() -> CallRecord:
    """A call with a 5 MB prompt (written directly: the fake upstream reads only 1 MB)."""
    filler = "The quick brown fox jumps over the lazy dog. "
    record = seed.make_record(
        random.Random(5),
        started_at=datetime.now(UTC) - timedelta(minutes=30),
        trace_id="b" * 32,
        parent_id=None,
        kind="llm",
        index=1,
    )
    record.status, record.error, record.http_status = "ok", None, 200
    record.inputs = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "user", "content": "BIGPROMPT " + filler * (BIG_PROMPT_BYTES // len(filler))}
        ],
    }
    return record


@pytest.fixture(scope="session")
def upstream_url() -> Iterator[str]:
    """The fake OpenAI upstream, in a loop thread of this process."""
    with fake_upstream_url() as url:
        yield url


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory, upstream_url: str) -> Iterator[UiServer]:
    ensure_ui_built()
    db = tmp_path_factory.mktemp("ui") / "wiretrace.db"
    engine = migrated_db(db)
    records = seed.build(traces=40)
    big = big_record()
    try:
        seed.insert(engine, [*records, big])
    finally:
        engine.dispose()
    server = UiServer(db, upstream_url)
    try:
        server.seeded.seed_ids = [r.id for r in records]
        server.seeded.big_id = big.id
        seed_traffic(server)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def empty_server(tmp_path_factory: pytest.TempPathFactory, upstream_url: str) -> Iterator[UiServer]:
    ensure_ui_built()
    server = UiServer(tmp_path_factory.mktemp("ui-empty") / "wiretrace.db", upstream_url)
    try:
        yield server
    finally:
        server.stop()


# --- the browser -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def page_errors() -> list[str]:
    return []


@pytest.fixture
def page(browser: Browser, page_errors: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    pg = context.new_page()
    pg.on("pageerror", lambda exc: page_errors.append(str(exc)))
    try:
        yield pg
    finally:
        context.close()
    assert not page_errors, f"uncaught errors in the page: {page_errors}"


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save a PNG of the page under tests/web/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
