"""Put ``gen_calls.py``'s calls into PostgreSQL, for ``bench_query.py --db postgresql://...``.

Generating a million calls takes the generator's processes most of its time, so the
PostgreSQL database gets the very rows of the SQLite file ``gen_calls.py`` made (the same
``--rows`` and ``--seed``): the schema is made by the product's migrations up to
``--revision`` (the revision before the search indexes by default, so the upgrade that
follows times their backfill), the tables are copied with ``COPY``, then the database is
upgraded to head and the upgrade timed.

Usage: ``.venv/bin/python bench/pg_copy.py --sqlite calls.db --db postgresql://...``, or
``--throwaway`` to start a throwaway cluster the way ``tests/postgres.py`` does, fill it
and print its URL (it stays up until Enter is pressed).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import psycopg
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import make_url
from wiretrace_proxy.storage import migrate
from wiretrace_proxy.storage.engine import create_engine_for

ROOT = Path(__file__).resolve().parent.parent
BEFORE_SEARCH = "0011"
TABLES = ("calls", "op_versions", "model_versions")
"""What ``gen_calls.py`` writes. The rollups are not copied: the upgrade after the copy builds
them from the calls (migration 0015), so ``--revision`` must come before it."""
CHUNK = 20_000


def count_calls(url: str) -> int | None:
    """Calls in a migrated database at ``url``, or None if it has no ``calls`` table."""
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("calls"):
                return None
            return int(conn.scalar(sa.text("SELECT count(*) FROM calls")) or 0)
    finally:
        engine.dispose()


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def copy_tables(source: Path, url: str) -> int:
    """Copy ``TABLES`` from the SQLite file into ``url`` (same column names); calls copied."""
    copied = 0
    with (
        sqlite3.connect(f"file:{source}?mode=ro", uri=True) as lite,
        psycopg.connect(_dsn(url)) as pg,
    ):
        pg.execute("SET TIME ZONE 'UTC'")  # SQLite's times are UTC without a zone
        for table in TABLES:
            columns = [row[1] for row in lite.execute(f"PRAGMA table_info({table})")]
            names = ", ".join(columns)
            rows = lite.execute(f"SELECT {names} FROM {table}")
            with pg.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                while chunk := rows.fetchmany(CHUNK):
                    for row in chunk:
                        copy.write_row(row)
                    if table == "calls":
                        copied += len(chunk)
        pg.execute("ANALYZE")
    return copied


def fill(source: Path, url: str, revision: str = BEFORE_SEARCH) -> dict[str, float]:
    """An empty database at ``url``: migrated to ``revision``, filled, upgraded to head."""
    engine = create_engine_for(url)
    try:
        command.upgrade(migrate.alembic_config(engine), revision)
        t = time.perf_counter()
        rows = copy_tables(source, url)
        copied_s = time.perf_counter() - t
        t = time.perf_counter()
        migrate.upgrade_to_head(engine)
        upgrade_s = time.perf_counter() - t
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    finally:
        engine.dispose()
    return {"calls": rows, "copy_s": copied_s, "upgrade_s": upgrade_s}


def database_facts(url: str) -> dict[str, object]:
    """``bench_query.database_facts``'s shape for PostgreSQL: the database's size and each
    table's (with its TOAST) and index's bytes."""
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            size = int(conn.scalar(sa.text("SELECT pg_database_size(current_database())")) or 0)
            rows = int(conn.scalar(sa.text("SELECT count(*) FROM calls")) or 0)
            sizes = conn.execute(
                sa.text(
                    "SELECT c.relname, CASE WHEN c.relkind = 'r' THEN pg_table_size(c.oid)"
                    " ELSE pg_relation_size(c.oid) END FROM pg_class AS c"
                    " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') ORDER BY 2 DESC"
                )
            ).all()
    finally:
        engine.dispose()
    return {
        "path": make_url(url).render_as_string(hide_password=True),
        "file_bytes": size,
        "wal_bytes": 0,
        "rows": rows,
        "page_size": 8192,
        "analyzed": True,
        "objects": {str(name): int(nbytes) for name, nbytes in sizes},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", type=Path, required=True, help="a gen_calls.py file")
    parser.add_argument("--db", help="an empty PostgreSQL database")
    parser.add_argument("--throwaway", action="store_true", help="start a cluster for it")
    parser.add_argument("--revision", default=BEFORE_SEARCH, help="migrate to this, then copy")
    args = parser.parse_args(argv)
    if args.throwaway:
        sys.path.insert(0, str(ROOT))
        from tests.postgres import find_bin_dir, start_server

        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise SystemExit("no PostgreSQL binaries (apt-get install postgresql)")
        with start_server(bin_dir) as server:
            url = server.url(server.create_database())
            print(fill(args.sqlite, url, args.revision), flush=True)
            input(f"{url}\nrunning; Enter stops it: ")
        return 0
    if not args.db:
        raise SystemExit("--db or --throwaway")
    print(fill(args.sqlite, args.db, args.revision))
    return 0


if __name__ == "__main__":
    sys.exit(main())
