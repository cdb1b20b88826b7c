"""key_salt.load_key_salt: one fingerprint salt per database. Beside a SQLite file it is one
salt even for servers on that file started at the same moment; in a PostgreSQL database every
replica reads the one stored first, whatever host it runs on."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from wiretrace_proxy.key_salt import _create_salt, load_key_salt
from wiretrace_proxy.settings import Settings
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.migrate import upgrade_to_head

STARTERS = 6

SCRIPT = """
import sys, time
from pathlib import Path
from wiretrace_proxy.key_salt import load_key_salt
from wiretrace_proxy.settings import Settings
from wiretrace_proxy.storage.engine import create_engine_for
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
print(load_key_salt(Settings(db_url=sys.argv[1]), create_engine_for(sys.argv[1])))
"""


def test_processes_started_together_share_one_kept_salt(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'wiretrace.db'}"
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, db, str(go)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(STARTERS)
    ]
    time.sleep(2)  # let them all import and wait at the start line
    go.touch()
    salts = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    kept = tmp_path / "wiretrace.db.salt"
    assert salts == {kept.read_text().strip()}
    assert len(salts.pop()) == 32
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["go", "wiretrace.db.salt"]
    assert load_key_salt(Settings(db_url=db), create_engine_for(db)) == kept.read_text().strip()


def test_a_server_that_lost_the_race_uses_the_salt_written_first(tmp_path: Path) -> None:
    kept = tmp_path / "wiretrace.db.salt"
    kept.write_text("a" * 32)  # another server wrote it after this one found none
    assert _create_salt(kept) == "a" * 32
    assert kept.read_text() == "a" * 32
    assert [p.name for p in tmp_path.iterdir()] == ["wiretrace.db.salt"]


def test_replicas_on_other_hosts_share_the_salt_of_their_database(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two replicas with no --key-salt and user directories of their own (two hosts): one
    salt, the first one stored; a salt an earlier version kept in the first replica's user
    directory is the one every replica gets, so its fingerprints stay as they were."""
    first_home, second_home = tmp_path / "a", tmp_path / "b"
    (first_home / "wiretrace").mkdir(parents=True)
    (first_home / "wiretrace" / "key.salt").write_text("b" * 32 + "\n")
    settings = Settings(db_url=postgres_url)
    replicas = [create_engine_for(postgres_url) for _ in range(2)]
    try:
        upgrade_to_head(replicas[0])
        monkeypatch.setenv("XDG_DATA_HOME", str(first_home))
        first = load_key_salt(settings, replicas[0])
        monkeypatch.setenv("XDG_DATA_HOME", str(second_home))
        second = load_key_salt(settings, replicas[1])
    finally:
        for replica in replicas:
            replica.dispose()
    assert first == second == "b" * 32
    assert not second_home.exists()  # nothing written on the second host
