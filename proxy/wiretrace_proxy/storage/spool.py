"""A bounded on-disk spool for records that storage refuses, replayed in order when it is back.

When the database refuses writes (locked, unreachable, read-only, full), the writer
appends the records here and, once it writes again, takes them back in append order,
stores them and acknowledges them. Each record is replayed until it is acknowledged and
never after: a restart resumes with exactly what was not acknowledged.

Files, in one directory (``<data dir>/spool/``) that one process holds (``flock``):

- ``<seq, 20 digits>.seg``: append-only segments. A segment is the 8 bytes
  ``SEGMENT_MAGIC``, a schema entry (the record fields' order, ``spoolcodec``), then one
  entry per record. A new segment starts when the next entry would take the current one
  past ``segment_bytes`` (a record larger than that gets a segment of its own). A spool
  opened again appends to a new segment (made at its first append): an old one is only
  read, never appended to.
- An entry is ``ENTRY_MAGIC`` (4 bytes), the payload's length (u32 LE), a CRC-32 of the
  length's 4 bytes followed by the payload (u32 LE), then the payload: ASCII JSON.
  Because payloads are ASCII and the magic is not (its first byte is 0xFF), a damaged
  entry is passed over by looking for the next magic whose entry checks out: a torn tail
  (the process killed mid-write), a flipped byte, or a mangled length costs the entries
  it touches, never those after it. Each unreadable stretch (or a segment whose head is
  unreadable) is counted once in ``damaged`` and skipped; nothing here raises for it.
- ``ack``: where acknowledged records end, ``ACK_MAGIC``, segment number (u64 LE), byte
  offset (u64 LE), CRC-32 of those 24 bytes (u32 LE). It is written to ``ack.tmp`` and
  renamed over ``ack`` (``os.replace``, atomic), before the segments it covers are
  deleted. Segments numbered below it are acknowledged (an open deletes any that a crash
  left), the one it names is read from its offset, later ones from their start. Segment
  numbers only grow (a new one is numbered past every segment and the ack), so a new
  segment can never be mistaken for an acknowledged one.

``max_bytes`` bounds the bytes of every file here (segments, including the part of the
oldest one already acknowledged, and files whose deletion failed). An append that would
pass it is refused and counted ``lost``: when full, the oldest records are kept.

What survives what. ``append`` hands each batch to the kernel with write(2) before it
returns, so a record appended survives the process dying in any way (SIGKILL, a crash,
OOM): it is in the page cache and the kernel writes it out. A write cut short by the kill
leaves a torn entry that the next open skips and counts. The ack file is replaced
atomically, so after a crash it names either the old or the new position, and an
acknowledged record is never replayed. A power loss or kernel crash keeps only what was
fsynced: ``sync()`` (for the writer to call on stop) and each segment as the next one starts.
Past that, the newest appends may be missing (or read back as damage, skipped and
counted), and a deletion or ack may be undone, which replays acknowledged records; a
garbled ack file is counted damaged and replay starts at the oldest segment. Replaying a
stored record stores nothing twice: ``calls.id`` is the primary key, so the database
refuses the duplicate (``write_batch`` retries the batch record by record and reports it
in ``refused``). The same holds for a crash after the database commit and before ``ack``.

Errors: ``open`` raises ``OSError`` when the directory cannot be made or opened, or
another process holds it; after that nothing here raises ``OSError``. ``append`` counts
the records it could not write as lost (ENOSPC, EROFS, EIO, EACCES...), truncates a
partly written entry away (or, if even that fails, leaves it to be skipped as torn) and
puts the one-line reason in ``last_error``; ``take`` skips what it cannot read, and
``ack`` keeps going when it cannot persist (a later restart may then replay, see above).

Thread-safety: the writer thread is the only caller; nothing here takes a lock, and two
threads must not call one ``Spool`` at the same time. The counters (properties) may be
read from another thread for display (``/healthz``): each read is one value, a moment old.
Counters count since ``open``.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import struct
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.storage.spoolcodec import RecordCodec, SpoolCodecError, schema_payload

if sys.platform != "win32":
    import fcntl

__all__ = ["ACK_MAGIC", "ENTRY_MAGIC", "SEGMENT_MAGIC", "Spool", "SpoolBatch"]

SEGMENT_MAGIC = b"\x89wtspool"
ENTRY_MAGIC = b"\xffWTE"
ACK_MAGIC = b"\x89wtsack1"

_HEAD = struct.Struct("<4sII")
"""Entry head: magic, payload length, CRC-32 of (length bytes + payload)."""
_ACK = struct.Struct("<8sQQ")
_CRC = struct.Struct("<I")
_SEGMENT_NAME = re.compile(r"^(\d{20})\.seg$")
_ACK_NAME = "ack"
_ACK_TEMP = "ack.tmp"
_READ_CHUNK = 256 * 1024
_MAX_PAYLOAD = 0xFFFF_FFFF
_TOKENS = itertools.count(1)
"""Identifies the spool a batch came from (an ``id()`` could be reused after a reopen)."""


def _frame(payload: bytes) -> bytes:
    length = len(payload).to_bytes(4, "little")
    crc = zlib.crc32(payload, zlib.crc32(length))
    return ENTRY_MAGIC + length + crc.to_bytes(4, "little") + payload


def _entry_at(data: bytes, i: int) -> int | None:
    """The length of the valid entry at ``data[i:]``, or None."""
    if len(data) - i < _HEAD.size:
        return None
    magic, length, crc = _HEAD.unpack_from(data, i)
    start = i + _HEAD.size
    if magic != ENTRY_MAGIC or length > len(data) - start:
        return None
    crc32 = zlib.crc32(data[start : start + length], zlib.crc32(data[i + 4 : i + 8]))
    return length if crc32 == crc else None


def _one_line(what: str, exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"spool: {what}: {lines[0] if lines else type(exc).__name__}"


class _Reader:
    """Entries of one segment file between two offsets, read in chunks."""

    def __init__(self, path: Path, start: int, end: int) -> None:
        self._file = open(path, "rb", buffering=0)  # closed by close()
        self._file.seek(start)
        self._buf = b""
        self._base = start  # file offset of _buf[0]
        self.pos = start
        self.end = end

    def close(self) -> None:
        self._file.close()

    def _peek(self, offset: int, size: int) -> bytes:
        """File bytes ``[offset, offset + size)``, fewer at ``end``."""
        have = self._base + len(self._buf)
        if offset < self._base or offset > have:  # outside the buffer: start one there
            self._file.seek(offset)
            self._buf, self._base, have = b"", offset, offset
        if offset + size > have and have < self.end:
            want = min(max(offset + size - have, _READ_CHUNK), self.end - have)
            keep = self._buf[offset - self._base :]
            self._buf = keep + self._read(want)
            self._base = offset
        i = offset - self._base
        return self._buf[i : i + size]

    def _read(self, size: int) -> bytes:
        parts: list[bytes] = []
        while size > 0:
            part = self._file.read(size)
            if not part:
                break  # the file is shorter than we knew: what is missing reads as torn
            parts.append(part)
            size -= len(part)
        return b"".join(parts)

    def next(self) -> tuple[int, bytes | None] | None:
        """``(offset, payload)`` of the next entry, payload None for a damaged stretch
        (``pos`` is then where the next valid entry starts, or ``end``); None at ``end``."""
        pos = self.pos
        if pos >= self.end:
            return None
        head = self._peek(pos, _HEAD.size)
        if len(head) == _HEAD.size:
            magic, length, crc = _HEAD.unpack(head)
            if magic == ENTRY_MAGIC and length <= self.end - pos - _HEAD.size:
                payload = self._peek(pos + _HEAD.size, length)
                if len(payload) == length and zlib.crc32(payload, zlib.crc32(head[4:8])) == crc:
                    self.pos = pos + _HEAD.size + length
                    return pos, payload
        self.pos = self._resync(pos + 1)
        return pos, None

    def _resync(self, start: int) -> int:
        """Where the next valid entry at or after ``start`` begins, or ``end``."""
        data = self._peek(start, self.end - start)
        i = data.find(ENTRY_MAGIC)
        while i >= 0:
            if _entry_at(data, i) is not None:
                return start + i
            i = data.find(ENTRY_MAGIC, i + 1)
        return self.end


@dataclass(slots=True, eq=False)
class _Segment:
    seq: int
    path: Path
    size: int
    """Bytes in the file as far as this process knows (what it wrote, or found on open)."""
    data_start: int
    """Offset of the first record entry (after the magic and the schema)."""
    cursor: int
    """Offset of the first byte not acknowledged (``data_start`` if none is)."""
    codec: RecordCodec | None
    """None: the segment's head is unreadable, so is the segment (counted when found)."""
    remaining: int = 0
    """Valid records at or after ``cursor``."""
    bad: set[int] = field(default_factory=set)
    """Offsets of damaged stretches already counted (so a re-read does not count twice)."""
    fd: int | None = None
    """Open for appending: the active segment only."""


@dataclass(frozen=True, slots=True, eq=False)
class SpoolBatch:
    """Records from ``Spool.take``, oldest first; ``Spool.ack`` it once they are stored."""

    records: tuple[CallRecord, ...]
    _spool: int
    _start: tuple[int, int] | None
    _end: tuple[int, int] | None
    _taken: tuple[tuple[int, int], ...]
    """``(segment number, records taken from it)`` for each segment the batch read."""

    def __len__(self) -> int:
        return len(self.records)


class Spool:
    """See the module docstring. ``open`` it; the writer thread is its only caller."""

    def __init__(
        self, directory: Path, max_bytes: int, segment_bytes: int, dir_fd: int | None
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._dir_fd = dir_fd
        self._token = next(_TOKENS)
        self._codec = RecordCodec.current()
        self._header = SEGMENT_MAGIC + _frame(schema_payload())
        self._segments: list[_Segment] = []
        self._active: _Segment | None = None
        self._garbage: dict[Path, int] = {}
        """Files acknowledged whose deletion failed: retried on each ack, and counted."""
        self._bytes = 0
        self._next_seq = 1
        self._ack_unsynced = False
        self._closed = False
        self._spooled = self._replayed = self._lost = self._damaged = 0
        self._last_error: str | None = None

    @classmethod
    def open(cls, directory: Path, max_bytes: int, *, segment_bytes: int | None = None) -> Spool:
        """The spool in ``directory`` (made if missing), resuming after its ack.

        ``max_bytes`` bounds every file in it; ``segment_bytes`` (default: an eighth of
        that, between 64 KiB and 16 MiB) is the size at which a new segment starts, so at
        most about that much acknowledged data waits on disk for its segment to go.
        Raises ``OSError`` if the directory cannot be made or opened, or another process
        holds it. Reads every pending entry once to count them and find damage.
        """
        if max_bytes < 1 or (segment_bytes is not None and segment_bytes < 1):
            raise ValueError("max_bytes and segment_bytes must be positive")
        if segment_bytes is None:
            segment_bytes = min(16 << 20, max(64 << 10, max_bytes // 8))
        directory.mkdir(parents=True, exist_ok=True)
        dir_fd = _lock(directory)
        spool = cls(directory, max_bytes, segment_bytes, dir_fd)
        try:
            spool._load()
        except BaseException:
            spool.close()
            raise
        return spool

    # -- counters -------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Records spooled and not yet acknowledged (damage found later may lower it)."""
        return sum(seg.remaining for seg in tuple(self._segments))  # a copy: see the doc

    @property
    def size(self) -> int:
        """Bytes of the spool's files on disk (bounded by ``max_bytes``)."""
        return self._bytes

    @property
    def spooled(self) -> int:
        """Records appended since open."""
        return self._spooled

    @property
    def replayed(self) -> int:
        """Records acknowledged since open."""
        return self._replayed

    @property
    def lost(self) -> int:
        """Records ``append`` refused: spool full, a write error, or a value JSON lacks."""
        return self._lost

    @property
    def damaged(self) -> int:
        """Unreadable stretches skipped: torn or damaged entries, segments, the ack file."""
        return self._damaged

    @property
    def last_error(self) -> str | None:
        """The latest problem, one line (``spool: ...``), for the writer to show."""
        return self._last_error

    # -- append ---------------------------------------------------------------------------

    def append(self, records: Sequence[CallRecord]) -> int:
        """Write ``records`` after all others; how many were kept (the rest count lost).

        Never raises ``OSError``: a record that does not fit in ``max_bytes``, or that a
        write error stops, is lost and ``last_error`` says why.
        """
        self._check_open()
        frames: list[bytes] = []
        for record in records:
            try:
                frames.append(_frame(self._codec.encode(record)))
            except SpoolCodecError as exc:
                self._lost += 1
                self._last_error = f"spool: {exc}"
        kept = 0
        chunk: list[bytes] = []  # frames for the active segment, written together
        chunk_bytes = 0
        full = 0
        for i, frame in enumerate(frames):
            rotate, fits = self._plan(len(frame), chunk_bytes)
            if not fits and not chunk and self._reclaim():
                rotate, fits = self._plan(len(frame), 0)
            if not fits:
                full += 1
                continue
            if rotate:
                written, ok = self._write(chunk)
                kept += written
                chunk, chunk_bytes = [], 0
                if ok:
                    ok = self._rotate()
                if not ok:
                    self._lost += len(frames) - i  # this one and every one after it
                    break
            chunk.append(frame)
            chunk_bytes += len(frame)
        else:
            written, _ = self._write(chunk)
            kept += written
        if full:
            self._lost += full
            self._last_error = (
                f"spool: full ({self._bytes} of {self.max_bytes} bytes), {full} records lost"
            )
        self._spooled += kept
        return kept

    def _plan(self, size: int, buffered: int) -> tuple[bool, bool]:
        """For an entry of ``size`` bytes after ``buffered`` ones not yet written: whether it
        starts a new segment, and whether it fits in ``max_bytes``."""
        active = self._active
        rotate = active is None or (
            active.size + buffered > active.data_start
            and active.size + buffered + size > self.segment_bytes
        )
        extra = len(self._header) if rotate else 0
        fits = size - _HEAD.size <= _MAX_PAYLOAD and (
            self._bytes + buffered + extra + size <= self.max_bytes
        )
        return rotate, fits

    def _reclaim(self) -> bool:
        """Delete the active segment if it holds records and all are acknowledged: else a
        segment that never reaches ``segment_bytes`` (one larger than ``max_bytes``) would
        keep the space of records long stored, and the spool would stay full."""
        seg = self._active
        if seg is None or seg.size <= seg.data_start or seg.cursor < seg.size:
            return False
        self._retire(seg)
        self._segments.remove(seg)
        self._garbage[seg.path] = seg.size
        self._collect()
        return True

    def _write(self, frames: list[bytes]) -> tuple[int, bool]:
        """Write ``frames`` to the active segment: (frames kept, no error). A failed write
        keeps the frames fully written, truncates the rest away and counts it lost."""
        seg = self._active
        if not frames or seg is None or seg.fd is None:
            return 0, True
        data = b"".join(frames)
        view = memoryview(data)
        done = 0
        try:
            while done < len(data):
                n = os.write(seg.fd, view[done:])
                if n <= 0:
                    raise OSError(errno.EIO, "write wrote nothing")
                done += n
        except OSError as exc:
            boundary = kept = 0
            for frame in frames:
                if boundary + len(frame) > done:
                    break
                boundary += len(frame)
                kept += 1
            self._lost += len(frames) - kept
            self._last_error = _one_line(
                f"cannot write {seg.path.name}, {len(frames) - kept} records lost", exc
            )
            self._truncate(seg, seg.size + boundary, seg.size + done)
            seg.remaining += kept
            return kept, False
        seg.size += done
        self._bytes += done
        seg.remaining += len(frames)
        return len(frames), True

    def _truncate(self, seg: _Segment, good: int, actual: int) -> None:
        """Cut a partly written tail back to ``good``; if that fails, stop appending to the
        segment and leave the tail to be skipped as torn (already counted lost)."""
        assert seg.fd is not None
        try:
            os.ftruncate(seg.fd, good)
        except OSError:
            seg.bad.add(good)
            self._bytes += actual - seg.size
            seg.size = actual
            self._retire(seg)
        else:
            self._bytes += good - seg.size
            seg.size = good

    def _rotate(self) -> bool:
        """Start a new active segment; False (reported) if it cannot be made."""
        if self._active is not None:
            self._retire(self._active)
        seq = self._next_seq
        self._next_seq += 1
        path = self.directory / f"{seq:020d}.seg"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags, 0o600)
        except OSError as exc:
            self._last_error = _one_line(f"cannot create {path.name}", exc)
            return False
        header = self._header
        try:
            done = 0
            while done < len(header):
                n = os.write(fd, header[done:])
                if n <= 0:
                    raise OSError(errno.EIO, "write wrote nothing")
                done += n
        except OSError as exc:
            self._last_error = _one_line(f"cannot write {path.name}", exc)
            os.close(fd)
            with contextlib.suppress(OSError):
                path.unlink()
            return False
        seg = _Segment(
            seq=seq,
            path=path,
            size=len(header),
            data_start=len(header),
            cursor=len(header),
            codec=self._codec,
            fd=fd,
        )
        self._segments.append(seg)
        self._active = seg
        self._bytes += len(header)
        return True

    def _retire(self, seg: _Segment) -> None:
        """No more appends to ``seg``: fsync it (so a finished segment survives a power
        loss) and close it."""
        if seg.fd is None:
            return
        try:
            os.fsync(seg.fd)
        except OSError as exc:
            self._last_error = _one_line(f"cannot fsync {seg.path.name}", exc)
        finally:
            os.close(seg.fd)
            seg.fd = None
            if self._active is seg:
                self._active = None

    # -- take and ack ---------------------------------------------------------------------

    def take(self, max_records: int) -> SpoolBatch:
        """Up to ``max_records`` of the oldest records not acknowledged, in append order.

        It does not consume them: until ``ack``, every ``take`` starts at the same record.
        Damage met on the way is skipped and counted; if there was only damage, the spool
        moves past it itself (the batch is then empty).
        """
        self._check_open()
        if max_records < 1:
            raise ValueError("max_records must be positive")
        records: list[CallRecord] = []
        taken: list[tuple[int, int]] = []
        start = self._head()
        end: tuple[int, int] | None = None
        for seg in self._segments:
            if len(records) >= max_records:
                break
            got, pos = self._read(seg, max_records - len(records), records)
            if got:
                taken.append((seg.seq, got))
            end = (seg.seq, pos)
        if not records and end is not None and end != start:
            self._advance(end, ())  # only damage (or nothing) ahead: move past it
            end = None
        return SpoolBatch(tuple(records), self._token, start, end, tuple(taken))

    def _read(self, seg: _Segment, limit: int, records: list[CallRecord]) -> tuple[int, int]:
        """Append up to ``limit`` records of ``seg`` from its cursor to ``records``:
        (how many, offset after the last entry read)."""
        codec = seg.codec
        if codec is None or seg.cursor >= seg.size:
            return 0, max(seg.cursor, seg.size)
        got = 0
        pos = seg.cursor
        reader: _Reader | None = None
        try:
            reader = _Reader(seg.path, seg.cursor, seg.size)
            while got < limit:
                entry = reader.next()
                if entry is None:
                    break
                offset, payload = entry
                try:
                    if payload is None:
                        raise SpoolCodecError("damaged entry")
                    records.append(codec.decode(payload))
                    got += 1
                except SpoolCodecError as exc:
                    self._found_damage(seg, offset, str(exc))
                pos = reader.pos
            if pos >= seg.size and seg.remaining != got:
                seg.remaining = got  # damage found only now (the file changed under us)
            return got, pos
        except OSError as exc:
            self._last_error = _one_line(f"cannot read {seg.path.name}", exc)
            if got:
                return got, pos  # keep what was read; the next take meets the error first
            # Unreadable: skipped like a segment with a damaged head (deleted when acked
            # past); appends go to a new segment.
            self._damaged += 1
            seg.codec = None
            seg.remaining = 0
            if seg is self._active:
                self._retire(seg)
            return 0, seg.size
        finally:
            if reader is not None:
                reader.close()

    def ack(self, batch: SpoolBatch) -> None:
        """Mark ``batch`` stored: its records are never taken again, not after a restart.

        Raises ``ValueError`` for a batch of another spool or one already superseded (take
        -> ack is strictly in turn). Never raises ``OSError``: if the position cannot be
        persisted it is kept in memory and ``last_error`` says so (a restart may replay).
        """
        self._check_open()
        if batch._spool != self._token:
            raise ValueError("not a batch of this spool")
        if batch._end is None:
            return  # nothing to acknowledge
        if batch._start != self._head():
            raise ValueError("not the spool's current batch (acked already, or superseded)")
        self._advance(batch._end, batch._taken)
        self._replayed += len(batch.records)

    def _head(self) -> tuple[int, int] | None:
        if not self._segments:
            return None
        first = self._segments[0]
        return first.seq, first.cursor

    def _advance(self, end: tuple[int, int], taken: Sequence[tuple[int, int]]) -> None:
        """Acknowledge everything before ``end``: persist it, then delete what it covers."""
        end_seq, end_offset = end
        counts = dict(taken)
        done: list[_Segment] = []
        for seg in self._segments:
            seg.remaining = max(0, seg.remaining - counts.get(seg.seq, 0))
            if seg.seq < end_seq:
                done.append(seg)
            elif seg.seq == end_seq:
                seg.cursor = end_offset
                if seg.cursor >= seg.size and seg is not self._active:
                    done.append(seg)
        self._segments = [seg for seg in self._segments if seg not in done]
        self._write_ack(end_seq, end_offset)
        for seg in done:
            self._retire(seg)
            self._garbage[seg.path] = seg.size
        self._collect()

    def _write_ack(self, seq: int, offset: int) -> None:
        body = _ACK.pack(ACK_MAGIC, seq, offset)
        data = body + _CRC.pack(zlib.crc32(body))
        temp = self.directory / _ACK_TEMP
        try:
            with open(temp, "wb", buffering=0) as f:
                f.write(data)
            os.replace(temp, self.directory / _ACK_NAME)
        except OSError as exc:
            self._last_error = _one_line("cannot persist the ack (a restart may replay)", exc)
        else:
            self._ack_unsynced = True

    def _collect(self) -> None:
        """Delete acknowledged files; one that cannot go stays counted and is retried."""
        for path, size in list(self._garbage.items()):
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                self._last_error = _one_line(f"cannot delete {path.name}", exc)
            else:
                del self._garbage[path]
                self._bytes -= size

    # -- sync and close -------------------------------------------------------------------

    def sync(self) -> bool:
        """fsync the active segment, the ack file and the directory, so what is spooled
        and acknowledged now survives a power loss; False (``last_error``) if one failed."""
        self._check_open()
        ok = True
        try:
            if self._active is not None and self._active.fd is not None:
                os.fsync(self._active.fd)
            if self._ack_unsynced:
                fd = os.open(self.directory / _ACK_NAME, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
                self._ack_unsynced = False
            if self._dir_fd is not None:
                os.fsync(self._dir_fd)
        except OSError as exc:
            self._last_error = _one_line("cannot sync", exc)
            ok = False
        return ok

    def close(self) -> None:
        """Close the files and release the directory (no fsync: call ``sync`` first)."""
        if self._closed:
            return
        self._closed = True
        for seg in self._segments:
            if seg.fd is not None:
                os.close(seg.fd)
                seg.fd = None
        self._active = None
        if self._dir_fd is not None:
            os.close(self._dir_fd)  # releases the flock
            self._dir_fd = None

    def __enter__(self) -> Spool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("the spool is closed")

    # -- open -----------------------------------------------------------------------------

    def _load(self) -> None:
        """Find the segments and the ack, count what is pending, delete what is acked."""
        with contextlib.suppress(OSError):
            (self.directory / _ACK_TEMP).unlink(missing_ok=True)
        ack = self._read_ack()
        ack_seq, ack_offset = ack if ack is not None else (0, 0)
        seqs: list[int] = []
        for entry in os.scandir(self.directory):
            match = _SEGMENT_NAME.match(entry.name)
            if match and entry.is_file(follow_symlinks=False):
                seqs.append(int(match.group(1)))
        seqs.sort()
        self._next_seq = max([ack_seq, *seqs]) + 1
        for seq in seqs:
            path = self.directory / f"{seq:020d}.seg"
            try:
                size = path.stat().st_size
            except OSError as exc:
                self._last_error = _one_line(f"cannot read {path.name}", exc)
                continue
            self._bytes += size
            if seq < ack_seq:
                self._garbage[path] = size  # acked; a crash came before its deletion
                continue
            seg = self._scan(path, seq, size, ack_offset if seq == ack_seq else None)
            self._segments.append(seg)
        # Old segments are never appended to: those with nothing pending can go now.
        while self._segments and self._segments[0].remaining == 0:
            seg = self._segments.pop(0)
            self._garbage[seg.path] = seg.size
        self._collect()

    def _read_ack(self) -> tuple[int, int] | None:
        try:
            data = (self.directory / _ACK_NAME).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._last_error = _one_line("cannot read the ack, replaying all", exc)
            return None
        if len(data) == _ACK.size + _CRC.size:
            magic, seq, offset = _ACK.unpack_from(data)
            (crc,) = _CRC.unpack_from(data, _ACK.size)
            if magic == ACK_MAGIC and crc == zlib.crc32(data[: _ACK.size]):
                return seq, offset
        self._damaged += 1
        self._last_error = "spool: the ack file is damaged, replaying from the oldest segment"
        return None

    def _scan(self, path: Path, seq: int, size: int, ack_offset: int | None) -> _Segment:
        """A segment found on open: its schema, and its valid entries after the ack."""
        seg = _Segment(seq=seq, path=path, size=size, data_start=size, cursor=size, codec=None)
        reader: _Reader | None = None
        try:
            reader = _Reader(path, 0, size)
            head = reader._peek(0, len(SEGMENT_MAGIC))
            reader.pos = len(SEGMENT_MAGIC)
            entry = reader.next() if head == SEGMENT_MAGIC else None
            if entry is None or entry[1] is None:
                raise SpoolCodecError("segment head is unreadable")
            seg.codec = RecordCodec.from_schema(entry[1])
            seg.data_start = reader.pos
            seg.cursor = min(size, max(seg.data_start, ack_offset or 0))
            reader.pos = seg.cursor
            while (entry := reader.next()) is not None:
                offset, payload = entry
                if payload is None:
                    self._found_damage(seg, offset, "damaged entry")
                else:
                    seg.remaining += 1
        except (OSError, SpoolCodecError) as exc:
            seg.codec = None
            seg.remaining = 0
            self._damaged += 1
            self._last_error = _one_line(f"{path.name} skipped", exc)
        finally:
            if reader is not None:
                reader.close()
        return seg

    def _found_damage(self, seg: _Segment, offset: int, why: str) -> None:
        if offset in seg.bad:
            return
        seg.bad.add(offset)
        self._damaged += 1
        self._last_error = f"spool: {seg.path.name} at byte {offset}: {why}, skipped"


def _lock(directory: Path) -> int | None:
    """Open ``directory`` and hold an exclusive ``flock`` on it while the spool is open."""
    if sys.platform == "win32":
        return None
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            why = f"spool directory in use by another process: {directory}"
            raise OSError(errno.EBUSY, why) from None
        raise
    return fd
