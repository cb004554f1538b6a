"""amux's private home, verified the way ssh verifies ``~/.ssh`` (SPEC §5.1).

Transcripts hold secrets and room metadata names the command amux runs, so everything
amux keeps must be out of reach of other local users:

* directories amux creates are ``0700``, including every missing parent it creates
  (``Path.mkdir(parents=True)`` would give parents the umask's mode);
* an existing directory or file that another user owns, or that group or others may
  write, is refused with :class:`UnsafePath`, whose message names it and the fix;
* files are opened without following symbolic links and only as regular files
  (``O_NOFOLLOW``, then ``fstat``/``S_ISREG``), non-blocking while opening so a FIFO in
  place of a log cannot hang amux, and reads are bounded so ``/dev/zero`` cannot
  exhaust memory.

Imports nothing of amux.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = [
    "NotRegularFile",
    "UnsafePath",
    "check_dir",
    "ensure_private_dir",
    "open_private",
    "read_private",
]

DIR_MODE = 0o700
FILE_MODE = 0o600
_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH
_OPEN_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a symbolic link",
}


class UnsafePath(OSError):
    """A file or directory of amux's home that amux refuses to use; the message says
    what is wrong with it and how to fix it."""

    def __init__(self, path: Path | str, problem: str, fix: str) -> None:
        self.path = Path(path)
        self.problem = problem
        self.fix = fix
        super().__init__(errno.EPERM, f"{self.path} {problem}; {fix}")

    def __str__(self) -> str:
        return f"{self.path} {self.problem}; {self.fix}"


class NotRegularFile(UnsafePath):
    """Something other than a regular file (a directory, FIFO, device, symlink…) sits
    where amux keeps a file."""


def _kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def _check_owner_and_mode(path: Path, st: os.stat_result, *, directory: bool) -> None:
    uid = os.geteuid()
    chmod = f"chmod {'700' if directory else '600'} {path}"
    if st.st_uid != uid:
        raise UnsafePath(
            path,
            f"is owned by uid {st.st_uid}, not by you (uid {uid})",
            f"amux only uses files you own: check who made it, then `chown {uid} {path}`",
        )
    if st.st_mode & _OTHERS_WRITE:
        who = "group and others" if st.st_mode & stat.S_IWOTH else "its group"
        raise UnsafePath(
            path, f"is writable by {who} (mode {stat.S_IMODE(st.st_mode):04o})", f"run `{chmod}`"
        )


def check_dir(path: Path) -> None:
    """Refuse an existing directory that is not a directory, not yours, or writable by
    others (raises :class:`UnsafePath`; ``FileNotFoundError`` if it does not exist)."""
    path = Path(path)
    st = os.stat(path)  # a symlinked home is fine when its target passes the checks
    if not stat.S_ISDIR(st.st_mode):
        raise NotRegularFile(path, f"is {_kind(st.st_mode)}, not a directory", "move it away")
    _check_owner_and_mode(path, st, directory=True)


def ensure_private_dir(path: Path) -> Path:
    """``mkdir -p`` where every directory created is ``0700``; the directory (new or
    existing) is then verified with :func:`check_dir`. Returns ``path``."""
    path = Path(path)
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile (another amux command): verified below if it is ours
        os.chmod(directory, DIR_MODE)  # whatever the umask (even 0777) left of it
    check_dir(path)
    return path


def open_private(
    path: Path, flags: int = os.O_RDONLY, mode: int = FILE_MODE, *, follow_symlinks: bool = False
) -> int:
    """Open a file of amux's home; returns a blocking file descriptor.

    Never follows a symbolic link (unless ``follow_symlinks``: the hand-edited config
    may be a dotfile manager's link; its target is checked), never blocks on a FIFO, and
    refuses anything but a regular file that you own and others cannot write
    (:class:`UnsafePath`). With ``os.O_CREAT`` in ``flags`` a new file gets ``mode``
    (0600) whatever the umask.
    """
    path = Path(path)
    extra = _OPEN_FLAGS & ~os.O_NOFOLLOW if follow_symlinks else _OPEN_FLAGS
    try:
        fd = os.open(path, flags | extra, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegularFile(path, "is a symbolic link", "replace it with the file") from None
        if exc.errno == errno.ENXIO:  # O_WRONLY|O_NONBLOCK on a FIFO nobody reads
            raise NotRegularFile(path, "is a FIFO", "move it away") from None
        if exc.errno == errno.EISDIR:
            raise NotRegularFile(path, "is a directory", "move it away") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(path, f"is {_kind(st.st_mode)}", "move it away")
        _check_owner_and_mode(path, st, directory=False)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_private(path: Path, limit: int, *, follow_symlinks: bool = False) -> bytes:
    """The contents of a small private file (metadata, layout, config) via
    :func:`open_private`; more than ``limit`` bytes is refused (``ValueError``), so a
    file that never ends cannot exhaust memory."""
    fd = open_private(path, follow_symlinks=follow_symlinks)
    with os.fdopen(fd, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path} is larger than {limit} bytes")
    return data
