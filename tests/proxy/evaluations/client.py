"""The evaluation API as a test drives it: JSON over plain HTTP (``urllib``)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def call(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """``(status, parsed JSON answer)``."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{base}{path}", data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def ok(base: str, method: str, path: str, body: Any = None) -> Any:
    """The answer of a call that must succeed (2xx)."""
    status, answer = call(base, method, path, body)
    assert 200 <= status < 300, (status, answer)
    return answer


def new_run(base: str, run_id: str, model: str = "m", **extra: Any) -> Any:
    body = {
        "id": run_id,
        "evaluation": {"name": "qa", "version": "e1"},
        "dataset": {"name": "qa-set", "version": "d1"},
        "model": {"name": model, "version": "v1"},
        "scorers": [{"name": "exact_match", "version": "s1"}, {"name": "close", "version": "s1"}],
        "trials": 1,
        "n_rows": 4,
        **extra,
    }
    return ok(base, "POST", "/api/evaluations/runs", body)
