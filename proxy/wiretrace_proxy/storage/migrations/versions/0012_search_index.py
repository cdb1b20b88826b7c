"""Search and properties indexes: substring search over inputs/outputs, ``call_properties``.

Text search (``q``) scanned the JSON text of every call, and ``property.<key>`` filters
and groups parsed every call's attributes. This revision adds:

- **``call_properties``** (call id, lowercased key, value as text): one row per property
  of each call, as ``property.<key>`` filters read them (``lower(key)``, the value as
  ``json_each``/``jsonb_each_text`` gives it), indexed on (key, value, call id) for filters
  and (call id, key, value) for filters and groups probed call by call, and deletes. A
  key over ``KEY_LIMIT`` characters is left out and a value over ``VALUE_LIMIT`` is stored as NULL (a PostgreSQL B-tree entry must
  fit a third of a page): filters and groups read those from the JSON as before (a NULL
  value, rare, means "look in the JSON": it may be a JSON null or a long value). Kept in step
  by triggers on ``calls`` inside the transaction that inserts, updates (the span upsert,
  the LLM span fold) or deletes (running rows, purge) a call, on both backends.
- **SQLite**: ``call_text``, an external-content FTS5 table with the ``trigram``
  tokenizer over the stored JSON text of ``inputs`` and ``output`` (the content stays in
  ``calls``; the index is keyed by its rowid), kept by triggers the same way. It keeps no
  positions (``detail='none'``: a third of the insert cost and of the size), so a match,
  every trigram of the query somewhere in the call, is a prefilter: ``storage.filters``
  still checks the exact ``LIKE`` on what it finds.
- **PostgreSQL**: ``pg_trgm`` GIN indexes on ``inputs::text`` and ``output::text``, which
  the existing ``ILIKE`` uses as is. If the extension cannot be created (no contrib
  package, no privilege), one warning says so and search keeps scanning.

Existing calls are backfilled here, in batches of ``BATCH`` calls. Downgrade drops it all.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)

KEY_LIMIT = 128
VALUE_LIMIT = 400
"""Characters: (128 + 400) * 4 UTF-8 bytes stays under PostgreSQL's 2,704-byte B-tree entry."""
BATCH = 50_000
TRIGRAM_INDEXES = {"ix_calls_inputs_trgm": "inputs", "ix_calls_output_trgm": "output"}

_SQLITE_ROWS = (
    "SELECT {row}.id, lower(p.key), CASE WHEN length(CAST(p.value AS TEXT))"
    f" <= {VALUE_LIMIT} THEN CAST(p.value AS TEXT) END"
    # An older row may hold NaN (not JSON): it has no properties rather than failing updates.
    " FROM {source}json_each(CASE WHEN json_valid({row}.attributes)"
    " THEN {row}.attributes ELSE '{{}}' END, '$.properties') AS p"
    f" WHERE p.key IS NOT NULL AND length(lower(p.key)) <= {KEY_LIMIT}"
)
_PG_PROPS = "({row}.attributes -> 'properties')"
_PG_ROWS = (
    "SELECT {row}.id, lower(p.key),"
    f" CASE WHEN length(p.value) <= {VALUE_LIMIT} THEN p.value END FROM {{source}}jsonb_each_text("
    f"CASE WHEN jsonb_typeof({_PG_PROPS}) = 'object' THEN {_PG_PROPS} ELSE '{{{{}}}}'::jsonb END"
    f") AS p WHERE length(lower(p.key)) <= {KEY_LIMIT}"
)
_INSERT = "INSERT INTO call_properties (call_id, key, value) "


def upgrade() -> None:
    op.create_table(
        "call_properties",
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=True),
    )
    op.create_index(
        "ix_call_properties_key_value_call_id", "call_properties", ["key", "value", "call_id"]
    )
    op.create_index(
        "ix_call_properties_call_id_key_value", "call_properties", ["call_id", "key", "value"]
    )
    if op.get_bind().dialect.name == "sqlite":
        _upgrade_sqlite()
    else:
        _upgrade_postgresql()


def _upgrade_sqlite() -> None:
    new_rows = _SQLITE_ROWS.format(row="NEW", source="")
    for statement in (
        # Most calls carry no property: a byte search skips parsing their attributes
        # (stored compact, so a non-empty properties object always starts this way).
        "CREATE TRIGGER calls_properties_insert AFTER INSERT ON calls"
        """ WHEN instr(NEW.attributes, '"properties":{"') > 0 BEGIN"""
        f" {_INSERT}{new_rows}; END",
        "CREATE TRIGGER calls_properties_update AFTER UPDATE OF id, attributes ON calls BEGIN"
        f" DELETE FROM call_properties WHERE call_id = OLD.id; {_INSERT}{new_rows}; END",
        "CREATE TRIGGER calls_properties_delete AFTER DELETE ON calls BEGIN"
        " DELETE FROM call_properties WHERE call_id = OLD.id; END",
        "CREATE VIRTUAL TABLE call_text USING fts5(inputs, output,"
        " content='calls', tokenize='trigram', detail='none')",
        "CREATE TRIGGER calls_text_insert AFTER INSERT ON calls BEGIN"
        " INSERT INTO call_text (rowid, inputs, output)"
        " VALUES (NEW.rowid, NEW.inputs, NEW.output); END",
        "CREATE TRIGGER calls_text_update AFTER UPDATE OF inputs, output ON calls BEGIN"
        " INSERT INTO call_text (call_text, rowid, inputs, output)"
        " VALUES ('delete', OLD.rowid, OLD.inputs, OLD.output);"
        " INSERT INTO call_text (rowid, inputs, output)"
        " VALUES (NEW.rowid, NEW.inputs, NEW.output); END",
        "CREATE TRIGGER calls_text_delete AFTER DELETE ON calls BEGIN"
        " INSERT INTO call_text (call_text, rowid, inputs, output)"
        " VALUES ('delete', OLD.rowid, OLD.inputs, OLD.output); END",
    ):
        op.execute(statement)
    bind = op.get_bind()
    last = bind.execute(sa.text("SELECT max(rowid) FROM calls")).scalar() or 0
    for low in range(0, last + 1, BATCH):
        bind.execute(
            sa.text(
                f"{_INSERT}{_SQLITE_ROWS.format(row='c', source='calls AS c, ')}"
                " AND c.rowid > :low AND c.rowid <= :high"
            ),
            {"low": low, "high": low + BATCH},
        )
    op.execute("INSERT INTO call_text (call_text) VALUES ('rebuild')")


def _upgrade_postgresql() -> None:
    op.execute(
        "CREATE FUNCTION calls_properties_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF TG_OP <> 'INSERT' THEN DELETE FROM call_properties WHERE call_id = OLD.id; END IF;"
        f" IF TG_OP <> 'DELETE' THEN {_INSERT}{_PG_ROWS.format(row='NEW', source='')}; END IF;"
        " RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER calls_properties AFTER INSERT OR DELETE OR UPDATE OF id, attributes"
        " ON calls FOR EACH ROW EXECUTE FUNCTION calls_properties_sync()"
    )
    bind = op.get_bind()
    after = ""
    select = _PG_ROWS.format(row="c", source="batch AS c CROSS JOIN LATERAL ")
    while True:
        found = bind.execute(
            sa.text(
                "WITH batch AS (SELECT id, attributes FROM calls WHERE id > :after"
                f" ORDER BY id LIMIT {BATCH}), copied AS ({_INSERT}{select})"
                " SELECT max(id) FROM batch"
            ),
            {"after": after},
        ).scalar()
        if found is None:
            break
        after = found
    _create_trigram_indexes()


def _create_trigram_indexes() -> None:
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        log.warning(
            "storage: pg_trgm cannot be created (%s); text search scans the calls",
            str(exc.orig).strip().splitlines()[0],
        )
        return
    bind.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
    for name, column in TRIGRAM_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON calls USING gin (({column}::text) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS calls_text_{trigger}")
            op.execute(f"DROP TRIGGER IF EXISTS calls_properties_{trigger}")
        op.execute("DROP TABLE IF EXISTS call_text")
    else:
        for name in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute("DROP TRIGGER IF EXISTS calls_properties ON calls")
        op.execute("DROP FUNCTION IF EXISTS calls_properties_sync()")
    op.drop_index("ix_call_properties_call_id_key_value", table_name="call_properties")
    op.drop_index("ix_call_properties_key_value_call_id", table_name="call_properties")
    op.drop_table("call_properties")
