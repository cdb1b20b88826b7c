"""The OpenAPI document names the access checks' answers: 401 on every API operation, 403
and 415 on state changes; and what the checks send matches the documented error shape."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import jsonschema
from wiretrace_proxy.api.openapi import build_document
from wiretrace_proxy.app import create_app
from wiretrace_proxy.settings import Settings

from tests.harness import Servers


def test_every_api_operation_documents_401_and_state_changes_403_and_415() -> None:
    doc: Any = build_document(create_app(Settings()))
    operations = [
        (path, method, op)
        for path, ops in doc["paths"].items()
        if path.startswith("/api/")
        for method, op in ops.items()
    ]
    assert operations
    for path, method, op in operations:
        assert "401" in op["responses"], (method, path)
        if method in ("post", "put", "patch", "delete"):
            assert {"403", "415"} <= set(op["responses"]), (method, path)
    assert "401" not in doc["paths"]["/healthz"]["get"]["responses"]


def error_schema(doc: dict[str, Any]) -> dict[str, Any]:
    return {"$ref": "#/components/schemas/Error", "components": doc["components"]}


def test_the_checks_answer_in_the_documented_shape(guarded: Servers) -> None:
    doc: Any = build_document(guarded.app)
    url = f"{guarded.proxy_url}/api/calls/abc/feedback"
    for method, data, headers, status in (
        ("GET", None, {}, 401),
        ("POST", b"{}", {"Content-Type": "text/plain", "Origin": "https://evil.example"}, 403),
        ("POST", b"{}", {"Content-Type": "text/plain"}, 415),
    ):
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            urllib.request.urlopen(request, timeout=10)
        except urllib.error.HTTPError as exc:
            with exc:
                assert exc.code == status
                jsonschema.validate(json.load(exc), error_schema(doc))
        else:
            raise AssertionError(f"{status} expected")
