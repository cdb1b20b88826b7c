"""``wiretrace replay DATASET --model M``: re-send a dataset's recorded requests, scored.

For a dataset made with ``POST /api/datasets/from-calls`` (rows holding ``inputs``, the
request body as recorded, ``reference_output`` and ``endpoint``), each request is sent
again through a running wiretrace server with the overrides (``--model``, ``--set``,
``--system-prompt-file``: ``evaluations.replay_requests``) as a row of a new evaluation
run: tagged ``Wiretrace-Eval-Run``/``-Row``, so the run shows each row's wire tokens and
cost. Each ``--scorer`` (a ``wiretrace.scorers`` class taking ``output`` and ``target``:
``ExactMatch``, ``Contains``, ``StringSimilarity``...) compares the answer's text with the
recorded answer's. The run is finished without a summary (the server computes it) and
printed. The API key for the upstream is ``OPENAI_API_KEY``, sent as the app would.

Like reprice's filters, these flags pick what one run does: no ``WIRETRACE_*`` variable.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wiretrace_proxy.callrecord import JSON, JSONObject
from wiretrace_proxy.commands.options import HelpFormatter, Subparsers
from wiretrace_proxy.evaluations.replay_requests import answer_text, override, parse_setting

__all__ = ["register", "run"]

DEFAULT_SERVER = "http://127.0.0.1:8787"
REPORT_EVERY = 50
"""Rows reported to the server per request."""


class ReplayError(Exception):
    """A problem that ends the replay with one line on stderr."""


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="re-send a dataset's recorded requests with overrides, as a scored run",
        description="Re-send each recorded request of DATASET through a running wiretrace"
        " server with --model (and --set, --system-prompt-file), score each answer against"
        " the recorded one, and report the evaluation run.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("dataset", metavar="DATASET", help="the dataset's name")
    parser.add_argument("--model", required=True, help="the model to send every request to")
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        type=_setting,
        metavar="KEY=VALUE",
        help="set a request field (VALUE read as JSON when it parses); repeatable",
    )
    parser.add_argument(
        "--system-prompt-file", type=Path, metavar="FILE", help="replace the system prompt"
    )
    parser.add_argument(
        "--scorer",
        dest="scorers",
        action="append",
        required=True,
        metavar="NAME",
        help="a wiretrace.scorers class comparing output and target; repeatable",
    )
    parser.add_argument("--server", default=DEFAULT_SERVER, help="the wiretrace server's URL")
    parser.add_argument("--project", help="the dataset's project (default: the server's)")
    parser.add_argument("--dataset-version", help="the dataset version (default: the newest)")
    parser.set_defaults(run=run, command_parser=parser)


def _setting(text: str) -> tuple[str, JSON]:
    try:
        return parse_setting(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class _Scorer:
    name: str
    version: str
    score: Callable[..., Any]


def _scorers(names: list[str]) -> list[_Scorer]:
    import wiretrace.scorers as library
    from wiretrace import Model
    from wiretrace._versioning import model_version

    found = []
    for name in names:
        cls = getattr(library, name, None)
        if not isinstance(cls, type):
            raise ReplayError(f"no scorer {name!r}; known: {', '.join(library.__all__)}")
        try:
            scorer = cls()
        except TypeError as exc:
            raise ReplayError(f"scorer {name} needs settings replay cannot give: {exc}") from None
        found.append(_Scorer(name, str(model_version(scorer, Model)["digest"]), scorer.score))
    return found


class _Api:
    def __init__(self, server: str, project: str | None) -> None:
        self.server = server.rstrip("/")
        self.project = project

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.server}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise ReplayError(f"{method} {path}: HTTP {exc.code}: {detail}") from None
        except OSError as exc:
            raise ReplayError(f"cannot reach {self.server}: {exc}") from None

    def rows(self, dataset: str, version: str | None) -> tuple[str, list[JSONObject]]:
        rows: list[JSONObject] = []
        found = version
        while True:
            query = {"offset": str(len(rows)), "limit": "1000"}
            if self.project:
                query["project"] = self.project
            if found:
                query["version"] = found
            name = urllib.parse.quote(dataset, safe="")
            page = self.call("GET", f"/api/datasets/{name}/rows?{urllib.parse.urlencode(query)}")
            found = page["version"]
            rows.extend(row["values"] for row in page["rows"])
            if not page["rows"] or len(rows) >= page["total"]:
                assert found is not None
                return found, rows


def _send(
    server: str, row: JSONObject, body: JSONObject, run_id: str, index: int
) -> tuple[JSON, JSONObject | None, float]:
    """``(answer, model error, latency ms)`` of one replayed request."""
    endpoint = row.get("endpoint")
    path = endpoint if isinstance(endpoint, str) and endpoint.startswith("/") else None
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    req = urllib.request.Request(f"{server}{path or '/v1/chat/completions'}", data=data)
    req.add_header("Content-Type", "application/json")
    req.add_header("Wiretrace-Eval-Run", run_id)
    req.add_header("Wiretrace-Eval-Row", str(index))
    key = os.environ.get("OPENAI_API_KEY")
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            answer: JSON = json.loads(resp.read())
        error: JSONObject | None = None
    except urllib.error.HTTPError as exc:
        answer = None
        error = {"type": "HTTPError", "message": f"HTTP {exc.code}: {exc.read()[:300]!r}"}
    except (OSError, ValueError) as exc:
        answer = None
        error = {"type": type(exc).__name__, "message": str(exc)}
    return answer, error, round((time.perf_counter() - start) * 1000, 3)


def _report(
    server: str, row: JSONObject, index: int, body: JSONObject, run_id: str,
    scorers: list[_Scorer],
) -> JSONObject:  # fmt: skip
    answer, error, latency = _send(server, row, body, run_id, index)
    report: JSONObject = {"row_index": index, "inputs": body, "latency_ms": latency}
    if error is not None:
        report.update(output=None, model_error=error)
        return report
    output = answer_text(answer)
    target = answer_text(row.get("reference_output"))
    scores: JSONObject = {}
    errors: JSONObject = {}
    for scorer in scorers:
        try:
            scores[scorer.name] = scorer.score(output=output, target=target)
        except Exception as exc:  # a scorer's failure is that row's, reported as such
            errors[scorer.name] = f"{type(exc).__name__}: {exc}"
    report.update(output=output, scores=scores, scorer_errors=errors)
    return report


def replay(args: argparse.Namespace) -> JSONObject:
    """Run the replay; the finished run as the server gives it."""
    api = _Api(args.server, args.project)
    scorers = _scorers(args.scorers)
    prompt = args.system_prompt_file.read_text() if args.system_prompt_file else None
    settings = dict(args.settings)
    version, rows = api.rows(args.dataset, args.dataset_version)
    overrides = json.dumps([args.model, settings, prompt], sort_keys=True)
    digest = hashlib.sha256(overrides.encode()).hexdigest()[:16]
    run_id = uuid.uuid4().hex
    print(f"replay {run_id}: {len(rows)} rows of {args.dataset}@{version} -> {args.model}")
    api.call("POST", "/api/evaluations/runs", {
        "id": run_id,
        "project": args.project,
        "evaluation": {"name": f"replay:{args.dataset}", "version": digest},
        "dataset": {"name": args.dataset, "version": version},
        "model": {"name": args.model, "version": digest},
        "scorers": [{"name": s.name, "version": s.version} for s in scorers],
        "trials": 1,
        "n_rows": len(rows),
        "config": {"model": args.model, "set": settings, "system_prompt": prompt},
    })  # fmt: skip
    pending: list[JSONObject] = []
    for index, row in enumerate(rows):
        try:
            body = override(row.get("inputs"), args.model, settings, prompt)
        except ValueError as exc:
            pending.append(
                {"row_index": index, "model_error": {"type": "ValueError", "message": str(exc)}}
            )
            continue
        pending.append(_report(api.server, row, index, body, run_id, scorers))
        if len(pending) >= REPORT_EVERY:
            api.call("POST", f"/api/evaluations/runs/{run_id}/rows", {"rows": pending})
            pending = []
    api.call("POST", f"/api/evaluations/runs/{run_id}/rows", {"rows": pending})
    finished: JSONObject = api.call(
        "POST", f"/api/evaluations/runs/{run_id}/finish", {"status": "finished"}
    )
    return finished


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    try:
        finished = replay(args)
    except ReplayError as exc:
        print(f"wiretrace replay: {exc}", file=sys.stderr)
        return 1
    print(
        f"run {finished['id']}: {finished['n_done']} rows, {finished['n_ok']} ok,"
        f" {finished['n_model_errors']} model errors, {finished['n_scorer_errors']} scorer"
        f" errors; cost {finished['cost_usd']}"
    )
    print(json.dumps(finished["summary"], indent=2))
    return 0
