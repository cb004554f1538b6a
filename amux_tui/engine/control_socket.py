"""The control socket's file: where it lives, binding it safely, connecting, peer credentials.

The socket is ``<rooms_dir>/control.sock``: a Unix stream socket (never TCP), mode 0600
inside the 0700 rooms directory, and every connection is checked again by the kernel's
account of who connected (``SO_PEERCRED``): only the user amux runs as may drive it.
Shared by the server (:mod:`amux_tui.engine.control`) and the CLI's client.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

SOCKET_NAME = "control.sock"
# sun_path holds 108 bytes on Linux, 104 on macOS (with the NUL); longer paths go through
# a short /proc/self/fd alias of the directory (Linux) or are refused.
_MAX_SUN_PATH = 100


def socket_path(rooms_dir: Path) -> Path:
    """Where the running amux of ``rooms_dir`` listens."""
    return Path(rooms_dir) / SOCKET_NAME


@contextlib.contextmanager
def addressable(path: Path) -> Iterator[str]:
    """A name for ``path`` that fits in ``sun_path``: the path itself when short enough,
    else ``/proc/self/fd/N/<name>`` through a descriptor of its directory (Linux)."""
    if len(os.fsencode(path)) <= _MAX_SUN_PATH:
        yield str(path)
        return
    if not os.path.isdir("/proc/self/fd"):
        raise OSError(errno.ENAMETOOLONG, "path too long for a Unix socket", str(path))
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def connect(path: Path, timeout: float | None = 5.0) -> socket.socket:
    """A connected (blocking) client socket; raises ``OSError`` (ENOENT, ECONNREFUSED…)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        with addressable(path) as name:
            sock.connect(name)
    except BaseException:
        sock.close()
        raise
    return sock


def is_live(path: Path) -> bool:
    """Whether something accepts connections on ``path`` (False: missing or stale)."""
    try:
        connect(path, timeout=1.0).close()
    except OSError:
        return False
    return True


def bind(path: Path, backlog: int = 64) -> tuple[socket.socket, int]:
    """Listen on ``path`` (mode 0600); returns the socket and the file's inode.

    The caller holds the rooms lock, so a socket file already there was left by an amux
    that died without cleaning up (a crash, ``kill -9``): it is replaced. Anything that is
    not a socket is left alone and reported. The socket is bound under a temporary name,
    restricted to 0600, then renamed into place, so ``path`` never exists with looser
    rights and a stale file is replaced atomically.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISSOCK(st.st_mode):
        raise OSError(errno.EEXIST, "exists and is not a socket; move it away", str(path))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with addressable(tmp) as name:
            sock.bind(name)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        sock.listen(backlog)
        sock.setblocking(False)
        inode = os.lstat(path).st_ino
    except BaseException:
        sock.close()
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return sock, inode


def unlink_if_ours(path: Path, inode: int) -> None:
    """Remove ``path`` if it is still the socket we bound (not a newer amux's)."""
    with contextlib.suppress(OSError):
        if os.lstat(path).st_ino == inode:
            os.unlink(path)


class PeerCredentials(NamedTuple):
    pid: int | None
    uid: int


def peer_credentials(sock: socket.socket) -> PeerCredentials | None:
    """Who is at the other end of a connected Unix socket, as the kernel says.

    ``SO_PEERCRED`` on Linux, ``LOCAL_PEERCRED`` (``struct xucred``) on macOS and the
    BSDs; None when the platform offers neither (callers then refuse the peer).
    """
    if hasattr(socket, "SO_PEERCRED"):
        size = struct.calcsize("3i")
        data = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, size)
        pid, uid, _gid = struct.unpack("3i", data)
        return PeerCredentials(pid, uid)
    local_peercred = getattr(socket, "LOCAL_PEERCRED", None)
    if local_peercred is not None:  # pragma: no cover - not Linux
        data = sock.getsockopt(0, local_peercred, struct.calcsize("2I"))
        _version, uid = struct.unpack("2I", data[: struct.calcsize("2I")])
        return PeerCredentials(None, uid)
    return None  # pragma: no cover


def peer_allowed(creds: PeerCredentials | None, uid: int | None = None) -> bool:
    """Only the user amux runs as (``uid``, default the effective uid) may connect."""
    return creds is not None and creds.uid == (os.geteuid() if uid is None else uid)
