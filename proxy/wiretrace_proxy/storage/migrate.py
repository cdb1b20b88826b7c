"""Schema migrations: Alembic, shipped inside the package and run at server start.

The schema is only ever created or changed by the migrations in ``migrations/versions``
(never ``create_all``), so a database made by any wiretrace version can be upgraded in
place, on SQLite and PostgreSQL alike. No ``alembic.ini`` is needed at runtime: the script
location is resolved from this file. ``schema_diff`` compares the migrated database with
the models; the drift test keeps the two in step.

To write a new migration, change ``models.py``, then against a database at head::

    from alembic import command
    command.revision(alembic_config(engine), message="...", autogenerate=True, rev_id="0002")

and review the generated file (``AutoString`` columns come from ``sqlmodel.sql.sqltypes``).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import wiretrace_proxy.storage.models  # noqa: F401  (registers the tables on the metadata)
from wiretrace_proxy.errors import SchemaTooNew
from wiretrace_proxy.storage.engine import safe_url
from wiretrace_proxy.storage.migration_lock import migration_transaction

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "head_revision",
    "known_revisions",
    "modelled",
    "schema_diff",
    "upgrade_to_head",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""The Alembic script directory (``env.py``, ``versions/``) inside the installed package."""


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic ``Config`` for the packaged migrations, bound to ``engine`` if given."""
    config = Config()
    # ConfigParser interpolation would read a '%' in the path as a placeholder.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if engine is not None:
        url = engine.url.render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_to_head(engine: Engine) -> str | None:
    """Bring the database to the newest schema, in one transaction where the backend can;
    the revision it is at after.

    Safe to run from many processes at once (replicas started together): the check and the
    upgrade run under a database-wide lock (``migration_lock``), so one migrates and the
    others find it done. A database at a revision these migrations do not know was made by
    a newer wiretrace: ``SchemaTooNew``, and nothing is changed.
    """
    config = alembic_config()
    head = head_revision()
    with migration_transaction(engine) as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        if current is not None and current not in known_revisions():
            raise SchemaTooNew(
                f"database {safe_url(engine)} is at schema revision {current}, unknown to "
                f"this wiretrace (its newest is {head}): this wiretrace is older than the "
                "one that migrated the database; upgrade wiretrace"
            )
        if current != head:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    return head


def known_revisions() -> frozenset[str]:
    """Every revision id the packaged migrations define."""
    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(rev.revision for rev in script.walk_revisions())


def head_revision() -> str | None:
    """The newest revision the packaged migrations define."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None if it has never been migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_diff(engine: Engine) -> list[object]:
    """Differences between the database and the models, as Alembic autogenerate sees them.

    Empty after ``upgrade_to_head`` means the migrations and the models agree. The search
    indexes are not models (an FTS5 table and its shadow tables, PostgreSQL's trigram
    expression indexes: migration 0012) and are left out.
    """
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "render_as_batch": True,
                "include_name": modelled,
            },
        )
        return list(compare_metadata(context, SQLModel.metadata))


def modelled(name: str | None, type_: str, parent_names: object) -> bool:
    """Whether autogenerate compares this object (not the search indexes of 0012)."""
    if type_ == "table":
        return not (name or "").startswith("call_text")
    if type_ == "index":
        return not (name or "").endswith("_trgm")
    return True
