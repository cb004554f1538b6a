"""The replay store: per-room JSONL logs, metadata files, lock, archive and check.

Layout under the rooms directory (SPEC §5.1): ``<roomId>.jsonl`` (the replay log,
acp-mux's exact format), ``<roomId>.json`` and ``layout.json`` (atomic JSON),
``.lock`` (single-writer lock), ``archive/`` (rooms put away, never deleted).

Reading lives in :mod:`amux_tui.engine.loader`, the lock in :mod:`amux_tui.engine.lock`;
both are re-exported here so callers need one import.

Durability (SPEC §5.2) is :class:`ReplayLog`'s job: appends are buffered in memory and
written by one flusher thread per process once the oldest buffered frame is
``flush_interval`` (20 ms) old, so a recorded frame reaches the OS within 50 ms however
busy the event loop is; at once when the buffer passes ``flush_threshold``; and on
:meth:`ReplayLog.flush`. :meth:`ReplayLog.sync` adds an ``fsync`` (turn settlement, clean
quit). Write failures never escape ``append``: the bytes stay buffered, in order, and are
retried; the file is cut back to its last complete line, so what is on disk is always
whole records and what is buffered always continues it exactly. Bytes a closing log
could not write are kept (:attr:`ReplayLog.unwritten`) until they are written, saved
elsewhere or explicitly dropped: nothing is lost silently.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Container
from pathlib import Path
from typing import Any

import msgspec

from amux_tui.acp.framing import invalid_utf8_at
from amux_tui.atomic import replace_atomically
from amux_tui.engine.loader import (
    FORMAT_VERSION,
    MAX_U64,
    CheckReport,
    LoadResult,
    Record,
    check_log,
    load_log,
)
from amux_tui.engine.lock import RoomsLock, StoreLockedError
from amux_tui.engine.rooms_dir import LOG_SUFFIX, META_SUFFIX, list_room_logs, room_id_ok
from amux_tui.engine.timeutil import format_rfc3339
from amux_tui.private import ensure_private_dir, open_private

__all__ = [
    "ARCHIVE_DIR_NAME",
    "LOG_SUFFIX",
    "META_SUFFIX",
    "CheckReport",
    "LoadResult",
    "LogExhausted",
    "Record",
    "ReplayLog",
    "RoomsLock",
    "StoreLockedError",
    "archive_room",
    "check_log",
    "fsync_dir",
    "list_room_logs",
    "load_log",
    "new_room_id",
    "room_id_ok",
    "write_json_atomic",
]

_log = logging.getLogger("amux.store")

ARCHIVE_DIR_NAME = "archive"
FLUSH_BOUND = 0.05  # SPEC §5.2: a recorded frame reaches the OS within 50 ms
FLUSH_INTERVAL = 0.01  # the flusher writes a buffer once its oldest frame is this old
FLUSH_THRESHOLD = 1 << 20  # append itself writes past 1 MiB buffered (a memory bound)
MAX_SEQ = MAX_U64  # acp-mux's seq is a u64: a log at this seq cannot take another record
RETRY_INTERVAL = 1.0  # back-off after a failed write (disk full stays full for a while)

# Indirection so tests can inject write faults (ENOSPC, partial writes) without
# patching os.write for the whole process.
_os_write = os.write

_encode_into = msgspec.json.Encoder().encode_into
_time_ns = time.time_ns
_monotonic = time.monotonic
_validate_json = msgspec.json.Decoder(msgspec.Raw).decode


class LogExhausted(OSError):
    """The log holds the largest seq its format allows (2^64 - 1): it cannot take another
    record. Never silently wrapped or exceeded (acp-mux reads seq as a u64)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        super().__init__(
            errno.EOVERFLOW,
            f"{path} has reached the largest seq a log can hold (2^64 - 1); "
            "archive the room and start a new one",
        )

    def __str__(self) -> str:
        return str(self.strerror)


def new_room_id(existing: Container[str] = ()) -> str:
    """A fresh random room id such as ``r-k3q9z0d2ab`` (never derived from user input)."""
    while True:
        room_id = "r-" + base64.b32encode(os.urandom(10)).decode()[:10].lower()
        if room_id not in existing:
            return room_id


def _raw_frame(frame: bytes | bytearray | memoryview, checked: bool = False) -> bytes:
    """Check an agent's raw line and make it embeddable in one log line.

    The bytes go into the log verbatim (no re-encoding, SPEC §4.1 "as received"). They
    must be one complete JSON value in UTF-8, otherwise the line would be unloadable and
    the frame lost on the next start. Surrounding whitespace (a ``\\r`` of CRLF framing)
    is dropped; a literal newline can only be JSON whitespace between tokens, so it is
    replaced by a space to keep the record on one line.
    """
    raw = bytes(frame).strip()
    if not checked:
        # msgspec skips over a Raw value without checking its UTF-8, so check it first.
        bad = invalid_utf8_at(raw)
        if bad is not None:
            raise ValueError(f"invalid UTF-8 at byte {bad}")
        _validate_json(raw)  # raises msgspec.DecodeError
    if b"\n" in raw:
        raw = raw.replace(b"\n", b" ")
    return raw


class _Flusher:
    """The one thread of the process that writes buffered log lines on time.

    SPEC §5.2: a recorded frame reaches the OS within 50 ms *however busy the UI is*; a
    timer on the event loop fires only when the loop gets round to it, which under load
    is hundreds of ms late. This thread wakes when a log's buffer goes from empty to
    non-empty, sleeps until that frame is ``flush_interval`` old, and writes (``os.write``
    releases the GIL; the thread needs the GIL only briefly, and Python hands it over at
    least every ``sys.getswitchinterval()``, 5 ms). ``append`` pays one ``Event.set`` per
    flush cycle, not per frame.
    """

    def __init__(self) -> None:
        self._logs: weakref.WeakSet[ReplayLog] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self, log: ReplayLog) -> None:
        with self._lock:
            self._logs.add(log)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="amux-log-flusher", daemon=True
                )
                self._thread.start()

    def unregister(self, log: ReplayLog) -> None:
        with self._lock:
            self._logs.discard(log)

    def poke(self) -> None:
        """Something became due (or will be): look again."""
        self._wake.set()

    def _run(self) -> None:
        timeout: float | None = None
        while True:
            self._wake.wait(timeout)
            self._wake.clear()
            with self._lock:
                logs = list(self._logs)
            timeout = None
            for log in logs:
                due = log._flush_due()
                if due is None:
                    continue
                if due <= time.monotonic():
                    try:
                        log._background_flush()
                    except Exception:  # noqa: BLE001 - the thread must outlive any one log
                        _log.exception("replay log %s: background flush failed", log.path)
                    due = log._flush_due()
                    if due is None:
                        continue
                wait = max(due - time.monotonic(), 0.001)
                timeout = wait if timeout is None else min(timeout, wait)


_flusher = _Flusher()


class ReplayLog:
    """Append side of one room's log ``<rooms_dir>/<room_id>.jsonl``.

    Thread-safety: ``append`` is meant for one thread (the room's event loop); the
    flusher thread, ``flush``, ``sync`` and ``close`` may run in other threads at the same
    time. ``on_error``/``on_recover`` are called on whichever thread hit the
    failure/recovery, so a UI must hop back to its loop (``call_soon_threadsafe``).

    The file is opened with :func:`~amux_tui.private.open_private`: never through a
    symbolic link, only as a regular file you own (created 0600).

    Args:
        path: the log file (created 0600 if missing; its directory must be writable).
        next_seq: seq of the next record (``max_seq + 1`` of what is on disk).
        flush_interval: age of the oldest buffered frame at which the flusher thread
            writes the buffer (20 ms, well inside SPEC §5.2's 50 ms).
        on_error: called once per new write failure (not once per retry).
        on_recover: called when writing works again after a failure.
        flush_threshold: buffered bytes at which ``append`` itself writes (a memory bound).
        retry_interval: back-off before automatic retries after a failure.

    Raises:
        LogExhausted: ``next_seq`` is past the largest seq the format allows (u64).
    """

    def __init__(
        self,
        path: Path,
        *,
        next_seq: int,
        flush_interval: float = FLUSH_INTERVAL,
        on_error: Callable[[Exception], None] | None = None,
        on_recover: Callable[[], None] | None = None,
        flush_threshold: int = FLUSH_THRESHOLD,
        retry_interval: float = RETRY_INTERVAL,
    ) -> None:
        if next_seq > MAX_SEQ:
            raise LogExhausted(path)
        self.path = Path(path)
        self.next_seq = next_seq
        self.write_error: Exception | None = None
        self.flush_interval = flush_interval
        self.flush_threshold = flush_threshold
        self.retry_interval = retry_interval
        self._on_error = on_error
        self.on_recover = on_recover
        self._buf = bytearray()
        self._inflight = 0  # bytes taken out of _buf by a write in progress
        self._pending_since: float | None = None  # monotonic time _buf became non-empty
        self._fd = -1
        self._size = 0  # bytes of the file known to hold complete lines (ours to cut back to)
        self._end = -1  # the file's size once everything appended is written (-1: unknown)
        self._truncate_to: int | None = None  # torn tail still to cut off
        self._closed = False  # no more appends
        self._retry_at = 0.0  # monotonic time before which automatic flushes wait
        self._ts_sec = -1  # recorded_at prefix cache (the date part changes once a second)
        self._ts_prefix = ""
        # _buf_lock guards the buffer (held briefly); _write_lock serialises writers so
        # bytes reach the file in order; _sync_lock keeps close() from closing the fd
        # under an fsync running in another thread.
        self._buf_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        try:
            self._ensure_open()
            self._end = self._size
        except OSError as exc:
            self._failed(exc)
        _flusher.register(self)

    @classmethod
    def open(cls, path: Path, load: LoadResult, **kw: Any) -> ReplayLog:
        """Continue the log that ``load`` was read from.

        A torn tail is cut back to ``load.valid_size`` before anything is appended (now,
        or before the first write if the file cannot be changed yet); a complete last
        line missing its newline gets one. ``next_seq`` continues from ``load.max_seq``.

        Raises:
            LogExhausted: the log already holds the largest seq the format allows.
        """
        if load.max_seq >= MAX_SEQ:
            raise LogExhausted(path)
        self = cls(path, next_seq=load.max_seq + 1, **kw)
        if load.torn_tail:
            self._truncate_to = load.valid_size
        if load.missing_newline:
            self._buf += b"\n"
            self._mark_pending()
        self._end = load.valid_size + len(self._buf)
        if load.torn_tail:
            with self._write_lock:
                try:
                    self._fix_tail()
                except OSError as exc:
                    self._failed(exc)
        return self

    @property
    def on_error(self) -> Callable[[Exception], None] | None:
        """Failure callback. Assigning one while a failure is unresolved (say the file
        could not be opened in ``__init__``) reports that failure to it at once, so a
        callback attached after construction misses nothing."""
        return self._on_error

    @on_error.setter
    def on_error(self, callback: Callable[[Exception], None] | None) -> None:
        self._on_error = callback
        if callback is not None and self.write_error is not None:
            self._notify_error(self.write_error)

    # ---------------------------------------------------------------- appending

    @property
    def end_offset(self) -> int | None:
        """The file's size once every record appended so far is written (None: unknown,
        the file could not be opened). Read it on the thread that appends: it then counts
        exactly the records that thread has appended, buffered ones included."""
        return self._end if self._end >= 0 else None

    @property
    def pending_bytes(self) -> int:
        """Bytes recorded but not yet handed to the OS."""
        return len(self._buf) + self._inflight

    def append(
        self,
        frame: dict[str, Any] | bytes,
        segment_id: int,
        *,
        recorded_at: str | None = None,
        checked: bool = False,
    ) -> Record[Any]:
        """Record one frame and return its :class:`Record` (``frame`` as given).

        ``frame`` is a JSON-compatible object, or an agent's line as received (bytes),
        which is embedded byte for byte. Raises ``ValueError``/``TypeError`` only for a
        frame that cannot be a JSON value (nothing is recorded, no seq is used); I/O
        problems never raise (see :attr:`write_error`). ``checked``: the caller vouches
        that the bytes are one UTF-8 JSON value msgspec decodes (it just decoded them), so
        they are not parsed a second time.
        """
        if self._closed:
            raise ValueError(f"append to closed replay log {self.path}")
        if type(segment_id) is not int or segment_id < 0:
            raise ValueError(f"segment_id must be an int >= 0, not {segment_id!r}")
        if type(frame) is dict:
            encodable: Any = frame
        elif isinstance(frame, bytes | bytearray | memoryview):
            try:
                encodable = msgspec.Raw(_raw_frame(frame, checked))
            except (msgspec.DecodeError, ValueError) as exc:
                raise ValueError(f"raw frame is not one UTF-8 JSON value: {exc}") from None
        else:
            encodable = frame
        if recorded_at is None:
            # now_rfc3339() inlined: this runs for every frame (SPEC §7: 200k frames/s).
            ns = _time_ns()
            sec = ns // 1_000_000_000
            if sec != self._ts_sec:
                self._ts_sec = sec
                self._ts_prefix = format_rfc3339(ns)[:-11]
            recorded_at = f"{self._ts_prefix}.{ns - sec * 1_000_000_000:09d}Z"
        with self._buf_lock:
            buf = self._buf
            seq = self.next_seq
            if seq > MAX_SEQ:
                raise LogExhausted(self.path)
            rec: Record[Any] = Record(FORMAT_VERSION, seq, segment_id, recorded_at, encodable)
            start = len(buf)
            try:
                _encode_into(rec, buf, -1)
            except BaseException:
                del buf[start:]  # never leave half a line behind
                raise
            buf.append(10)  # b"\n"
            self.next_seq = seq + 1
            size = len(buf)
            if self._end >= 0:
                self._end += size - start
            first = self._pending_since is None
            if first:
                self._pending_since = _monotonic()
        rec.frame = frame
        if first:
            _flusher.poke()
        if size >= self.flush_threshold:
            self._auto_flush()
        return rec

    # ---------------------------------------------------------------- writing

    def flush(self) -> None:
        """Hand every buffered line to the OS now (``os.write``, no fsync)."""
        if self._closed:
            self.retry_unwritten()
            return
        with self._write_lock:
            self._write_out()

    def sync(self) -> None:
        """:meth:`flush`, then ``fsync``: the lines survive a power loss.

        Blocks on the disk; from async code use ``await asyncio.to_thread(log.sync)``
        or :meth:`sync_async`.
        """
        if self._closed:
            self.retry_unwritten()
            return
        with self._sync_lock:
            with self._write_lock:
                ok = self._write_out()
                fd = self._fd
            if fd < 0:
                return
            try:
                os.fsync(fd)
            except OSError as exc:
                self._failed(exc)
            else:
                if ok:
                    self._recovered()

    async def sync_async(self) -> None:
        """:meth:`sync` in a worker thread, keeping the event loop free."""
        await asyncio.to_thread(self.sync)

    async def close_async(self) -> int:
        """:meth:`close` in a worker thread, keeping the event loop free."""
        return await asyncio.to_thread(self.close)

    def close(self) -> int:
        """Sync and close (idempotent); returns the bytes that could not be written.

        Those bytes are **kept** (:attr:`unwritten`), never dropped here: the flusher
        thread keeps retrying them every ``retry_interval``; :meth:`retry_unwritten`
        tries at once, :meth:`save_unwritten` puts them elsewhere and
        :meth:`drop_unwritten` gives them up.
        """
        if self._closed:
            return self.pending_bytes
        self._closed = True  # no more appends; what is buffered still gets written
        left = self.retry_unwritten()
        if left:
            _log.error(
                "replay log %s closed with %d bytes (%d frames) not yet written: %s",
                self.path,
                left,
                self.unwritten_frames,
                self.write_error,
            )
        return left

    @property
    def closed(self) -> bool:
        """True after :meth:`close` (appends are refused; unwritten bytes may remain)."""
        return self._closed

    @property
    def unwritten(self) -> bytes:
        """Whole log lines recorded but not on disk, continuing the file exactly."""
        with self._buf_lock:
            return bytes(self._buf)

    @property
    def unwritten_frames(self) -> int:
        """How many records :attr:`unwritten` holds."""
        with self._buf_lock:
            return self._buf.count(b"\n") - (1 if self._buf[:1] == b"\n" else 0)

    def retry_unwritten(self) -> int:
        """A closed log: write (and fsync) what is still buffered, then close the file
        again. Returns the bytes still unwritten (an open log: :meth:`sync`)."""
        if not self._closed:
            self.sync()
            return self.pending_bytes
        with self._sync_lock, self._write_lock:
            self._retry_at = 0.0
            if self._write_out() and self._fd >= 0:
                try:
                    os.fsync(self._fd)
                except OSError as exc:
                    self._failed(exc)
            self._close_fd()
            if not self._buf:
                _flusher.unregister(self)
            return self.pending_bytes

    def save_unwritten(self, dest: Path) -> int:
        """Write :attr:`unwritten` to a new file ``dest`` (0600, fsynced) and forget it.

        The file holds whole records that continue the log: once there is space,
        ``cat dest >> log`` restores the room exactly. Returns the bytes saved; raises
        ``OSError`` (and keeps the bytes) if ``dest`` cannot be written or exists.
        """
        with self._write_lock:
            data = self.unwritten
            if not data:
                return 0
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                view = memoryview(data)
                pos = 0
                while pos < len(data):
                    pos += os.write(fd, view[pos:])
                os.fsync(fd)
            except BaseException:
                os.close(fd)
                with contextlib.suppress(OSError):
                    os.unlink(dest)
                raise
            os.close(fd)
            with self._buf_lock:
                del self._buf[: len(data)]
                if not self._buf:
                    self._pending_since = None
            _log.warning(
                "replay log %s: %d unwritten bytes saved to %s", self.path, len(data), dest
            )
            if self._closed and not self._buf:
                _flusher.unregister(self)
            return len(data)

    def drop_unwritten(self) -> int:
        """Give up the bytes a closed log could not write; returns how many (logged)."""
        with self._write_lock, self._buf_lock:
            dropped = len(self._buf)
            self._buf.clear()
            self._pending_since = None
        if dropped:
            _log.error("replay log %s: %d unwritten bytes dropped by the user", self.path, dropped)
        if self._closed:
            _flusher.unregister(self)
        return dropped

    def __enter__(self) -> ReplayLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---------------------------------------------------------------- internals

    def _ensure_open(self) -> None:
        if self._fd >= 0:
            return
        ensure_private_dir(self.path.parent)
        fd = open_private(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.fchmod(fd, 0o600)  # an older file may have looser rights; transcripts hold secrets
            self._size = os.fstat(fd).st_size
        except OSError:
            os.close(fd)
            raise
        self._fd = fd

    def _close_fd(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _fix_tail(self) -> None:
        """Cut a torn last line off (caller holds ``_write_lock``)."""
        if self._truncate_to is None:
            return
        self._ensure_open()
        # Only ever shrink: ftruncate past the end would pad the log with NULs.
        if os.fstat(self._fd).st_size > self._truncate_to:
            os.ftruncate(self._fd, self._truncate_to)
        self._size = min(self._size, self._truncate_to)
        self._truncate_to = None

    def _mark_pending(self) -> None:
        with self._buf_lock:
            if self._buf and self._pending_since is None:
                self._pending_since = _monotonic()
        _flusher.poke()

    def _write_out(self) -> bool:
        """Write the buffer (caller holds ``_write_lock``); True if nothing is left.

        The buffer is swapped out so appends can continue while the OS write runs. On
        failure the file is cut back to its last complete line and the rest goes back in
        front of anything appended since, so nothing is lost, duplicated or reordered, and
        the file never keeps half a record.
        """
        try:
            self._ensure_open()  # a failed open (e.g. EACCES) is retried here
            self._fix_tail()
        except OSError as exc:
            self._failed(exc)
            return False
        with self._buf_lock:
            data, self._buf = self._buf, bytearray()
            since, self._pending_since = self._pending_since, None
            self._inflight = len(data)
        if not data:
            return True
        pos = 0
        view = memoryview(data)
        try:
            while pos < len(data):
                n = _os_write(self._fd, view[pos:])
                if n <= 0:
                    raise OSError(errno.EIO, "write() made no progress")
                pos += n
                self._inflight = len(data) - pos
        except OSError as exc:
            view.release()
            keep = data.rfind(b"\n", 0, pos) + 1  # whole lines that made it
            if keep < pos:
                try:
                    os.ftruncate(self._fd, self._size + keep)
                except OSError:
                    keep = pos  # cannot cut: the rest of the line follows what is there
            self._size += keep
            with self._buf_lock:
                self._buf[0:0] = data[keep:]
                self._inflight = 0
                self._pending_since = since if since is not None else _monotonic()
            self._failed(exc)
            return False
        view.release()
        self._size += len(data)
        self._inflight = 0
        self._recovered()
        return True

    def _flush_due(self) -> float | None:
        """Monotonic time at which the flusher should write this log (None: nothing to)."""
        since = self._pending_since
        if since is None:
            return None
        return max(since + self.flush_interval, self._retry_at)

    def _background_flush(self) -> None:
        """The flusher thread's write: it may wait for the write lock (the UI never does)."""
        if self._closed:
            self.retry_unwritten()  # bytes a closing log could not write: keep trying
            return
        with self._write_lock:
            self._write_out()

    def _auto_flush(self) -> None:
        """Write now unless backing off after a failure or another thread is writing.

        Called by ``append`` past the size threshold: never wait for a lock that another
        thread may hold across a slow write.
        """
        if time.monotonic() < self._retry_at:
            return
        if not self._write_lock.acquire(blocking=False):
            return
        try:
            self._write_out()
        finally:
            self._write_lock.release()

    def _failed(self, exc: Exception) -> None:
        self._retry_at = time.monotonic() + self.retry_interval
        first = self.write_error is None
        self.write_error = exc
        if not first:
            return
        _log.warning("replay log %s: write failed, frames kept in memory: %s", self.path, exc)
        self._notify_error(exc)

    def _notify_error(self, exc: Exception) -> None:
        if self._on_error is not None:
            try:
                self._on_error(exc)
            except Exception:  # noqa: BLE001 - a broken callback must not stop recording
                _log.exception("replay log on_error callback failed")

    def _recovered(self) -> None:
        if self.write_error is None:
            return
        self.write_error = None
        self._retry_at = 0.0
        _log.warning("replay log %s: writing works again", self.path)
        if self.on_recover is not None:
            try:
                self.on_recover()
            except Exception:  # noqa: BLE001
                _log.exception("replay log on_recover callback failed")


# -------------------------------------------------------------------- other files


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temp file, fsync, rename), 0600.

    Readers see the old or the new file, never half of one. Raises on failure (the
    old file is then untouched and the temp file removed).
    """
    path = Path(path)
    payload = msgspec.json.format(msgspec.json.encode(data), indent=2) + b"\n"
    ensure_private_dir(path.parent)
    replace_atomically(path, payload)
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename durable; best effort (not every filesystem allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def archive_room(rooms_dir: Path, room_id: str) -> Path:
    """Move a room's log and metadata to ``archive/<id>-<UTC time>/``; never deletes.

    Returns the archive directory. Raises ``ValueError`` for an invalid id and
    ``FileNotFoundError`` if the room has neither file.
    """
    if not room_id_ok(room_id):
        raise ValueError(f"invalid room id {room_id!r}")
    rooms_dir = Path(rooms_dir)
    files = [rooms_dir / (room_id + s) for s in (LOG_SUFFIX, META_SUFFIX)]
    present = [p for p in files if p.exists()]
    if not present:
        raise FileNotFoundError(f"room {room_id} has no files in {rooms_dir}")
    archive = rooms_dir / ARCHIVE_DIR_NAME
    ensure_private_dir(archive)
    stamp = format_rfc3339(time.time_ns())[:19].replace("-", "").replace(":", "") + "Z"
    dest = archive / f"{room_id}-{stamp}"
    n = 1
    while True:
        try:
            dest.mkdir(mode=0o700)
            break
        except FileExistsError:
            n += 1
            dest = archive / f"{room_id}-{stamp}-{n}"
    for p in present:
        os.rename(p, dest / p.name)  # same filesystem: atomic, and the data never moves
    fsync_dir(rooms_dir)
    return dest
