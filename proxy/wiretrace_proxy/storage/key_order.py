"""The key order of a call's request body, kept beside it where the database loses it.

PostgreSQL stores ``calls.inputs`` as ``JSONB``, which keeps the value and sorts every
object's keys (shortest first). A dataset made from calls must give back the body the app
sent, in its order, so on PostgreSQL the writer also stores the order alone in
``calls.inputs_key_order`` (``KeyOrderType``); SQLite keeps the JSON text as written and
stores nothing there. The order is a few keys per object, far smaller than the body.

The shape of an order mirrors the value: an object's is ``[keys]``, or ``[keys, [order of
each value]]`` when a value holds an object; an array's is the list of its items' orders,
or ``None`` when none holds an object; anything else's is ``None``. ``in_key_order`` puts
a value back in that order, and leaves any part whose keys no longer match as it is.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from wiretrace_proxy.callrecord import JSON

__all__ = ["KeyOrderType", "in_key_order", "key_order_of", "stored_key_orders"]


def key_order_of(value: JSON) -> JSON:
    """The order of every object's keys in ``value`` (``None``: nothing to keep)."""
    if isinstance(value, dict):
        children = [key_order_of(v) for v in value.values()]
        keys: list[JSON] = list(value)
        if any(child is not None for child in children):
            return [keys, children]
        return [keys]
    if isinstance(value, list):
        items = [key_order_of(v) for v in value]
        return items if any(item is not None for item in items) else None
    return None


def in_key_order(value: JSON, order: JSON) -> JSON:
    """``value`` with its objects' keys in ``order`` (as ``key_order_of`` gave it)."""
    if isinstance(value, dict):
        if not isinstance(order, list) or not order or not isinstance(order[0], list):
            return value
        keys = order[0]
        children = order[1] if len(order) > 1 and isinstance(order[1], list) else None
        if len(keys) != len(value) or not all(isinstance(k, str) and k in value for k in keys):
            return value
        if children is None or len(children) != len(keys):
            return {str(k): value[str(k)] for k in keys}
        return {str(k): in_key_order(value[str(k)], c) for k, c in zip(keys, children, strict=True)}
    if isinstance(value, list) and isinstance(order, list) and len(order) == len(value):
        return [in_key_order(v, o) for v, o in zip(value, order, strict=True)]
    return value


class KeyOrderType(sa.TypeDecorator[Any]):
    """A column bound with the request body itself, storing the body's key order on
    PostgreSQL and NULL elsewhere (where the body's own column keeps its order); read back
    as the order."""

    impl = sa.JSON(none_as_null=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name != "postgresql":
            return None
        return key_order_of(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return value


def stored_key_orders(conn: Connection, call_ids: Collection[str]) -> dict[str, JSON]:
    """``{call id: its inputs' key order}`` for the calls that have one stored."""
    from wiretrace_proxy.storage.models import CALLS

    if not call_ids:
        return {}
    c = CALLS.c
    stmt = sa.select(c.id, c.inputs_key_order).where(
        c.id.in_(sorted(call_ids)), c.inputs_key_order.is_not(None)
    )
    return {row.id: row.inputs_key_order for row in conn.execute(stmt)}
