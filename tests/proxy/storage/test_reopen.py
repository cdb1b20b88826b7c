"""storage.engine: a start-up check that proves the database takes writes, and a SQLite file
deleted or replaced under a live engine noticed and opened anew (``reopen_if_replaced``).

The checks are about files on disk, so each test looks at the file with ``sqlite3`` itself,
not through the engine under test.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from wiretrace_proxy.errors import StorageUnavailable
from wiretrace_proxy.settings import MEMORY_URL
from wiretrace_proxy.storage import migrate
from wiretrace_proxy.storage.engine import check_database, create_engine_for, reopen_if_replaced

INSERT = sa.text(
    "INSERT INTO calls (id, project, kind, trace_id, op_name, started_at, status)"
    " VALUES (:id, 'p', 'llm', 't', 'op', '2024-01-01 00:00:00.000000', 'ok')"
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "wiretrace.db"


@pytest.fixture
def live(path: Path) -> Iterator[Engine]:
    """A migrated engine that has written a row and keeps pooled connections to the file
    (one busy in another checkout while the first is used), as a running server's does."""
    engine = create_engine_for(f"sqlite:///{path}")
    check_database(engine)
    migrate.upgrade_to_head(engine)
    with engine.connect() as reader, engine.begin() as conn:
        reader.execute(sa.text("SELECT 1"))
        conn.execute(INSERT, {"id": "before"})
    yield engine
    engine.dispose()


def ids_on_disk(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM calls ORDER BY id")]


def write(engine: Engine, call_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(INSERT, {"id": call_id})


def test_unchanged_file_is_not_reopened(live: Engine, path: Path) -> None:
    assert reopen_if_replaced(live) is False
    write(live, "after")
    assert ids_on_disk(path) == ["after", "before"]


def test_memory_and_unconnected_engines_are_left_alone(tmp_path: Path) -> None:
    memory = create_engine_for(MEMORY_URL)
    check_database(memory)
    assert reopen_if_replaced(memory) is False
    never = create_engine_for(f"sqlite:///{tmp_path / 'never.db'}")
    assert reopen_if_replaced(never) is False  # nothing recorded, nothing to compare
    memory.dispose()


def test_deleted_file_is_recreated_migrated_and_written(
    live: Engine, path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path.unlink()  # the -wal and -shm of the old file stay behind, as after a plain rm
    with caplog.at_level(logging.WARNING, "wiretrace_proxy.storage.engine"):
        assert reopen_if_replaced(live) is True
    assert [r.getMessage() for r in caplog.records if "was deleted" in r.getMessage()]
    write(live, "after")
    assert ids_on_disk(path) == ["after"]  # in the new file on disk, which is at head
    assert migrate.current_revision(live) == migrate.head_revision()
    assert reopen_if_replaced(live) is False  # the new file's identity is recorded


def test_removed_folder_is_recreated(live: Engine, path: Path) -> None:
    shutil.rmtree(path.parent)
    assert reopen_if_replaced(live) is True
    write(live, "after")
    assert path.is_file() and ids_on_disk(path) == ["after"]


def test_replacement_file_is_opened_not_the_old_wal(live: Engine, path: Path) -> None:
    """A backup moved into place: the engine reads and writes the replacement, and the old
    file's WAL (left at the path by its connections) is not read as the new file's."""
    write(live, "unchecked")  # frames in the old file's WAL, not yet checkpointed
    other = path.with_name("backup.db")
    backup = create_engine_for(f"sqlite:///{other}")
    migrate.upgrade_to_head(backup)
    write(backup, "from-backup")
    with backup.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    backup.dispose()
    for suffix in ("-wal", "-shm"):
        Path(f"{other}{suffix}").unlink(missing_ok=True)
    os.replace(other, path)

    assert reopen_if_replaced(live) is True
    write(live, "after")
    with live.connect() as conn:
        seen = conn.execute(sa.text("SELECT id FROM calls ORDER BY id")).scalars().all()
    assert seen == ["after", "from-backup"]
    live.dispose()
    assert ids_on_disk(path) == ["after", "from-backup"]


def test_a_new_connection_before_the_reopen_does_not_read_the_old_wal(
    live: Engine, path: Path
) -> None:
    """An API read may open a connection after the replacement, before the writer's next
    batch reopens: it sees the replacement, not the old file's WAL applied to it."""
    write(live, "unchecked")
    other = path.with_name("other.db")
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE marker (x TEXT)")
    os.replace(other, path)
    live.dispose()  # old connections closed; SQLite keeps their WAL (the file has moved)
    with live.connect() as conn:
        tables = conn.execute(sa.text("SELECT name FROM sqlite_master")).scalars().all()
    assert tables == ["marker"]


def test_a_folder_that_cannot_be_made_is_storage_down_until_it_can(
    live: Engine, path: Path
) -> None:
    shutil.rmtree(path.parent)
    path.parent.write_text("a file where the folder was")
    with pytest.raises(StorageUnavailable, match=r"^cannot reopen database sqlite:///"):
        reopen_if_replaced(live)
    with pytest.raises(StorageUnavailable):  # still replaced: tried again, refused again
        reopen_if_replaced(live)
    path.parent.unlink()
    assert reopen_if_replaced(live) is True
    write(live, "after")
    assert ids_on_disk(path) == ["after"]


def test_a_replacement_that_is_not_a_database_is_storage_down(live: Engine, path: Path) -> None:
    junk = path.with_name("junk")
    junk.write_bytes(b"not SQLite " * 500)
    os.replace(junk, path)
    with pytest.raises(StorageUnavailable, match=r": file is not a database$"):
        reopen_if_replaced(live)


# check_database: a committed write, not just SELECT 1


def test_the_write_probe_changes_nothing(path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{path}")
    migrate.upgrade_to_head(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA user_version = 7")
    before = ids_on_disk(path)
    check_database(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA user_version").scalar_one() == 7
    assert ids_on_disk(path) == before
    assert migrate.schema_diff(engine) == []
    engine.dispose()


def test_a_database_opened_read_only_refuses_to_start(path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{path}")
    migrate.upgrade_to_head(engine)
    engine.dispose()
    read_only = create_engine_for(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(StorageUnavailable) as info:
        check_database(read_only)  # it opens and reads: SELECT 1 alone would pass
    message = str(info.value)
    assert message.startswith("cannot write to database sqlite:///file")
    assert message.endswith("wiretrace.db?mode=ro&uri=true: attempt to write a readonly database")
    read_only.dispose()


def test_an_immutable_file_refuses_to_start(path: Path) -> None:
    """``chattr +i``: the file opens and reads; only a write shows it (root can write a
    file whatever its mode, so this is the read-only file root meets)."""
    engine = create_engine_for(f"sqlite:///{path}")
    migrate.upgrade_to_head(engine)
    engine.dispose()
    if not immutable(path):
        pytest.skip("chattr +i is not available here (needs root and ext4-like filesystem)")
    try:
        engine = create_engine_for(f"sqlite:///{path}")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM calls")).scalar_one() == 0
        with pytest.raises(StorageUnavailable, match="attempt to write a readonly database$"):
            check_database(engine)
        engine.dispose()
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_locked_database_is_one_clear_line(path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{path}", busy_timeout_ms=50)
    check_database(engine)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StorageUnavailable, match=r"^cannot write to .*: database is locked$"):
            check_database(engine)
    finally:
        holder.close()
        engine.dispose()


def immutable(path: Path) -> bool:
    """``chattr +i`` on ``path``; False where it cannot be set (not root, tmpfs, ...)."""
    if shutil.which("chattr") is None or os.geteuid() != 0:
        return False
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
    return done.returncode == 0
