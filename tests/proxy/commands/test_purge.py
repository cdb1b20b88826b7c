"""``wiretrace purge``: run as a user would, against a seeded database on SQLite and
PostgreSQL; its report against an independent count, ``--dry-run`` changing nothing."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy.engine import Engine
from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.commands.purge import parse_before

from tests.proxy.process import wiretrace_cmd
from tests.proxy.storage.test_purge import (
    CUTOFF,
    assert_rollups_exact,
    expected_doomed,
    feedback_calls,
    rollup_tables,
    seeded_with_feedback,
    stored_ids,
    varied_costs,
)

pytestmark = pytest.mark.both_databases


def purge_cli(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        wiretrace_cmd("purge", "--db", db, *args),
        capture_output=True,
        text=True,
        timeout=120,
    )


def report(out: str) -> dict[str, int]:
    """``  table: n`` lines of the report."""
    lines = (line.strip().partition(": ") for line in out.splitlines() if line.startswith("  "))
    return {table: int(n) for table, _, n in lines}


@pytest.fixture
def records() -> list[CallRecord]:
    return varied_costs()


@pytest.fixture
def seeded(engine: Engine, records: list[CallRecord]) -> Engine:
    return seeded_with_feedback(engine, records)


def test_dry_run_counts_and_changes_nothing(
    seeded: Engine, db_url: str, records: list[CallRecord]
) -> None:
    doomed = expected_doomed(records)
    feedback = feedback_calls(seeded)
    before = (stored_ids(seeded), feedback, rollup_tables(seeded))

    done = purge_cli(db_url, "--before", CUTOFF.isoformat(), "--dry-run")

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("dry run, nothing deleted")
    assert report(done.stdout) == {
        "calls": len(doomed),
        "feedback": sum(n for call, n in feedback.items() if call in doomed),
    }
    assert (stored_ids(seeded), feedback_calls(seeded), rollup_tables(seeded)) == before


def test_purge_deletes_and_reports_per_table(
    seeded: Engine, db_url: str, records: list[CallRecord]
) -> None:
    doomed = expected_doomed(records)
    feedback = feedback_calls(seeded)

    done = purge_cli(db_url, "--before", CUTOFF.isoformat())

    assert done.returncode == 0, done.stderr
    counts = report(done.stdout)
    assert counts["calls"] == len(doomed)
    assert counts["feedback"] == sum(n for call, n in feedback.items() if call in doomed)
    assert stored_ids(seeded) == {r.id for r in records} - doomed
    assert counts["call_rollups"] > 0
    assert_rollups_exact(seeded)


def test_purge_of_one_project(seeded: Engine, db_url: str, records: list[CallRecord]) -> None:
    doomed = expected_doomed(records, project="other")

    done = purge_cli(db_url, "--before", CUTOFF.isoformat(), "--project", "other")

    assert done.returncode == 0, done.stderr
    assert report(done.stdout)["calls"] == len(doomed)
    assert stored_ids(seeded) == {r.id for r in records} - doomed


def test_a_date_means_utc_midnight_and_a_bad_one_is_one_line(db_url: str) -> None:
    assert parse_before("2026-01-08") == CUTOFF.replace(hour=0, minute=0)
    assert parse_before("2026-01-08T11:30") == CUTOFF
    done = purge_cli(db_url, "--before", "last tuesday")
    assert done.returncode == 2
    assert "not an ISO 8601 date or time: 'last tuesday'" in done.stderr
