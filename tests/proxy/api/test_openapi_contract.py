"""Every documented endpoint answers what ``/api/openapi.json`` says it answers.

A server is filled with real traffic (the ``openai`` client through the proxy: chat,
streamed chat, embeddings, an upstream error; SDK spans with op and model versions;
feedback), then every documented operation is called, with good parameters and with bad
ones, and each JSON answer is validated against the schema the document gives for its
status (JSON Schema 2020-12, as OpenAPI 3.1 uses). JSON Lines exports are validated line by
line. Every ``/api/`` route the app serves must be documented.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema
import openai
import pytest
from wiretrace_proxy.forward import handler as forward

from tests.harness import Servers

KEY = "sk-test-openapi-00000000000000000001234"
TRACE = "feedfacefeedfacefeedfacefeedface"
ROOT = "1" * 16


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(url: str, body: Any = None) -> Answer:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data else {}
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return Answer(resp.status, resp.headers.get("Content-Type", ""), resp.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.headers.get("Content-Type", ""), exc.read())


def _span(span_id: str, parent: str | None, name: str, **kw: Any) -> dict[str, Any]:
    return {
        "id": span_id,
        "trace_id": TRACE,
        "parent_id": parent,
        "project": None,
        "op_name": name,
        "display_name": None,
        "started_at": "2026-01-01T00:00:00Z",
        "ended_at": "2026-01-01T00:00:01Z",
        "status": "ok",
        "inputs": {"question": "why?"},
        "output": "because",
        "error": None,
        "attributes": {},
        "op_version": None,
        "model_version": None,
        **kw,
    }


EVAL_RUNS = ("openapi-run-a", "openapi-run-b")


def eval_run_body(run_id: str) -> dict[str, Any]:
    return {
        "id": run_id,
        "evaluation": {"name": "qa", "version": "1"},
        "dataset": {"name": "qa-set", "version": "1"},
        "model": {"name": run_id, "version": "1"},
        "scorers": [{"name": "exact", "version": "1"}],
        "n_rows": 2,
    }


def _fill_evaluations(url: str) -> None:
    """A dataset and two finished evaluation runs, each with a passed and a failed row."""
    rows = [{"question": "2+2", "expected": "4"}, {"question": "3+3", "expected": "6"}]
    assert request(f"{url}/api/datasets", {"name": "qa-set", "rows": rows}).status == 201
    for k, run_id in enumerate(EVAL_RUNS):
        assert request(f"{url}/api/evaluations/runs", eval_run_body(run_id)).status == 201
        reported = [
            {"row_index": 0, "output": "4", "scores": {"exact": k == 0}, "latency_ms": 5.0},
            {"row_index": 1, "output": None, "model_error": {"type": "E", "message": "x"}},
        ]
        body = {"rows": reported}
        assert request(f"{url}/api/evaluations/runs/{run_id}/rows", body).status == 200
        finish = {"status": "finished"}
        assert request(f"{url}/api/evaluations/runs/{run_id}/finish", finish).status == 200


@dataclass
class World:
    servers: Servers
    doc: dict[str, Any]
    call_ids: list[str]
    op_name: str
    model_name: str
    prompt_name: str

    @property
    def url(self) -> str:
        return self.servers.proxy_url

    def get(self, path: str, **params: str) -> Answer:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return request(f"{self.url}{path}{query}")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    db = tmp_path_factory.mktemp("openapi") / "wiretrace.db"
    servers = Servers(f"sqlite:///{db}")
    try:
        yield _fill(servers)
    finally:
        servers.close()


def _fill(servers: Servers) -> World:
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    traceparent = {"traceparent": f"00-{TRACE}-{ROOT}-01"}
    ids = []
    for system in ("Answer briefly.", "Answer in detail."):
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": system}, {"role": "user", "content": "hi"}],
            extra_headers={**traceparent, "Wiretrace-Session-Id": "s1", "Wiretrace-User-Id": "u1"},
        )
        ids.append(raw.headers["wiretrace-call-id"])
    for _ in client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=True
    ):
        pass
    client.embeddings.create(model="text-embedding-3-small", input="x")
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[], extra_headers={"x-fake-scenario": "error_429"}
        )
    client.chat.completions.create(model="mystery-model", messages=[])
    spans = [
        _span(
            ROOT,
            None,
            "generate",
            op_version={
                "digest": "d1",
                "source": "def generate(question):\n    return 1\n",
                "module": "app",
                "qualname": "generate",
            },
        ),
        _span(
            "2" * 16,
            ROOT,
            "Summarizer.run",
            model_version={
                "name": "Summarizer",
                "digest": "m1",
                "attributes": {"temperature": 0.2},
                "source": {"run": "def run(self): ..."},
            },
        ),
    ]
    assert request(f"{servers.proxy_url}/api/spans", {"spans": spans}).status == 200
    assert request(f"{servers.proxy_url}/api/calls/{ids[0]}/feedback", {"thumbs": "up"}).status in (
        200,
        201,
    )
    _fill_evaluations(servers.proxy_url)
    servers.flush()
    doc = request(f"{servers.proxy_url}/api/openapi.json").json()
    ops = request(f"{servers.proxy_url}/api/ops").json()["ops"]
    models = request(f"{servers.proxy_url}/api/models").json()["models"]
    prompts = request(f"{servers.proxy_url}/api/prompts").json()["prompts"]
    return World(
        servers,
        doc,
        ids,
        op_name=ops[0]["name"] if ops else "generate",
        model_name=models[0]["name"] if models else "Summarizer",
        prompt_name=prompts[0]["name"],
    )


def _schema(world: World, path: str, method: str, status: int, media: str) -> dict[str, Any]:
    responses = world.doc["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} answered undocumented {status}"
    content = responses[str(status)]["content"]
    assert media in content, f"{method.upper()} {path} {status}: {media} not documented"
    schema: dict[str, Any] = content[media]["schema"]
    return schema


def check(world: World, path: str, answer: Answer, method: str = "get") -> Any:
    """Validate ``answer`` against the document; return its parsed JSON."""
    media = answer.content_type.split(";")[0].strip()
    schema = _schema(world, path, method, answer.status, media)
    whole = {**schema, "components": world.doc["components"]}
    validator = jsonschema.Draft202012Validator(whole)
    if media == "application/x-ndjson":
        lines = [json.loads(line) for line in answer.body.splitlines() if line]
        for line in lines:
            validator.validate(line)
        return lines
    if media == "application/json":
        body = answer.json()
        validator.validate(body)
        return body
    return answer.body.decode()


def test_every_api_route_is_documented(world: World) -> None:
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in world.servers.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/")
        and route.method != "HEAD"
        and route.handler is not forward.handle  # /api/v1/...: proxied, not the JSON API
    }
    documented = {
        (method, path) for path, methods in world.doc["paths"].items() for method in methods
    }
    assert served <= documented, served - documented


def test_the_document_is_valid_json_schema(world: World) -> None:
    assert sorted(world.doc["components"]["schemas"]) == [
        "BootstrapMethod", "CallDetail", "CallList", "CallListItem", "CallRecord",
        "CompareField", "CompareMetric", "ComparedMetric", "Comparison", "DatasetDetail",
        "DatasetFromCallsIn", "DatasetIn", "DatasetList", "DatasetListItem", "DatasetRow",
        "DatasetRows", "DatasetVersion", "DatasetVersionItem", "Error", "ErrorDetail",
        "EvalComparison", "EvalLatency", "EvalUsage", "Feedback", "FeedbackIn", "FeedbackList",
        "FeedbackSummary", "FinishIn", "Flips", "Health", "HealthSummary", "JsonValue", "Model",
        "ModelError",
        "ModelList", "ModelVersion", "ModelVersionList", "NameVersion", "Op", "OpList",
        "OpVersion", "OpVersionList", "OtlpExportHealth", "PairedDifference", "PromptFamily",
        "PromptList", "PromptVersion", "PromptVersionList", "PromptVersionSummary",
        "PurgeCounts", "RetentionHealth", "RetentionRun", "RowIn", "RowsIn", "RowsStored",
        "Run", "RunIn", "RunList", "RunRow", "RunRows", "SpanBatch", "SpanEvent",
        "SpansAccepted", "SpansRefused", "Stats", "StatsGroup", "StatsLatency", "StatsTotals",
        "StatsTtft", "Trace", "TraceNode", "TraceSummary", "UnknownModel", "UnknownModelList",
        "Usage",
    ]  # fmt: skip
    for schema in world.doc["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def good_requests(world: World) -> list[tuple[str, str, dict[str, str]]]:
    """(documented path, concrete path, query) for a successful call of each GET."""
    a, b = world.call_ids
    name = urllib.parse.quote(world.op_name, safe="")
    model = urllib.parse.quote(world.model_name, safe="")
    return [
        ("/api/calls", "/api/calls", {}),
        ("/api/calls", "/api/calls", {"limit": "2", "sort": "-latency_ms", "model": "gpt-4o-mini"}),
        ("/api/calls/{call_id}", f"/api/calls/{a}", {}),
        ("/api/calls/{call_id}/feedback", f"/api/calls/{a}/feedback", {}),
        ("/api/calls/export", "/api/calls/export", {"format": "jsonl"}),
        ("/api/calls/export", "/api/calls/export", {"format": "csv"}),
        ("/api/compare", "/api/compare", {"ids": f"{a},{b}"}),
        ("/api/traces/{trace_id}", f"/api/traces/{TRACE}", {}),
        ("/api/ops", "/api/ops", {}),
        ("/api/ops/{name}/versions", f"/api/ops/{name}/versions", {}),
        ("/api/models", "/api/models", {}),
        ("/api/models/{name}/versions", f"/api/models/{model}/versions", {}),
        ("/api/prompts", "/api/prompts", {}),
        ("/api/prompts/versions", "/api/prompts/versions", {"name": world.prompt_name}),
        ("/api/pricing/unknown", "/api/pricing/unknown", {}),
        ("/api/stats", "/api/stats", {"group_by": "model"}),
        ("/api/stats", "/api/stats", {"group_by": "property.env", "session_id": "s1"}),
        ("/api/openapi.json", "/api/openapi.json", {}),
        ("/healthz", "/healthz", {}),
        ("/api/datasets", "/api/datasets", {}),
        ("/api/datasets/{name}", "/api/datasets/qa-set", {}),
        ("/api/datasets/{name}/rows", "/api/datasets/qa-set/rows", {"limit": "1"}),
        ("/api/evaluations/runs", "/api/evaluations/runs", {}),
        ("/api/evaluations/runs", "/api/evaluations/runs", {"status": "finished"}),
        ("/api/evaluations/runs/{run_id}", f"/api/evaluations/runs/{EVAL_RUNS[0]}", {}),
        ("/api/evaluations/runs/{run_id}/rows", f"/api/evaluations/runs/{EVAL_RUNS[0]}/rows", {}),
        ("/api/evaluations/compare", "/api/evaluations/compare", {"runs": ",".join(EVAL_RUNS)}),
    ]


def test_every_get_answers_its_documented_schema(world: World) -> None:
    checked = set()
    for documented, concrete, params in good_requests(world):
        answer = world.get(concrete, **params)
        assert answer.status == 200, (concrete, answer.body[:300])
        body = check(world, documented, answer)
        assert body, concrete  # something was seeded for every endpoint
        checked.add(documented)
    gets = {p for p, methods in world.doc["paths"].items() if "get" in methods}
    assert gets <= checked, gets - checked


def test_unknown_models_are_listed(world: World) -> None:
    body = check(world, "/api/pricing/unknown", world.get("/api/pricing/unknown"))
    assert "mystery-model" in json.dumps(body)


@pytest.mark.parametrize(
    ("documented", "concrete", "params", "status"),
    [
        ("/api/calls", "/api/calls", {"sort": "colour"}, 400),
        ("/api/calls", "/api/calls", {"min_latency_ms": "fast"}, 400),
        ("/api/calls/{call_id}", "/api/calls/0000000000000000", {}, 404),
        ("/api/calls/export", "/api/calls/export", {"format": "xml"}, 400),
        ("/api/compare", "/api/compare", {"ids": "a"}, 400),
        ("/api/compare", "/api/compare", {"ids": "0000000000000001,0000000000000002"}, 404),
        ("/api/traces/{trace_id}", f"/api/traces/{'0' * 31}1", {}, 404),
        ("/api/stats", "/api/stats", {}, 400),
        ("/api/prompts/versions", "/api/prompts/versions", {}, 400),
        ("/api/datasets/{name}", "/api/datasets/nope", {}, 404),
        ("/api/datasets/{name}/rows", "/api/datasets/qa-set/rows", {"offset": "-1"}, 400),
        ("/api/evaluations/runs", "/api/evaluations/runs", {"status": "asleep"}, 400),
        ("/api/evaluations/runs/{run_id}", "/api/evaluations/runs/nope", {}, 404),
        ("/api/evaluations/runs/{run_id}/rows", "/api/evaluations/runs/nope/rows", {}, 404),
        ("/api/evaluations/compare", "/api/evaluations/compare", {"runs": "a,,b"}, 400),
        ("/api/evaluations/compare", "/api/evaluations/compare", {"runs": "a,b"}, 404),
    ],
)
def test_errors_answer_the_documented_error_shape(
    world: World, documented: str, concrete: str, params: dict[str, str], status: int
) -> None:
    answer = world.get(concrete, **params)
    assert answer.status == status, answer.body[:300]
    body = check(world, documented, answer)
    assert body["error"]["message"]


def test_posts_answer_their_documented_schemas(world: World) -> None:
    a = world.call_ids[1]
    answer = request(f"{world.url}/api/calls/{a}/feedback", {"score": 0.5, "name": "accuracy"})
    check(world, "/api/calls/{call_id}/feedback", answer, "post")
    bad = request(f"{world.url}/api/calls/{a}/feedback", {"thumbs": "sideways"})
    assert bad.status == 400
    check(world, "/api/calls/{call_id}/feedback", bad, "post")
    spans = request(f"{world.url}/api/spans", {"spans": [_span("3" * 16, ROOT, "later")]})
    check(world, "/api/spans", spans, "post")
    invalid = request(f"{world.url}/api/spans", {"spans": [{"id": "nope"}]})
    assert invalid.status == 400
    check(world, "/api/spans", invalid, "post")


def test_evaluation_posts_answer_their_documented_schemas(world: World) -> None:
    url = world.url
    runs = "/api/evaluations/runs"
    posts: list[tuple[str, str, Any, int]] = [
        ("/api/datasets", "/api/datasets", {"name": "qa-set", "rows": [{"q": 1}]}, 201),
        ("/api/datasets", "/api/datasets", {"name": "qa-set", "rows": [{"q": 1}]}, 200),
        ("/api/datasets", "/api/datasets", {"rows": []}, 400),
        ("/api/datasets/from-calls", "/api/datasets/from-calls", {"name": "calls"}, 201),
        ("/api/datasets/from-calls", "/api/datasets/from-calls", {"name": "c", "sort": 1}, 400),
        (runs, runs, eval_run_body("openapi-run-c"), 201),
        (runs, runs, eval_run_body("openapi-run-c"), 200),
        (runs, runs, {**eval_run_body("openapi-run-c"), "dataset": {"name": "o", "version": "2"}},
         409),
        (runs, runs, {"id": "x"}, 400),
        (f"{runs}/{{run_id}}/rows", f"{runs}/openapi-run-c/rows", {"rows": [{"row_index": 0}]},
         200),
        (f"{runs}/{{run_id}}/rows", f"{runs}/openapi-run-c/rows", {"rows": [{}]}, 400),
        (f"{runs}/{{run_id}}/rows", f"{runs}/nope/rows", {"rows": []}, 404),
        (f"{runs}/{{run_id}}/finish", f"{runs}/openapi-run-c/finish", {"status": "failed"}, 200),
        (f"{runs}/{{run_id}}/finish", f"{runs}/openapi-run-c/finish", {"status": "done"}, 400),
    ]  # fmt: skip
    for documented, concrete, body, status in posts:
        answer = request(f"{url}{concrete}", body)
        assert answer.status == status, (concrete, body, answer.body[:300])
        check(world, documented, answer, "post")
