"""``/api/datasets``: rows posted as content-versioned datasets, listed and read back.

The version is the first 16 hex digits of the sha256 of the rows' canonical JSON: the same
rows posted again answer 200 with the existing version, other rows 201 with a new one.
Rows come back exactly as posted, key order included, on both databases.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.harness import Servers
from tests.proxy.evaluations.client import call, ok

pytestmark = pytest.mark.both_databases

ROWS: list[dict[str, Any]] = [
    {"question": "2+2?", "expected": "4", "meta": {"z": 1, "a": [1, 2]}},
    {"question": "Où ?", "expected": "Zürich", "meta": {"b": None}},
]


def canonical_digest(rows: list[dict[str, Any]]) -> str:
    text = json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def test_rows_are_versioned_by_their_digest(servers: Servers) -> None:
    base = servers.proxy_url
    status, first = call(base, "POST", "/api/datasets", {"name": "qa", "rows": ROWS})
    assert status == 201
    assert first["digest"] == canonical_digest(ROWS) and first["version"] == first["digest"][:16]
    assert first["row_count"] == 2 and first["project"] == servers.settings.project
    reordered = [{k: row[k] for k in reversed(list(row))} for row in ROWS]  # same content
    status, again = call(base, "POST", "/api/datasets", {"name": "qa", "rows": reordered})
    assert (status, again) == (200, first)
    status, second = call(base, "POST", "/api/datasets", {"name": "qa", "rows": ROWS[:1]})
    assert status == 201 and second["version"] != first["version"]

    listed = ok(base, "GET", "/api/datasets")["datasets"]
    assert [(d["name"], d["latest_version"], d["row_count"], d["versions"]) for d in listed] == [
        ("qa", second["version"], 1, 2)
    ]
    detail = ok(base, "GET", "/api/datasets/qa")
    assert [v["version"] for v in detail["versions"]] == [second["version"], first["version"]]
    assert detail["versions"][0]["source"] == {"kind": "rows"}

    latest = ok(base, "GET", "/api/datasets/qa/rows")
    assert latest["version"] == second["version"] and latest["total"] == 1
    old = ok(base, "GET", f"/api/datasets/qa/rows?version={first['version']}")
    assert [r["index"] for r in old["rows"]] == [0, 1] and old["total"] == 2
    for got, sent in zip(old["rows"], ROWS, strict=True):  # key order kept
        assert json.dumps(got["values"]) == json.dumps(sent)
    page = ok(base, "GET", f"/api/datasets/qa/rows?version={first['version']}&offset=1&limit=1")
    assert [r["index"] for r in page["rows"]] == [1] and page["limit"] == 1


def test_datasets_belong_to_their_project(servers: Servers) -> None:
    base = servers.proxy_url
    ok(base, "POST", "/api/datasets", {"name": "qa", "project": "team-b", "rows": ROWS})
    assert ok(base, "GET", "/api/datasets")["datasets"] == []
    assert [d["name"] for d in ok(base, "GET", "/api/datasets?project=team-b")["datasets"]] == [
        "qa"
    ]
    assert call(base, "GET", "/api/datasets/qa")[0] == 404
    assert ok(base, "GET", "/api/datasets/qa/rows?project=team-b")["total"] == 2


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"rows": []}, "name"),
        ({"name": "", "rows": []}, "name"),
        ({"name": "x"}, "rows"),
        ({"name": "x", "rows": [1]}, "rows.0"),
        ({"name": "x", "rows": [], "colour": 1}, "colour"),
    ],
)
def test_a_bad_dataset_is_a_400_naming_the_field(servers: Servers, body: Any, param: str) -> None:
    status, answer = call(servers.proxy_url, "POST", "/api/datasets", body)
    assert status == 400 and answer["error"]["param"] == param, answer


def test_unknown_datasets_and_versions_are_404(servers: Servers) -> None:
    base = servers.proxy_url
    ok(base, "POST", "/api/datasets", {"name": "qa", "rows": ROWS})
    assert call(base, "GET", "/api/datasets/nope")[0] == 404
    assert call(base, "GET", "/api/datasets/nope/rows")[0] == 404
    status, answer = call(base, "GET", "/api/datasets/qa/rows?version=0000000000000000")
    assert status == 404 and "0000000000000000" in answer["error"]["message"]
    status, answer = call(base, "GET", "/api/datasets/qa/rows?limit=0")
    assert status == 400 and answer["error"]["param"] == "limit"


def test_the_same_rows_posted_at_once_store_one_version(servers: Servers) -> None:
    body = {"name": "raced", "rows": ROWS}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: call(servers.proxy_url, "POST", "/api/datasets", body),
                                range(8)))  # fmt: skip
    assert sorted(status for status, _ in answers) == [200] * 7 + [201]
    assert len({answer["version"] for _, answer in answers}) == 1
    detail = ok(servers.proxy_url, "GET", "/api/datasets/raced")
    assert len(detail["versions"]) == 1
