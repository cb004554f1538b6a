"""The single-writer lock on a rooms directory (SPEC §5.2).

Only one amux may append to the logs of a rooms directory. The owner holds
``fcntl.flock(LOCK_EX | LOCK_NB)`` on ``<rooms_dir>/.lock`` for its lifetime and writes
its pid there so a second amux can say who is in the way. flock locks die with the
process (including ``kill -9``), so a stale lock file never blocks anyone; the pid in it
is informational only. Read-only commands (``ls``, ``show``, ``export``, ``check``)
never take the lock.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from pathlib import Path

from amux_tui.private import ensure_private_dir, open_private

__all__ = [
    "LOCK_FILE_NAME",
    "RoomsLock",
    "StoreLockedError",
    "held_by_this_process",
    "recorded_holder",
]

LOCK_FILE_NAME = ".lock"

# Directories locked by this process (resolved path -> lock). flock conflicts between
# two descriptors of the *same* process too, so code that must only exclude *other*
# processes (check --repair inside a running amux) asks here first.
_held: dict[Path, RoomsLock] = {}
_held_guard = threading.Lock()


class StoreLockedError(Exception):
    """Another amux process owns the rooms directory."""

    def __init__(self, rooms_dir: Path, holder_pid: int | None) -> None:
        self.rooms_dir = rooms_dir
        self.holder_pid = holder_pid
        who = f"pid {holder_pid}" if holder_pid is not None else "pid unknown"
        super().__init__(f"rooms directory {rooms_dir} is in use by another amux ({who})")


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def recorded_holder(rooms_dir: Path) -> int | None:
    """The pid a running amux wrote into ``rooms_dir``'s lock file, if that process lives.

    Informational (it never takes the lock, which could make an amux starting at that
    moment fail): a pid left by a ``kill -9``'d amux may have been reused since.
    """
    try:
        fd = os.open(Path(rooms_dir) / LOCK_FILE_NAME, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        pid = _read_pid(fd)
    finally:
        os.close(fd)
    if pid is None:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, someone else's
    try:  # a killed amux whose parent has not reaped it yet is a zombie: gone all the same
        with open(f"/proc/{pid}/stat", "rb") as f:
            if f.read().rpartition(b")")[2].split()[:1] == [b"Z"]:
                return None
    except OSError:
        pass
    return pid


def held_by_this_process(rooms_dir: Path) -> bool:
    """Whether a :class:`RoomsLock` of this process currently holds ``rooms_dir``."""
    with _held_guard:
        return _resolve(rooms_dir) in _held


def _resolve(rooms_dir: Path) -> Path:
    return Path(os.path.realpath(rooms_dir))


class RoomsLock:
    """Exclusive, non-blocking lock on ``<rooms_dir>/.lock``.

    Use as a context manager or call :meth:`acquire` / :meth:`release`. The directory
    is created (0700) if missing; the lock file is 0600 and is never deleted (deleting
    it would let a second process lock a fresh inode while the first still runs).
    """

    def __init__(self, rooms_dir: Path) -> None:
        self.rooms_dir = Path(rooms_dir)
        self.path = self.rooms_dir / LOCK_FILE_NAME
        self._fd = -1

    @property
    def held(self) -> bool:
        """True between a successful :meth:`acquire` and :meth:`release`."""
        return self._fd >= 0

    def acquire(self) -> None:
        """Take the lock or raise :class:`StoreLockedError` naming the holder's pid."""
        if self._fd >= 0:
            return
        ensure_private_dir(self.rooms_dir)
        # Never through a symlink: the pid is written into (and truncated in) this file.
        fd = open_private(self.path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            pid = _read_pid(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StoreLockedError(self.rooms_dir, pid) from None
            raise
        try:
            os.fchmod(fd, 0o600)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            # The pid is a courtesy for the error message; the flock is what excludes.
            pass
        self._fd = fd
        with _held_guard:
            _held[_resolve(self.rooms_dir)] = self

    def release(self) -> None:
        """Give the lock up (idempotent)."""
        fd, self._fd = self._fd, -1
        if fd < 0:
            return
        with _held_guard:
            key = _resolve(self.rooms_dir)
            if _held.get(key) is self:
                del _held[key]
        try:
            os.ftruncate(fd, 0)  # so nobody reads our pid after we are gone
        except OSError:
            pass
        finally:
            os.close(fd)  # closing the descriptor drops the flock

    def __enter__(self) -> RoomsLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
