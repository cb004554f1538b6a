"""Notice a terminal that vanished without a SIGHUP (e.g. a pty whose master was closed).

Textual's writer then blocks and its input thread spins, so the event loop may never run
again: the check lives in its own thread and, when the terminal is gone, saves what the
engine holds synchronously and ends the process (agents are stopped, logs synced).
"""

from __future__ import annotations

import contextlib
import errno
import os
import termios
import threading
from collections.abc import Callable

_GONE = {errno.EIO, errno.ENOTTY, errno.EBADF, errno.ENXIO}


def terminal_alive(fd: int) -> bool:
    """False once the terminal behind ``fd`` has hung up (``tcgetattr`` fails with EIO)."""
    try:
        termios.tcgetattr(fd)
    except termios.error as exc:
        return exc.args[0] not in _GONE
    except OSError as exc:
        return exc.errno not in _GONE
    return True


def watch_terminal(
    fd: int, on_lost: Callable[[], None], *, interval: float = 1.0
) -> threading.Event:
    """Check ``fd`` every ``interval`` s in a daemon thread; set the returned event to stop."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval):
            if not terminal_alive(fd):
                with contextlib.suppress(Exception):
                    on_lost()
                os._exit(129)  # 128 + SIGHUP: what the lost terminal would have sent

    threading.Thread(target=run, name="amux-terminal-watch", daemon=True).start()
    return stop
