"""recorder.load_key_salt: the fingerprint salt kept beside a SQLite file is one salt, even
for servers on that file started at the same moment."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path

from wiretrace_proxy.record.recorder import _create_salt, load_key_salt
from wiretrace_proxy.settings import Settings

STARTERS = 6

SCRIPT = """
import sys, time
from pathlib import Path
from wiretrace_proxy.record.recorder import _create_salt, load_key_salt
from wiretrace_proxy.settings import Settings
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
print(load_key_salt(Settings(db_url=sys.argv[1])))
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
    assert load_key_salt(Settings(db_url=db)) == kept.read_text().strip()


def test_a_server_that_lost_the_race_uses_the_salt_written_first(tmp_path: Path) -> None:
    kept = tmp_path / "wiretrace.db.salt"
    kept.write_text("a" * 32)  # another server wrote it after this one found none
    assert _create_salt(kept) == "a" * 32
    assert kept.read_text() == "a" * 32
    assert [p.name for p in tmp_path.iterdir()] == ["wiretrace.db.salt"]
