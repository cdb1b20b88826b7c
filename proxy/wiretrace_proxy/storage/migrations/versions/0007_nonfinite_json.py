"""calls: rewrite JSON that older versions stored with NaN or Infinity in it.

Python's ``json`` writes ``NaN``, ``Infinity`` and ``-Infinity``, which JSON does not have;
earlier versions stored them as they came (a local model's logprobs, an SDK span). SQLite's
JSON functions refuse such a row ("malformed JSON"), and one of them made every
``property.*`` filter and group fail for the whole table. Each such value now becomes the
string the recorder stores today (``"NaN"``, ``"Infinity"``, ``"-Infinity"``) and the record
lists the columns in ``attributes.nonfinite``. PostgreSQL's ``jsonb`` never accepted them,
so only SQLite has rows to mend. One scan of the JSON columns, done once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wiretrace_proxy import jsonsafe

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("inputs", "output", "error", "attributes")
_dumps = jsonsafe.encoder()  # what the engine stores JSON columns with

def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    broken = " OR ".join(f"NOT json_valid({c})" for c in COLUMNS)
    rows = bind.execute(sa.text(f"SELECT id, {', '.join(COLUMNS)} FROM calls WHERE {broken}"))
    for row in rows.mappings().all():
        values: dict[str, object] = {"id": row["id"]}
        mended: list[str] = []
        for column in COLUMNS:
            text = row[column]
            if text is None or _valid(text):
                values[column] = text
                continue
            value, _ = jsonsafe.loads(text)
            values[column] = _dumps(value)
            mended.append(column)
        attributes, _ = jsonsafe.loads(str(values["attributes"] or "{}"))
        if isinstance(attributes, dict):
            attributes["nonfinite"] = list(mended)
            values["attributes"] = _dumps(attributes)
        assignments = ", ".join(f"{c} = :{c}" for c in COLUMNS)
        bind.execute(sa.text(f"UPDATE calls SET {assignments} WHERE id = :id"), values)


def downgrade() -> None:
    """Nothing to undo: the mended values are valid JSON either way."""


def _valid(text: str) -> bool:
    try:
        json.loads(text, parse_constant=_refuse)
    except ValueError:
        return False
    return True


def _refuse(name: str) -> object:
    raise ValueError(name)
