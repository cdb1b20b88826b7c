"""SQLite text search index filled in batches: the ``call_text_pending`` queue.

0012 indexed each call's text in ``call_text`` (FTS5 trigram) from an insert trigger, in the
writer's transaction. FTS5 writes a new index segment at every commit and merges segments
as they pile up, so with the writer's small, frequent transactions the index cost about
twice the rest of an insert. Now the insert trigger only queues the call's rowid in
``call_text_pending`` (an integer primary key: an append), and ``storage.text_index``
moves queued calls into ``call_text`` thousands at a time, off the write path; search
(``storage.filters``) reads the queued calls as candidates too, so nothing written is
missing from results meanwhile.

The update and delete triggers touch ``call_text`` only for calls already in it: a queued
call's text is read when it is indexed, and a call that leaves before that just leaves the
queue (an FTS5 ``delete`` of text never indexed would corrupt the index). Existing calls
are all indexed already (0012's trigger and backfill). PostgreSQL is unchanged: its
``pg_trgm`` GIN indexes buffer new entries themselves (``fastupdate``).

Downgrade indexes what is queued, drops the queue and makes 0012's triggers again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOT_QUEUED = "NOT EXISTS (SELECT 1 FROM call_text_pending WHERE call_rowid = OLD.rowid)"
_INDEX_NEW = (
    "INSERT INTO call_text (rowid, inputs, output) VALUES (NEW.rowid, NEW.inputs, NEW.output);"
)
_DELETE_OLD = (
    "INSERT INTO call_text (call_text, rowid, inputs, output)"
    " VALUES ('delete', OLD.rowid, OLD.inputs, OLD.output);"
)
_TRIGGERS = ("calls_text_insert", "calls_text_update", "calls_text_delete")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE call_text_pending (call_rowid INTEGER PRIMARY KEY)")
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    op.execute(
        "CREATE TRIGGER calls_text_insert AFTER INSERT ON calls BEGIN"
        " INSERT OR IGNORE INTO call_text_pending (call_rowid) VALUES (NEW.rowid); END"
    )
    op.execute(
        "CREATE TRIGGER calls_text_update AFTER UPDATE OF inputs, output ON calls"
        f" WHEN {_NOT_QUEUED} BEGIN {_DELETE_OLD} {_INDEX_NEW} END"
    )
    op.execute(
        "CREATE TRIGGER calls_text_delete AFTER DELETE ON calls BEGIN"
        " INSERT INTO call_text (call_text, rowid, inputs, output)"
        f" SELECT 'delete', OLD.rowid, OLD.inputs, OLD.output WHERE {_NOT_QUEUED};"
        " DELETE FROM call_text_pending WHERE call_rowid = OLD.rowid; END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "INSERT INTO call_text (rowid, inputs, output) SELECT c.rowid, c.inputs, c.output"
        " FROM call_text_pending AS p JOIN calls AS c ON c.rowid = p.call_rowid"
    )
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    op.execute("DROP TABLE call_text_pending")
    op.execute(f"CREATE TRIGGER calls_text_insert AFTER INSERT ON calls BEGIN {_INDEX_NEW} END")
    op.execute(
        "CREATE TRIGGER calls_text_update AFTER UPDATE OF inputs, output ON calls BEGIN"
        f" {_DELETE_OLD} {_INDEX_NEW} END"
    )
    op.execute(f"CREATE TRIGGER calls_text_delete AFTER DELETE ON calls BEGIN {_DELETE_OLD} END")
