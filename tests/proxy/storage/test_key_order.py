"""``storage/key_order.py``: a body's key order, kept apart and put back.

The property checked is the one a dataset made from calls relies on: a value whose keys
were sorted as ``JSONB`` sorts them, put back in the order ``key_order_of`` took from the
original, serialises to the original's bytes.
"""

from __future__ import annotations

import json
from typing import Any, cast

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from wiretrace_proxy.callrecord import JSON
from wiretrace_proxy.storage.key_order import KeyOrderType, in_key_order, key_order_of

POSTGRESQL: sa.Dialect = PGDialect()  # type: ignore[no-untyped-call]


def jsonb_sorted(value: Any) -> Any:
    """``value`` as PostgreSQL's ``JSONB`` gives it back: keys shortest first, then by bytes."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return {k: jsonb_sorted(value[k]) for k in keys}
    if isinstance(value, list):
        return [jsonb_sorted(v) for v in value]
    return value


def text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=30,
)


@given(JSON_VALUES)
def test_a_sorted_value_put_back_in_order_is_the_original(value: Any) -> None:
    order = key_order_of(value)
    assert text(in_key_order(jsonb_sorted(value), order)) == text(value)
    assert text(in_key_order(jsonb_sorted(value), json.loads(json.dumps(order)))) == text(value)


def test_a_chat_body_comes_back_as_sent() -> None:
    body: JSON = {
        "messages": [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "hi"}],
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "tools": [
            {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
        ],
    }
    order = key_order_of(body)
    function = [["name", "parameters"], [None, [["type"]]]]
    message = [["role", "content"]]
    tools = [[["type", "function"], [None, function]]]
    assert order == [
        ["messages", "model", "temperature", "tools"],
        [[message, message], None, None, tools],
    ]
    assert isinstance(body, dict) and list(jsonb_sorted(body)) != list(body)
    assert text(in_key_order(jsonb_sorted(body), order)) == text(body)


def test_parts_whose_keys_changed_are_left_as_they_are() -> None:
    order = key_order_of({"b": 1, "a": {"y": 1, "x": 2}})
    changed: JSON = {"a": {"x": 2, "z": 3}, "b": 1}
    put_back = in_key_order(changed, order)
    assert isinstance(put_back, dict) and put_back == changed
    assert list(put_back) == ["b", "a"]  # the top level still matches
    assert list(cast(dict[str, JSON], put_back["a"])) == ["x", "z"]
    assert in_key_order({"c": 1}, order) == {"c": 1}
    assert in_key_order([1, 2], [None]) == [1, 2]
    assert in_key_order("text", order) == "text"


def test_the_column_stores_the_order_on_postgresql_only() -> None:
    column = KeyOrderType()
    body = {"model": "m", "messages": []}
    assert column.process_bind_param(body, POSTGRESQL) == [["model", "messages"]]
    assert column.process_bind_param(body, SQLiteDialect()) is None
    assert column.process_bind_param(None, POSTGRESQL) is None
    assert isinstance(column.impl, sa.JSON)
