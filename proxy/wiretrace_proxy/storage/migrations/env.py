"""Alembic environment for wiretrace's own schema (``storage.migrate`` drives it).

Runs online only: ``migrate.upgrade_to_head`` hands over an open connection through
``config.attributes["connection"]``; the ``alembic`` command line works too when given
``-x url=...`` or a ``sqlalchemy.url``. Batch mode is on so ALTERs work on SQLite, and
logging is left alone (there is no ini file to configure it from).
"""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlmodel import SQLModel
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.migrate import modelled
from wiretrace_proxy.storage.models import UTCDateTime

target_metadata = SQLModel.metadata


def render_item(kind: str, obj: object, autogen: AutogenContext) -> str | Literal[False]:
    """Render our column types as plain SQLAlchemy, so revisions never import the models."""
    if kind != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, sa.JSON):
        autogen.imports.add("from sqlalchemy.dialects import postgresql")
        return (
            "sa.JSON(none_as_null=True)"
            ".with_variant(postgresql.JSONB(none_as_null=True), 'postgresql')"
        )
    return False


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
        include_name=modelled,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        run_on(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database: pass -x url=... or set sqlalchemy.url")
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            run_on(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("wiretrace migrations run online only")
run_migrations_online()
