"""``wiretrace.client()``: the recorded calls from Python, for scripts and notebooks.

    import wiretrace

    wt = wiretrace.client()                       # $WIRETRACE_URL or http://127.0.0.1:8787
    cost = sum(c["cost_usd"] or 0 for c in wt.calls(session_id="exp-42"))
    slow = wt.calls(model="gpt-4o", min_latency_ms=2000, sort="-latency_ms").to_pandas()

A thin wrapper over the JSON API (``/api/calls``, ``/api/traces``, ``/api/stats``,
``/api/calls/{id}/feedback``): records are the API's own JSON objects as dicts, so what the
API documents is what a script gets. ``calls()`` is lazy: it fetches a page only when
iteration reaches it and follows ``next_cursor``, so summing a million calls holds one page
in memory. Standard library only (``urllib``); pandas is used by ``to_pandas`` when it is
installed, never required.

Unlike tracing, which must never disturb the app, this is a query API a user calls on
purpose: failures raise ``WiretraceAPIError`` (``status`` None when the server could not
be reached at all), carrying the server's message and the parameter it names.
"""

from __future__ import annotations

import importlib
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from ._state import DEFAULT_URL, ENV_URL, auth_headers

__all__ = ["Calls", "Client", "WiretraceAPIError", "client", "to_pandas"]

Record = dict[str, Any]
"""One call record as the API returns it (``GET /api/calls/{id}``)."""
DataFrame = Any
"""``pandas.DataFrame``: typed loosely because pandas is optional and ships no stubs."""
USAGE_KEYS = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
)
TIME_COLUMNS = ("started_at", "ended_at")


class WiretraceAPIError(Exception):
    """The API refused a request, or the server could not be reached (``status`` None)."""

    def __init__(self, status: int | None, message: str, param: str | None = None) -> None:
        super().__init__(status, message, param)
        self.status = status
        """HTTP status (400, 404, 503...), or None when no answer came."""
        self.message = message
        self.param = param
        """The query parameter or body field the server named as the problem."""

    def __str__(self) -> str:
        where = f" (param {self.param!r})" if self.param else ""
        return f"{self.status or 'no response'}: {self.message}{where}"


def client(url: str | None = None, *, timeout: float = 30.0, token: str | None = None) -> Client:
    """A client for the server at ``url`` (default ``$WIRETRACE_URL``, else
    ``http://127.0.0.1:8787``, as ``init``), sending ``token`` (default
    ``$WIRETRACE_TOKEN``) to a server started with ``--auth-token``. Creating one sends
    nothing."""
    return Client(url, timeout=timeout, token=token)


class Client:
    def __init__(
        self, url: str | None = None, *, timeout: float = 30.0, token: str | None = None
    ) -> None:
        self.url = (url or os.environ.get(ENV_URL) or DEFAULT_URL).rstrip("/")
        self.timeout = timeout
        self._headers = auth_headers(token)
        self._opener = urllib.request.build_opener()

    def calls(
        self,
        *,
        properties: Mapping[str, str] | None = None,
        sort: str | None = None,
        page_size: int = 200,
        limit: int | None = None,
        **filters: object,
    ) -> Calls:
        """Calls matching every filter (``model=``, ``session_id=``, ``since=`` a datetime,
        ``min_cost=``...; ``properties={"k": "v"}`` for ``property.k=v``), in ``sort`` order
        (``"-cost_usd"``; default newest first). ``limit`` caps how many are yielded;
        ``page_size`` is how many each request fetches."""
        params = _params(filters, properties)
        if sort is not None:
            params.append(("sort", sort))
        params.append(("limit", str(page_size)))
        return Calls(self, params, limit)

    def call(self, call_id: str) -> Record:
        """One call, with its full feedback list."""
        return _object(self.get(f"/api/calls/{_segment(call_id)}"))

    def trace(self, trace_id: str) -> Record:
        """A whole trace: its root call(s) with nested ``children`` lists."""
        return _object(self.get(f"/api/traces/{_segment(trace_id)}"))

    def stats(
        self, group_by: str, *, properties: Mapping[str, str] | None = None, **filters: object
    ) -> Record:
        """``{"groups": [{"key", "calls", ..., "cost_usd"}]}`` over the matching calls."""
        params = [("group_by", group_by), *_params(filters, properties)]
        return _object(self.get("/api/stats", params))

    def feedback(
        self,
        call_id: str,
        *,
        thumbs: str | bool | None = None,
        score: float | None = None,
        name: str | None = None,
        note: str | None = None,
        author: str | None = None,
    ) -> Record:
        """Add feedback to a call: ``thumbs`` ``"up"``/``"down"`` (or True/False), a ``score``
        with its ``name``, a ``note``, its ``author``. Returns the stored entry."""
        if isinstance(thumbs, bool):
            thumbs = "up" if thumbs else "down"
        given = {"thumbs": thumbs, "score": score, "name": name, "note": note, "author": author}
        body = {key: value for key, value in given.items() if value is not None}
        return _object(self.post(f"/api/calls/{_segment(call_id)}/feedback", body))

    @staticmethod
    def to_pandas(calls: Iterable[Record]) -> DataFrame:
        """Any iterable of call records (a filtered list, ``calls()``) as a DataFrame."""
        return to_pandas(calls)

    def get(self, path: str, params: Iterable[tuple[str, str]] = ()) -> object:
        """``GET`` an API path; the decoded JSON answer."""
        query = urllib.parse.urlencode(list(params))
        return self._send(urllib.request.Request(self.url + path + (f"?{query}" if query else "")))

    def post(self, path: str, body: object) -> object:
        """``POST`` a JSON body to an API path; the decoded JSON answer."""
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        return self._send(urllib.request.Request(self.url + path, data, headers, method="POST"))

    def _send(self, request: urllib.request.Request) -> object:
        request.add_header("Accept", "application/json")
        for name, value in self._headers.items():
            request.add_header(name, value)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise _api_error(error) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise WiretraceAPIError(
                None, f"cannot reach wiretrace at {self.url}: {reason}"
            ) from None
        except ValueError as error:
            raise WiretraceAPIError(None, f"not a JSON answer from {self.url}: {error}") from None


class Calls:
    """A lazy ``/api/calls`` query: each iteration runs it afresh, one page at a time."""

    def __init__(self, client: Client, params: list[tuple[str, str]], limit: int | None) -> None:
        self._client = client
        self._params = params
        self._limit = limit

    def pages(self) -> Iterator[list[Record]]:
        """The pages as the API returns them, following ``next_cursor``."""
        cursor: str | None = None
        while True:
            params = self._params + ([("cursor", cursor)] if cursor else [])
            body = _object(self._client.get("/api/calls", params))
            yield list(body["calls"])
            cursor = body.get("next_cursor")
            if not cursor:
                return

    def __iter__(self) -> Iterator[Record]:
        left = self._limit
        for page in self.pages():
            for call in page:
                if left is not None:
                    if left <= 0:
                        return
                    left -= 1
                yield call

    def to_pandas(self) -> DataFrame:
        """All matching calls as a DataFrame (see ``to_pandas``)."""
        return to_pandas(self)


def frame_rows(calls: Iterable[Record]) -> list[dict[str, object]]:
    """Rows for a table: each record with ``usage`` spread into token columns."""
    rows: list[dict[str, object]] = []
    for call in calls:
        row = {key: value for key, value in call.items() if key != "usage"}
        usage = call.get("usage")
        for key in USAGE_KEYS:
            row[key] = usage.get(key) if isinstance(usage, dict) else None
        rows.append(row)
    return rows


def to_pandas(calls: Iterable[Record]) -> DataFrame:
    """A ``pandas.DataFrame`` of call records: one row per call, token columns instead of
    ``usage``, ``started_at``/``ended_at`` as UTC timestamps. Needs pandas installed."""
    try:
        pandas = importlib.import_module("pandas")
    except ImportError:
        raise ImportError(
            "to_pandas() needs pandas, which wiretrace does not install: pip install pandas"
        ) from None
    frame = pandas.DataFrame.from_records(frame_rows(calls))
    for column in TIME_COLUMNS:
        if column in frame.columns:
            frame[column] = pandas.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def _params(
    filters: Mapping[str, object], properties: Mapping[str, str] | None
) -> list[tuple[str, str]]:
    items = [*filters.items(), *((f"property.{k}", v) for k, v in (properties or {}).items())]
    return [(name, _text(name, value)) for name, value in items if value is not None]


def _text(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()  # a naive time means UTC to the server
    if isinstance(value, str | int | float):
        return str(value)
    raise TypeError(f"filter {name}: expected str, number, bool or datetime, got {value!r}")


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _object(body: object) -> Record:
    if not isinstance(body, dict):
        raise WiretraceAPIError(None, f"expected a JSON object, got {type(body).__name__}")
    return body


def _api_error(error: urllib.error.HTTPError) -> WiretraceAPIError:
    """The server's ``{"error": {"message", "param"}}``, or the status line if it has none."""
    try:
        detail = json.loads(error.read()).get("error") or {}
        return WiretraceAPIError(error.code, str(detail["message"]), detail.get("param"))
    except (ValueError, AttributeError, KeyError, TypeError, OSError):
        return WiretraceAPIError(error.code, f"HTTP {error.code} {error.reason}")
    finally:
        error.close()
