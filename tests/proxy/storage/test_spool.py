"""storage.spool: records the database refuses wait on disk and come back in order, once.

Covers the codec's exact round trip, order across segments, ack + restart, every kind of
damage (torn tail, flipped bytes, a damaged segment head or ack file), the byte bound, write
errors (ENOSPC mid-entry, a read-only directory), and a property test of
append/take/ack/reopen sequences against a list.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import math
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from wiretrace_proxy.callrecord import CallRecord, Usage
from wiretrace_proxy.storage.spool import ENTRY_MAGIC, SEGMENT_MAGIC, Spool, SpoolBatch
from wiretrace_proxy.storage.spoolcodec import RecordCodec, SpoolCodecError, schema_payload

from tests.factories import T0, make_record

HEAD = struct.Struct("<4sII")
SEGMENT_HEAD = len(SEGMENT_MAGIC) + HEAD.size + len(schema_payload())


def record(n: int, size: int = 100, **changes: Any) -> CallRecord:
    """Call ``n`` with an input of about ``size`` bytes."""
    return make_record(n, inputs={"text": "x" * size, "n": n}, **changes)


def open_spool(path: Path, max_bytes: int = 1 << 20, segment_bytes: int = 1 << 16) -> Spool:
    return Spool.open(path, max_bytes, segment_bytes=segment_bytes)


def drain(spool: Spool, batch: int = 7) -> list[CallRecord]:
    """Take and ack everything pending, ``batch`` records at a time."""
    out: list[CallRecord] = []
    while True:
        taken = spool.take(batch)
        if not taken.records:
            return out
        out.extend(taken.records)
        spool.ack(taken)


def ids(records: Iterator[CallRecord] | list[CallRecord] | tuple[CallRecord, ...]) -> list[int]:
    return [int(rec.id, 16) for rec in records]


def segments(path: Path) -> list[Path]:
    return sorted(path.glob("*.seg"))


def entries(segment: Path) -> list[tuple[int, int]]:
    """``(offset, length with head)`` of each entry in a segment, the schema first."""
    data = segment.read_bytes()
    assert data.startswith(SEGMENT_MAGIC)
    out: list[tuple[int, int]] = []
    pos = len(SEGMENT_MAGIC)
    while pos + HEAD.size <= len(data):
        magic, length, _ = HEAD.unpack_from(data, pos)
        assert magic == ENTRY_MAGIC
        out.append((pos, HEAD.size + length))
        pos += HEAD.size + length
    return out


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


# -- the codec --------------------------------------------------------------------------


def every_field_record() -> CallRecord:
    """A record with every field away from its default, and JSON of every kind."""
    return CallRecord(
        id="00000000000000ab",
        project="projet ✓",
        trace_id="0" * 31 + "c",
        op_name="openai.chat.completions.create",
        started_at=datetime(2024, 6, 1, 12, 0, 0, 123456, tzinfo=UTC),
        status="error",
        parent_id="00000000000000ff",
        display_name="résumé 日本語 🚀",
        ended_at=datetime(2024, 6, 1, 17, 30, 0, 1, tzinfo=timezone(timedelta(hours=5.5))),
        latency_ms=0.1 + 0.2,
        ttft_ms=-0.0,
        overhead_ms=1e-300,
        http_status=503,
        model="gpt-4o-mini",
        response_model="gpt-4o-mini-2024-07-18",
        inputs={
            "messages": [{"role": "user", "content": "naïve — 你好 🙂 \u2028 \x00"}],
            "n": [1, 2.5, None, True, False, "", 10**40, -(2**70), 1.7976931348623157e308],
            "lone": "\ud800 and \udfff",
            "\udcff key": {"deep": [[[[{"x": [[]]}]]]]},
        },
        output=["a", 1, 2.0, {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}],
        usage=Usage(prompt_tokens=5, completion_tokens=None, total_tokens=12, cached_tokens=0),
        usage_source="estimated",
        cost_usd=0.00012,
        error={"message": "boom ✗", "type": "server_error", "code": None},
        session_id="s-1",
        user_id="u-1",
        key_fingerprint="ab12…wxyz",
        attributes={"properties": {"Ünïcode": "välue"}, "nonfinite": ["output"]},
        kind="op",
        op_version="v" * 16,
        model_version="m" * 16,
        prompt_digest="p" * 16,
    )


def test_the_round_trip_record_sets_every_field() -> None:
    """So a field added to CallRecord is round-tripped here too, or this test says so."""
    rec = every_field_record()
    for f in dataclasses.fields(CallRecord):
        if f.default is not dataclasses.MISSING:
            assert getattr(rec, f.name) != f.default, f.name
        elif f.default_factory is not dataclasses.MISSING:
            assert getattr(rec, f.name) != f.default_factory(), f.name


@pytest.mark.parametrize(
    "rec",
    [
        every_field_record(),
        make_record(1),
        CallRecord(
            id="1" * 16, project="", trace_id="2" * 32, op_name="", started_at=T0, status="ok"
        ),
        make_record(2, usage=Usage(), attributes={}, inputs=None, output="plain text"),
        make_record(3, started_at=datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=-7)))),
    ],
    ids=["every-field", "typical", "minimal", "empty-usage", "offset"],
)
def test_codec_round_trips_exactly(rec: CallRecord) -> None:
    codec = RecordCodec.current()
    payload = codec.encode(rec)
    assert payload.isascii()  # the framing's resync relies on it
    back = codec.decode(payload)
    # repr is strict where == is not (NaN, -0.0 vs 0.0, 1 vs 1.0 vs True, tzinfo).
    assert repr(back) == repr(rec)
    assert back.started_at.utcoffset() == rec.started_at.utcoffset()


def test_codec_refuses_values_json_cannot_hold() -> None:
    codec = RecordCodec.current()
    circular: list[Any] = []
    circular.append(circular)
    bad: list[Any] = [object(), {1, 2}, b"bytes", circular]
    for value in bad:
        with pytest.raises(SpoolCodecError, match="0000000000000001"):
            codec.encode(make_record(1, output=value))
    with pytest.raises(SpoolCodecError):
        codec.encode(make_record(1, started_at="2024-06-01"))  # not a datetime


def test_codec_reads_a_segment_of_another_field_order() -> None:
    """A segment written by another version: fields matched by name; an unknown one
    dropped, a missing optional one defaulted, a missing required one refused."""
    rec = make_record(1)
    names = [f.name for f in dataclasses.fields(CallRecord)]
    other = [*reversed([n for n in names if n != "prompt_digest"]), "from_the_future"]
    schema = f'{{"format":1,"fields":{json.dumps(other)},"usage":["total_tokens","prompt_tokens"]}}'
    codec = RecordCodec.from_schema(schema.encode())
    values: dict[str, Any] = {n: getattr(rec, n) for n in names}
    values["started_at"] = rec.started_at.isoformat()
    values["ended_at"] = rec.ended_at.isoformat() if rec.ended_at else None
    values["usage"] = [12, 5]
    values["from_the_future"] = {"x": 1}
    back = codec.decode(json.dumps([values[n] for n in other]).encode())
    assert back == dataclasses.replace(
        rec, prompt_digest=None, usage=Usage(prompt_tokens=5, total_tokens=12)
    )
    with pytest.raises(SpoolCodecError):
        RecordCodec.from_schema(b'{"format":1,"fields":["id"],"usage":[]}')
    with pytest.raises(SpoolCodecError):
        RecordCodec.from_schema(b'{"format":2,"fields":[],"usage":[]}')
    with pytest.raises(SpoolCodecError):
        RecordCodec.current().decode(b'["too", "short"]')


# -- append, take, ack ------------------------------------------------------------------


def test_records_come_back_exactly_and_in_order_across_segments(tmp_path: Path) -> None:
    records = [every_field_record(), *(record(n, size=50 + 37 * n) for n in range(1, 120))]
    with open_spool(tmp_path, segment_bytes=4096) as spool:
        assert spool.append(records[:1]) == 1
        for start in range(1, 120, 10):
            assert spool.append(records[start : start + 10]) == len(records[start : start + 10])
        assert spool.pending == len(records) == spool.spooled
        assert len(segments(tmp_path)) > 5
        back = drain(spool, batch=13)
        assert [repr(r) for r in back] == [repr(r) for r in records]
        assert spool.pending == 0
        assert spool.replayed == len(records)
        assert (spool.lost, spool.damaged) == (0, 0)
        assert len(segments(tmp_path)) == 1  # the active one stays, acked to its end


def test_take_does_not_consume_until_ack(tmp_path: Path) -> None:
    with open_spool(tmp_path) as spool:
        spool.append([record(n) for n in range(10)])
        first = spool.take(4)
        again = spool.take(6)
        assert ids(first.records) == [0, 1, 2, 3]
        assert ids(again.records) == [0, 1, 2, 3, 4, 5]
        spool.ack(first)
        with pytest.raises(ValueError, match="current batch"):
            spool.ack(again)  # superseded: it starts where the ack was
        assert ids(spool.take(100).records) == [4, 5, 6, 7, 8, 9]
        with pytest.raises(ValueError):
            spool.take(0)
        with open_spool(tmp_path / "other") as other:
            other.append([record(1)])
            with pytest.raises(ValueError, match="this spool"):
                spool.ack(other.take(1))


def test_an_empty_batch_acks_as_a_no_op(tmp_path: Path) -> None:
    with open_spool(tmp_path) as spool:
        batch = spool.take(10)
        assert len(batch) == 0
        spool.ack(batch)
        spool.append([record(1)])
        spool.ack(batch)  # still nothing to acknowledge
        assert spool.pending == 1


def test_a_record_larger_than_a_segment_gets_one_of_its_own(tmp_path: Path) -> None:
    with open_spool(tmp_path, segment_bytes=1000) as spool:
        spool.append([record(1), record(2, size=5000), record(3)])
        assert len(segments(tmp_path)) == 3
        assert ids(drain(spool)) == [1, 2, 3]


def test_appending_a_record_json_cannot_hold_loses_only_it(tmp_path: Path) -> None:
    with open_spool(tmp_path) as spool:
        kept = spool.append([record(1), record(2, output={1, 2}), record(3)])
        assert kept == 2
        assert spool.lost == 1
        assert spool.last_error is not None
        assert "0000000000000002" in spool.last_error
        assert "\n" not in spool.last_error
        assert ids(drain(spool)) == [1, 3]


# -- restart ----------------------------------------------------------------------------


def test_restart_resumes_after_the_ack_and_never_replays_acked(tmp_path: Path) -> None:
    with open_spool(tmp_path, segment_bytes=2048) as spool:
        spool.append([record(n) for n in range(40)])
        spool.ack(spool.take(15))  # ends inside a segment: the ack file holds the offset
        assert spool.sync()
    with open_spool(tmp_path, segment_bytes=2048) as spool:
        assert spool.pending == 25
        spool.append([record(n) for n in range(40, 45)])  # into a new segment
        batch = spool.take(10)
        assert ids(batch.records) == list(range(15, 25))
        spool.ack(batch)
    with open_spool(tmp_path, segment_bytes=2048) as spool:
        assert ids(drain(spool)) == list(range(25, 45))
    with open_spool(tmp_path, segment_bytes=2048) as spool:
        assert spool.pending == 0
        assert drain(spool) == []
        assert segments(tmp_path) == []


def test_a_batch_taken_and_not_acked_is_replayed_after_restart(tmp_path: Path) -> None:
    with open_spool(tmp_path) as spool:
        spool.append([record(n) for n in range(5)])
        batch = spool.take(3)
    with open_spool(tmp_path) as spool:
        assert ids(spool.take(10).records) == [0, 1, 2, 3, 4]
        with pytest.raises(ValueError):
            spool.ack(batch)  # a batch of the spool before the restart


def test_a_crash_between_ack_and_deletion_replays_nothing(tmp_path: Path) -> None:
    """The ack file is written before the segments it covers are deleted; a segment that a
    crash left behind (put back here) is recognised as acknowledged on open."""
    with open_spool(tmp_path, segment_bytes=1500) as spool:
        spool.append([record(n) for n in range(12)])
        saved = {p.name: p.read_bytes() for p in segments(tmp_path)}
        spool.ack(spool.take(7))
        gone = sorted(set(saved) - {p.name for p in segments(tmp_path)})
        assert gone
    for name in gone:
        (tmp_path / name).write_bytes(saved[name])
    with open_spool(tmp_path, segment_bytes=1500) as spool:
        assert ids(drain(spool)) == list(range(7, 12))
    assert not any((tmp_path / name).exists() for name in gone)


def test_new_segments_are_numbered_past_the_ack(tmp_path: Path) -> None:
    """With every segment acked and deleted, a new one must not get a number the ack file
    already covers (or the next open would take it for acknowledged and delete it)."""
    with open_spool(tmp_path, segment_bytes=1500) as spool:
        spool.append([record(n) for n in range(12)])
    with open_spool(tmp_path, segment_bytes=1500) as spool:
        drain(spool)
        assert segments(tmp_path) == []
    with open_spool(tmp_path, segment_bytes=1500) as spool:
        spool.append([record(99)])
    with open_spool(tmp_path, segment_bytes=1500) as spool:
        assert ids(drain(spool)) == [99]


def test_a_second_open_of_the_same_directory_is_refused(tmp_path: Path) -> None:
    with open_spool(tmp_path):
        with pytest.raises(OSError, match="in use"):
            open_spool(tmp_path)
    with open_spool(tmp_path) as spool:
        assert spool.pending == 0


def test_a_closed_spool_refuses_calls(tmp_path: Path) -> None:
    spool = open_spool(tmp_path)
    spool.close()
    spool.close()
    for call in (lambda: spool.append([record(1)]), lambda: spool.take(1), spool.sync):
        with pytest.raises(ValueError, match="closed"):
            call()


def test_open_makes_the_directory_and_leaves_no_file_until_an_append(tmp_path: Path) -> None:
    where = tmp_path / "data" / "spool"
    with open_spool(where) as spool:
        assert list(where.iterdir()) == []
        assert spool.sync()
    with pytest.raises(ValueError):
        Spool.open(where, 0)


# -- damage -----------------------------------------------------------------------------


def test_a_torn_tail_is_skipped_and_counted(tmp_path: Path) -> None:
    with open_spool(tmp_path) as spool:
        spool.append([record(n) for n in range(5)])
    (segment,) = segments(tmp_path)
    offset, length = entries(segment)[-1]
    os.truncate(segment, offset + length // 2)  # killed in the middle of the last write
    with open_spool(tmp_path) as spool:
        assert spool.damaged == 1
        assert spool.last_error is not None and "skipped" in spool.last_error
        assert spool.pending == 4
        spool.append([record(5)])  # goes to a new segment, after the torn one
        assert ids(drain(spool)) == [0, 1, 2, 3, 5]
        assert spool.damaged == 1  # counted once, not again when read


@pytest.mark.parametrize(
    "part", [0, 2, 5, 9, 40], ids=["magic", "magic2", "length", "crc", "payload"]
)
def test_a_flipped_byte_costs_only_its_entry(tmp_path: Path, part: int) -> None:
    with open_spool(tmp_path) as spool:
        spool.append([record(n) for n in range(8)])
    (segment,) = segments(tmp_path)
    offset, _ = entries(segment)[1 + 3]  # record 3's entry
    flip(segment, offset + part)
    with open_spool(tmp_path) as spool:
        assert spool.damaged == 1
        assert spool.pending == 7
        assert ids(drain(spool, batch=2)) == [0, 1, 2, 4, 5, 6, 7]
        assert spool.damaged == 1
    assert segments(tmp_path) == []  # acked past the damage, the segment went


def test_a_length_that_points_past_the_end_is_damage_not_a_crash(tmp_path: Path) -> None:
    with open_spool(tmp_path) as spool:
        spool.append([record(n) for n in range(3)])
    (segment,) = segments(tmp_path)
    offset, _ = entries(segment)[2]
    data = bytearray(segment.read_bytes())
    data[offset + 4 : offset + 8] = (0xFFFF_FFF0).to_bytes(4, "little")
    segment.write_bytes(bytes(data))
    with open_spool(tmp_path) as spool:
        assert (spool.pending, spool.damaged) == (2, 1)
        assert ids(drain(spool)) == [0, 2]


def test_damage_in_a_segment_written_since_open_is_found_when_read(tmp_path: Path) -> None:
    """The file changed under the spool: the damage is skipped and counted once, and
    ``pending`` is corrected when the segment has been read to its end."""
    with open_spool(tmp_path) as spool:
        spool.append([record(n) for n in range(6)])
        (segment,) = segments(tmp_path)
        flip(segment, entries(segment)[2][0] + 30)
        assert ids(spool.take(3).records) == [0, 2, 3]
        assert spool.damaged == 1
        assert ids(drain(spool)) == [0, 2, 3, 4, 5]
        assert (spool.pending, spool.damaged) == (0, 1)


def test_a_segment_with_a_damaged_head_is_skipped_and_the_next_read(tmp_path: Path) -> None:
    with open_spool(tmp_path, segment_bytes=1500) as spool:
        spool.append([record(n) for n in range(10)])
    first, second, *_ = segments(tmp_path)
    skipped = len(entries(first)) - 1 + len(entries(second)) - 1
    flip(first, 3)  # the segment magic
    flip(second, entries(second)[0][0] + 20)  # the schema entry
    with open_spool(tmp_path, segment_bytes=1500) as spool:
        assert spool.damaged == 2
        assert spool.pending == 10 - skipped
        assert ids(drain(spool)) == list(range(skipped, 10))
    assert segments(tmp_path) == []


def test_a_segment_of_only_damage_goes_on_open(tmp_path: Path) -> None:
    with open_spool(tmp_path) as spool:
        spool.append([record(1)])
    (segment,) = segments(tmp_path)
    flip(segment, entries(segment)[1][0] + 30)
    with open_spool(tmp_path) as spool:
        assert (spool.pending, spool.damaged) == (0, 1)
        assert segments(tmp_path) == []
        assert spool.size == 0


def test_damage_ahead_of_nothing_is_moved_past_by_take(tmp_path: Path) -> None:
    with open_spool(tmp_path) as spool:
        spool.append([record(1), record(2)])
        spool.ack(spool.take(1))
        (segment,) = segments(tmp_path)
        flip(segment, entries(segment)[2][0] + 30)
        batch = spool.take(5)
        assert (len(batch), spool.damaged, spool.pending) == (0, 1, 0)
        spool.ack(batch)
        spool.append([record(3)])
        assert ids(drain(spool)) == [3]


@pytest.mark.parametrize(
    "garble", [b"", b"\x00" * 28, b"nonsense"], ids=["empty", "zeros", "short"]
)
def test_a_damaged_ack_file_replays_from_the_oldest(tmp_path: Path, garble: bytes) -> None:
    """The safe direction: a replay stores nothing twice (the id is the primary key)."""
    with open_spool(tmp_path) as spool:
        spool.append([record(n) for n in range(6)])
        spool.ack(spool.take(2))
    (tmp_path / "ack").write_bytes(garble)
    with open_spool(tmp_path) as spool:
        assert spool.damaged == 1
        assert ids(drain(spool)) == [0, 1, 2, 3, 4, 5]


# -- the bound and write errors ---------------------------------------------------------


def test_a_full_spool_keeps_the_oldest_and_counts_the_rest_lost(tmp_path: Path) -> None:
    with open_spool(tmp_path, max_bytes=6000, segment_bytes=2000) as spool:
        kept = spool.append([record(n) for n in range(30)])
        assert 5 < kept < 30
        assert spool.lost == 30 - kept
        assert spool.size <= 6000
        assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 6000 + 28  # + the ack
        assert spool.last_error is not None and "full" in spool.last_error
        assert spool.append([record(99, size=10_000)]) == 0  # can never fit
        first = spool.take(5)
        assert ids(first.records) == [0, 1, 2, 3, 4]
        drained = ids(drain(spool))
        assert drained == list(range(kept))
        assert spool.append([record(n) for n in range(100, 103)]) == 3  # room again
        assert ids(drain(spool)) == [100, 101, 102]


def test_a_segment_larger_than_the_bound_is_reclaimed_once_acked(tmp_path: Path) -> None:
    """The active segment never reaches ``segment_bytes``: once everything in it is stored
    it is deleted to make room, or the spool would stay full for good."""
    with open_spool(tmp_path, max_bytes=5000, segment_bytes=100_000) as spool:
        kept = spool.append([record(n) for n in range(20)])
        assert 0 < kept < 20
        assert spool.append([record(20)]) == 0  # full, and nothing acked yet
        assert ids(drain(spool)) == list(range(kept))
        assert spool.append([record(n) for n in range(100, 103)]) == 3
        assert ids(drain(spool)) == [100, 101, 102]
        assert len(segments(tmp_path)) == 1


def test_a_smaller_record_still_fits_after_a_larger_one_did_not(tmp_path: Path) -> None:
    with open_spool(tmp_path, max_bytes=3000, segment_bytes=3000) as spool:
        assert spool.append([record(1, size=5000), record(2, size=100)]) == 1
        assert ids(drain(spool)) == [2]


def test_enospc_loses_the_records_and_raises_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_spool(tmp_path) as spool:
        spool.append([record(1)])
        size = spool.size

        def full(fd: int, data: Any) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "write", full)
        assert spool.append([record(2), record(3)]) == 0
        assert spool.lost == 2
        assert spool.last_error is not None
        assert "No space left on device" in spool.last_error
        assert "\n" not in spool.last_error
        assert spool.size == size
        monkeypatch.undo()
        assert spool.append([record(4)]) == 1
        assert ids(drain(spool)) == [1, 4]
        assert spool.damaged == 0


def test_a_write_cut_short_is_truncated_to_the_last_whole_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = os.write
    with open_spool(tmp_path, segment_bytes=1 << 20) as spool:
        spool.append([record(0)])
        calls = 0

        def short_then_full(fd: int, data: Any) -> int:
            nonlocal calls
            calls += 1
            if calls == 1:
                return write(fd, bytes(data)[: len(data) * 5 // 8])  # 2.5 of 4 entries
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "write", short_then_full)
        assert spool.append([record(n) for n in range(1, 5)]) == 2
        monkeypatch.undo()
        assert spool.lost == 2
        (segment,) = segments(tmp_path)
        assert segment.stat().st_size == spool.size  # the torn half-entry is gone
        assert spool.append([record(5)]) == 1
    with open_spool(tmp_path) as spool:
        assert spool.damaged == 0
        assert ids(drain(spool)) == [0, 1, 2, 5]


def test_a_torn_entry_that_cannot_be_truncated_is_skipped_not_counted_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = os.write
    with open_spool(tmp_path, segment_bytes=1 << 20) as spool:
        spool.append([record(0)])

        def half(fd: int, data: Any) -> int:
            write(fd, bytes(data)[: len(data) // 2])
            raise OSError(errno.EIO, os.strerror(errno.EIO))

        def no_truncate(fd: int, length: int) -> None:
            raise OSError(errno.EIO, os.strerror(errno.EIO))

        monkeypatch.setattr(os, "write", half)
        monkeypatch.setattr(os, "ftruncate", no_truncate)
        assert spool.append([record(1)]) == 0
        monkeypatch.undo()
        assert spool.append([record(2)]) == 1  # into a new segment
        assert len(segments(tmp_path)) == 2
        assert ids(drain(spool)) == [0, 2]
        assert (spool.lost, spool.damaged) == (1, 0)
    with open_spool(tmp_path) as spool:
        assert spool.pending == 0


def test_a_segment_that_cannot_be_created_loses_the_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def read_only(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    with open_spool(tmp_path) as spool:
        monkeypatch.setattr(os, "open", read_only)
        assert spool.append([record(1), record(2)]) == 0
        assert spool.lost == 2
        assert spool.last_error is not None and "Read-only file system" in spool.last_error
        monkeypatch.undo()
        assert spool.append([record(3)]) == 1
        assert ids(drain(spool)) == [3]


def test_a_segment_whose_header_cannot_be_written_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_spool(tmp_path) as spool:

        def full(fd: int, data: Any) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "write", full)
        assert spool.append([record(1)]) == 0
        monkeypatch.undo()
        assert list(tmp_path.iterdir()) == []
        assert spool.size == 0


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Callable[[Path], None]]:
    """Makes a directory unwritable: ``chattr +i`` as root (chmod does not stop root),
    ``chmod 0o500`` otherwise; undone at teardown so ``tmp_path`` can be removed."""
    done: list[Path] = []
    root = os.geteuid() == 0

    def make(path: Path) -> None:
        if root:
            result = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
            if result.returncode != 0:
                pytest.skip(f"chattr +i not available here: {result.stderr.decode().strip()}")
        else:
            path.chmod(0o500)
        done.append(path)

    yield make
    for path in done:
        if root:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        else:
            path.chmod(0o700)


def test_a_read_only_directory_loses_new_records_and_still_drains(
    tmp_path: Path, read_only_dir: Callable[[Path], None]
) -> None:
    if shutil.which("chattr") is None and os.geteuid() == 0:
        pytest.skip("no chattr")
    with open_spool(tmp_path, segment_bytes=1500) as spool:
        spool.append([record(n) for n in range(10)])
        read_only_dir(tmp_path)
        # The active segment still takes appends (its file is writable); a new one cannot
        # be made, so what needs a new segment is lost, and said so.
        kept = spool.append([record(n) for n in range(10, 20)])
        assert kept < 10
        assert spool.lost == 10 - kept
        assert spool.last_error is not None and "cannot create" in spool.last_error
        batch = spool.take(100)
        assert ids(batch.records) == list(range(10 + kept))
        spool.ack(batch)  # cannot persist it, nor delete: reported, not raised
        assert spool.last_error is not None and "spool: cannot" in spool.last_error
        assert spool.pending == 0
        assert spool.take(100).records == ()  # not replayed in this process


def test_a_spool_cannot_open_where_its_directory_cannot_be_made(
    tmp_path: Path, read_only_dir: Callable[[Path], None]
) -> None:
    read_only_dir(tmp_path)
    with pytest.raises(OSError):
        open_spool(tmp_path / "spool")


# -- a process killed mid-way ------------------------------------------------------------

KILLED_CHILD = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.storage.spool import Spool

spool = Spool.open(Path(sys.argv[1]), 1 << 30, segment_bytes=50_000)
appended = acked = 0
while True:
    batch = [
        CallRecord(id=f"{appended + i:016x}", project="p", trace_id="0" * 32, op_name="op",
                   started_at=datetime.now(UTC), status="ok", inputs={"text": "x" * 500})
        for i in range(10)
    ]
    assert spool.append(batch) == 10
    appended += 10
    print("appended", appended, flush=True)
    taken = spool.take(7)
    spool.ack(taken)
    acked += len(taken)
    print("acked", acked, flush=True)
"""


def test_a_process_killed_at_any_point_loses_nothing_appended_and_replays_nothing_acked(
    tmp_path: Path,
) -> None:
    """SIGKILL while appending and acking: every record whose append returned is there, in
    order, from exactly where the last ack that returned (or the one under way) left off."""
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_CHILD, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    seen = {"appended": 0, "acked": 0}
    try:
        for line in child.stdout:
            what, count = line.split()
            seen[what] = int(count)
            if seen["appended"] >= 3000:
                break
    finally:
        child.kill()
        rest = child.communicate(timeout=30)[0]
    for line in rest.splitlines():
        what, count = line.split()
        seen[what] = int(count)
    assert child.returncode == -signal.SIGKILL
    with open_spool(tmp_path) as spool:
        assert spool.damaged <= 1  # at most the entry being written when it died
        back = ids(drain(spool, batch=500))
    assert back[0] in (seen["acked"], seen["acked"] + 7)  # the ack under way, or not
    assert back == list(range(back[0], back[0] + len(back)))
    assert back[-1] + 1 >= seen["appended"]


# -- a big segment ---------------------------------------------------------------------


def test_a_backlog_larger_than_a_read_chunk_is_read_whole_and_in_order(tmp_path: Path) -> None:
    with open_spool(tmp_path, max_bytes=64 << 20, segment_bytes=16 << 20) as spool:
        for start in range(0, 5000, 500):
            spool.append([record(n) for n in range(start, start + 500)])
        assert len(segments(tmp_path)) == 1
        assert ids(drain(spool, batch=50)) == list(range(5000))


# -- the property test ------------------------------------------------------------------


class SpoolMachine(RuleBasedStateMachine):
    """Append / take / ack / reopen in any order agree with a list of what is pending."""

    def __init__(self) -> None:
        super().__init__()
        self.path = Path(tempfile.mkdtemp(prefix="wiretrace-spool-"))
        self.max_bytes = 0
        self.spool: Spool | None = None
        self.model: list[int] = []
        self.batch: SpoolBatch | None = None
        self.next_id = 0

    @initialize(max_bytes=st.sampled_from([3_000, 20_000, 1 << 20]))
    def start(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.spool = Spool.open(self.path, max_bytes, segment_bytes=1_200)

    def teardown(self) -> None:
        if self.spool is not None:
            self.spool.close()
        shutil.rmtree(self.path, ignore_errors=True)

    @property
    def s(self) -> Spool:
        assert self.spool is not None
        return self.spool

    @rule(sizes=st.lists(st.integers(0, 1_500), max_size=6))
    def append(self, sizes: list[int]) -> None:
        for size in sizes:
            n = self.next_id
            self.next_id += 1
            rec = record(n, size=size)
            if self.s.append([rec]):
                self.model.append(n)
            else:  # only a full spool refuses
                entry = HEAD.size + len(RecordCodec.current().encode(rec))
                assert self.s.size + entry + SEGMENT_HEAD > self.max_bytes

    @rule(k=st.integers(1, 8))
    def take(self, k: int) -> None:
        self.batch = self.s.take(k)
        assert ids(self.batch.records) == self.model[:k]

    @precondition(lambda self: self.batch is not None)
    @rule()
    def ack(self) -> None:
        assert self.batch is not None
        self.s.ack(self.batch)
        del self.model[: len(self.batch)]
        self.batch = None

    @rule(sync=st.booleans())
    def reopen(self, sync: bool) -> None:
        if sync:
            assert self.s.sync()
        self.s.close()
        self.spool = Spool.open(self.path, self.max_bytes, segment_bytes=1_200)
        self.batch = None

    @invariant()
    def agrees(self) -> None:
        if self.spool is None:
            return
        assert self.s.pending == len(self.model)
        assert self.s.size <= self.max_bytes
        assert self.s.damaged == 0
        on_disk = sum(p.stat().st_size for p in self.path.glob("*.seg"))
        assert on_disk == self.s.size


SpoolMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_spool_agrees_with_a_list = SpoolMachine.TestCase
