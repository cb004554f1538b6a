"""Run the real amux with a disk that fills up on demand (tests/test_quit_unwritten.py).

Usage: ``python amux_disk_full.py [AMUX ARGS…]``, as ``python -m amux_tui``.

``SIGUSR1`` makes every file write past its first byte fail, as a full disk does: the
process's ``RLIMIT_FSIZE`` drops to 1 byte with ``SIGXFSZ`` ignored, so the kernel
answers ``EFBIG`` (a real failed ``write``, not a mock). ``SIGUSR2`` gives the space back.
Agents were started before and keep their own limits.
"""

from __future__ import annotations

import resource
import runpy
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
_soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
signal.signal(signal.SIGUSR1, lambda *_: resource.setrlimit(resource.RLIMIT_FSIZE, (1, _hard)))
signal.signal(signal.SIGUSR2, lambda *_: resource.setrlimit(resource.RLIMIT_FSIZE, (_soft, _hard)))
sys.argv = ["amux", *sys.argv[1:]]
runpy.run_module("amux_tui", run_name="__main__", alter_sys=True)
