"""Reading a room's JSONL replay log (SPEC §5.3; acp-mux reference §6.4–6.5).

One record per line, in exactly acp-mux's on-disk format::

    {"v":1,"seq":N,"segment_id":S,"recorded_at":"2026-05-27T17:42:01.234567890Z","frame":{…}}

The loader never gives up on a file: every line is judged on its own, so one corrupt
line (or invalid UTF-8, which made acp-mux drop persistence for the whole room) costs
exactly that line. Blank lines are skipped, other unusable lines are counted as bad,
records written by a newer amux (``v > 1``) are counted apart and left alone.

Speed (SPEC §7): the file is read in large blocks, split on ``\\n`` and each line goes
through one ``msgspec.json.Decoder(Record)`` call; only lines that fail take the slow
path that works out *why* they failed. By default ``frame`` is kept as ``msgspec.Raw``
(the frame's JSON bytes, validated but not turned into Python objects): hydration and
``amux ls`` decode only what they need (e.g. with a small typed envelope struct), and
a held frame costs its bytes rather than a tree of dicts. ``decode_frames=True`` gives
plain Python objects instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec

from amux_tui.acp.framing import invalid_utf8_at
from amux_tui.engine.lock import RoomsLock, held_by_this_process
from amux_tui.gc_pause import paused as gc_paused
from amux_tui.private import open_private

__all__ = [
    "FORMAT_VERSION",
    "MAX_U64",
    "CheckReport",
    "LoadResult",
    "Record",
    "check_log",
    "load_log",
]

FORMAT_VERSION = 1
MAX_U64 = (1 << 64) - 1  # acp-mux reads seq and segment_id as u64: larger is a bad record
MAX_BAD_LINE_NUMBERS = 100
# Bytes read per block: large enough to amortise, small enough to bound peak memory.
_BLOCK_SIZE = 16 << 20

F = TypeVar("F")
# ge=0 is checked by msgspec; the u64 ceiling by the scan (msgspec bounds stop at int64).
_U64 = Annotated[int, msgspec.Meta(ge=0)]


class Record(msgspec.Struct, Generic[F], gc=False):
    """One line of a replay log. Field order is the on-disk key order; do not reorder.

    ``frame`` is, depending on where the record came from:

    * ``msgspec.Raw`` (the frame's JSON bytes) from :func:`load_log` by default;
    * plain Python objects from ``load_log(..., decode_frames=True)``;
    * whatever was given to ``ReplayLog.append`` (a dict, or the agent's raw line bytes).

    :meth:`decode_frame` turns any of these into Python objects. ``gc=False`` keeps a
    million loaded records out of the cyclic garbage collector; a record never refers
    back to itself, so it cannot be part of a cycle.
    """

    v: Literal[1]
    seq: _U64
    segment_id: _U64
    recorded_at: str
    frame: F

    def decode_frame(self, type: Any = Any) -> Any:  # noqa: A002 - mirrors msgspec's API
        """The frame as Python objects (or as ``type``, e.g. a lenient envelope Struct)."""
        frame = self.frame
        if isinstance(frame, msgspec.Raw | bytes | bytearray | memoryview):
            return msgspec.json.decode(frame, type=type)
        return frame if type is Any else msgspec.convert(frame, type)


class LoadResult(msgspec.Struct):
    """Everything :func:`load_log` found in one log file.

    Attributes:
        records: every valid record, in file order.
        bad_lines: lines that are not UTF-8, not JSON, not a record (a ``seq`` or
            ``segment_id`` beyond u64 included), or have ``v < 1`` (``v > 1`` lines are
            counted in ``newer_version_lines`` instead).
        blank_lines: empty or whitespace-only lines (skipped, harmless).
        torn_tail: the last line had no trailing newline and is not a complete JSON value
            (amux died mid-write); it is not loaded and ``ReplayLog.open`` truncates it.
        missing_newline: the last line lacks its newline but is complete JSON (a write
            cut just before the ``\\n``); it is loaded normally and ``ReplayLog.open``
            terminates it before appending, so no recorded frame is thrown away.
        valid_size: byte offset just after the last complete line.
        bad_line_numbers: 1-based numbers of bad lines, at most ``MAX_BAD_LINE_NUMBERS``.
        max_seq: highest seq among records and newer-version lines carrying an integer
            ``seq`` (so appending never reuses a seq a newer amux wrote); 0 if none.
        seq_gaps: places where a record's seq is not the previous record's seq + 1 (the
            first record is expected to be seq 1). A newer-version line holds its seq in
            that sequence, so lines a newer amux wrote are never reported as gaps.
        seq_disorder: the subset of those where seq did not increase at all.
        newer_version_lines: lines with an integer ``v > 1`` (foreign versions): kept out
            of ``records``, never rewritten.
    """

    records: list[Record[Any]] = msgspec.field(default_factory=list)
    bad_lines: int = 0
    blank_lines: int = 0
    torn_tail: bool = False
    valid_size: int = 0
    bad_line_numbers: list[int] = msgspec.field(default_factory=list)
    max_seq: int = 0
    seq_gaps: int = 0
    seq_disorder: int = 0
    newer_version_lines: int = 0
    missing_newline: bool = False


_RAW_DECODER = msgspec.json.Decoder(Record[msgspec.Raw])
_ANY_DECODER = msgspec.json.Decoder(Record[Any])
_DECODERS: dict[Any, Any] = {}
Sink = Callable[["Record[Any]", bytes], None]


def _decoder_for(frame_type: Any) -> Any:
    decoder = _DECODERS.get(frame_type)
    if decoder is None:
        # A runtime type parameter (the caller's envelope type): checkers cannot see it.
        decoder = _DECODERS[frame_type] = msgspec.json.Decoder(Record[frame_type])  # pyright: ignore[reportInvalidTypeForm]
    return decoder


class _Scan:
    """Counters shared by the fast loop and the slow classifier."""

    __slots__ = ("res", "newer_max_seq", "seqs", "newer_seqs")

    def __init__(self) -> None:
        self.res = LoadResult()
        self.newer_max_seq = 0
        self.seqs: list[int] = []  # seqs of records handed to a sink (not kept in res)
        # (records read before it, seq) of each newer-version line: its place in the order
        self.newer_seqs: list[tuple[int, int]] = []

    def bad(self, lineno: int) -> None:
        res = self.res
        res.bad_lines += 1
        if len(res.bad_line_numbers) < MAX_BAD_LINE_NUMBERS:
            res.bad_line_numbers.append(lineno)

    def classify(self, line: bytes, lineno: int) -> None:
        """Slow path for a line the record decoder rejected: say what it is."""
        if not line.strip():
            self.res.blank_lines += 1
            return
        if invalid_utf8_at(line) is not None:
            self.bad(lineno)
            return
        try:
            obj = msgspec.json.decode(line)
        except (msgspec.DecodeError, UnicodeDecodeError):  # the type varies by release
            self.bad(lineno)
            return
        if isinstance(obj, dict):
            v = obj.get("v")
            if type(v) is int and v > FORMAT_VERSION:
                self.res.newer_version_lines += 1
                seq = obj.get("seq")
                if type(seq) is int and 0 < seq <= MAX_U64:
                    self.newer_max_seq = max(self.newer_max_seq, seq)
                    self.newer_seqs.append((len(self.seqs) + len(self.res.records), seq))
                return
        self.bad(lineno)

    def scan(
        self,
        lines: list[bytes],
        lineno: int,
        decoder: Any,
        check_utf8: bool,
        sink: Sink | None = None,
    ) -> int:
        """Decode ``lines`` (numbered from ``lineno + 1``); returns the last line number.

        Records are kept in ``res.records``, or handed to ``sink(record, line)`` as they
        are read (hydration folds them without holding a million records).
        """
        append = self.res.records.append if sink is None else None
        seqs = self.seqs.append if sink is not None else None
        decode = decoder.decode
        classify = self.classify
        blank = 0
        for line in lines:
            lineno += 1
            if line:
                if check_utf8 and invalid_utf8_at(line) is not None:
                    classify(line, lineno)
                    continue
                try:
                    rec = decode(line)
                except Exception:  # noqa: BLE001 - any failure means "not a record"; classify says why
                    classify(line, lineno)
                    continue
                if (rec.seq | rec.segment_id) > MAX_U64:  # not a u64: a bad record
                    self.bad(lineno)
                    continue
                if append is not None:
                    append(rec)
                else:
                    seqs(rec.seq)  # type: ignore[misc]
                    sink(rec, line)  # type: ignore[misc]
            else:
                blank += 1
        self.res.blank_lines += blank
        return lineno

    def finish(self) -> LoadResult:
        res = self.res
        seqs = self.seqs or [r.seq for r in res.records]
        if seqs:
            res.max_seq = max(seqs)
        if self.newer_seqs:  # a newer amux's lines hold their seqs: they are not gaps
            merged: list[int] = []
            prev = 0
            for pos, seq in self.newer_seqs:
                merged += seqs[prev:pos]
                merged.append(seq)
                prev = pos
            seqs = merged + seqs[prev:]
        # The common case (1, 2, 3, …) is one C-level list comparison.
        if seqs and seqs != list(range(1, len(seqs) + 1)):
            prev = 0
            for s in seqs:
                if s != prev + 1:
                    res.seq_gaps += 1
                    if s <= prev:
                        res.seq_disorder += 1
                prev = s
        res.max_seq = max(res.max_seq, self.newer_max_seq)
        return res


def load_log(
    path: Path, *, decode_frames: bool = False, frame_type: Any = None, sink: Sink | None = None
) -> LoadResult:
    """Load every valid record of a replay log; a missing file is an empty log.

    Args:
        path: the ``<roomId>.jsonl`` file.
        decode_frames: give each record's ``frame`` as Python objects instead of
            ``msgspec.Raw`` (see the module docstring for why Raw is the default).
        frame_type: decode ``frame`` as this type instead (e.g. a lenient envelope
            Struct that accepts any JSON value, so no valid record is ever refused).
        sink: called with ``(record, line)`` for each record instead of keeping it in
            ``records`` (which then stays empty; the counters are filled as usual).

    The file is opened with :func:`~amux_tui.private.open_private` (no symlinks, only a
    regular file you own that others cannot write, never blocking on a FIFO).

    Never raises for bad content; I/O errors other than a missing file propagate
    (:class:`~amux_tui.private.UnsafePath` for a file amux refuses to read).
    """
    scan = _Scan()
    res = scan.res
    if frame_type is not None:
        decoder = _decoder_for(frame_type)
    else:
        decoder = _ANY_DECODER if decode_frames else _RAW_DECODER
    try:
        f = os.fdopen(open_private(path), "rb")
    except FileNotFoundError:
        return res
    lineno = 0
    offset = 0  # file offset of the first byte not yet consumed as a complete line
    carry = b""
    # The cyclic GC is paused while decoding to Python objects: without that, each of the
    # thousands of collections triggered by a million retained dicts rescans all of them,
    # which makes loading several times slower. Nested loads (threads) share one pause.
    with f, gc_paused() if decode_frames else nullcontext():
        while True:
            chunk = f.read(_BLOCK_SIZE)
            if not chunk:
                break
            if carry:
                chunk = carry + chunk
            lines = chunk.split(b"\n")
            carry = lines.pop()  # the unterminated rest, completed by the next block
            complete = len(chunk) - len(carry)
            if not lines:
                continue
            # Raw frames are not UTF-8-checked by msgspec, so check the whole block at
            # C speed and only fall back to a per-line check when it contains bad bytes.
            check_utf8 = invalid_utf8_at(memoryview(chunk)[:complete]) is not None
            lineno = scan.scan(lines, lineno, decoder, check_utf8, sink)
            offset += complete
        if carry:
            # No trailing newline. A complete JSON value just lost its "\n" and is kept;
            # anything else is a torn write, dropped and truncated by ReplayLog.open.
            try:
                if invalid_utf8_at(carry) is not None:
                    raise ValueError("invalid UTF-8")
                msgspec.json.decode(carry)
            except (ValueError, msgspec.DecodeError):
                res.torn_tail = True
            else:
                res.missing_newline = True
                lineno = scan.scan([carry], lineno, decoder, True, sink)
                offset += len(carry)
    res.valid_size = offset
    return scan.finish()


# -------------------------------------------------------------------- amux check


class CheckReport(msgspec.Struct):
    """What ``amux check`` says about one log.

    ``ok`` is true when there are no bad lines, no seq gaps or disorder and no torn
    tail left (a tail that ``repair`` truncated no longer counts). Lines of a newer
    format version are reported but are not a fault: they are left alone.
    """

    room_id: str
    records: int
    bad_lines: int
    bad_line_numbers: list[int]
    blank_lines: int
    torn_tail: bool
    seq_gaps: int
    seq_disorder: int
    newer_version_lines: int
    missing_newline: bool
    repaired: bool
    ok: bool


def check_log(path: Path, *, repair: bool) -> CheckReport:
    """Verify one log; with ``repair`` truncate a torn tail (and nothing else).

    ``repair`` also terminates a complete last line that lost its newline (adding one
    byte, rewriting nothing). Repair needs the rooms lock of ``path``'s directory: it
    raises :class:`StoreLockedError` if another process owns it; inside the owning
    process it proceeds. Without ``repair`` nothing is locked or written.
    """
    path = Path(path)
    lock: RoomsLock | None = None
    if repair and not held_by_this_process(path.parent):
        lock = RoomsLock(path.parent)
        lock.acquire()
    try:
        # Loaded under the lock, so the tail cannot change between reading and cutting.
        res = load_log(path)
        repaired = False
        if repair and (res.torn_tail or res.missing_newline):
            with os.fdopen(open_private(path, os.O_RDWR), "r+b") as f:
                size = f.seek(0, os.SEEK_END)
                if res.torn_tail and size > res.valid_size:
                    f.truncate(res.valid_size)
                elif res.missing_newline and size == res.valid_size:
                    f.write(b"\n")
                f.flush()
                os.fsync(f.fileno())
            repaired = True
    finally:
        if lock is not None:
            lock.release()
    torn_left = res.torn_tail and not repaired
    return CheckReport(
        room_id=path.name.removesuffix(".jsonl"),
        records=len(res.records),
        bad_lines=res.bad_lines,
        bad_line_numbers=res.bad_line_numbers,
        blank_lines=res.blank_lines,
        torn_tail=res.torn_tail,
        seq_gaps=res.seq_gaps,
        seq_disorder=res.seq_disorder,
        newer_version_lines=res.newer_version_lines,
        missing_newline=res.missing_newline,
        repaired=repaired,
        ok=not (res.bad_lines or res.seq_gaps or res.seq_disorder or torn_left),
    )
