"""``AMUX_DEMO_STDOUT_REPORT``: what the client read of our stdout, and when.

For the kill -9 soak (``benchmarks/soak_kill.py``): amux is killed at a random moment,
and the question is how old the frames were that it had read but not yet written to its
log. Only this side of the pipe survives to say what amux had read:

* stdout is written non-blocking, so :attr:`StdoutAccount.written` is exactly what the
  kernel accepted at any moment;
* a sampler thread records, every millisecond, ``written - FIONREAD`` (the bytes the
  client has read), between two clock readings;
* when a write fails with EPIPE (the client is gone), the report goes to
  ``DIR/stdout-<pid>.json``: the samples of the last seconds and the end offset of every
  line of the recent writes (with its flood chunk number), so the soak can find when
  amux read each frame it lost.
"""

from __future__ import annotations

import array
import collections
import fcntl
import json
import os
import select
import termios
import threading
import time
from pathlib import Path

SAMPLE_EVERY = 0.001
KEEP_SAMPLES = 5000  # the last ~5 s
KEEP_WRITES = 16


def _unread(fd: int) -> int:
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count)
    return count[0]


class StdoutAccount:
    """Writes to ``fd`` with exact byte accounting; reports to ``report_dir`` on EPIPE."""

    def __init__(self, fd: int, report_dir: Path) -> None:
        self.fd = fd
        self.report_dir = report_dir
        self.written = 0
        self._lock = threading.Lock()
        self._recent: collections.deque[tuple[int, bytes]] = collections.deque(maxlen=KEEP_WRITES)
        self._samples: collections.deque[tuple[int, int, int]] = collections.deque(
            maxlen=KEEP_SAMPLES
        )
        self._done = threading.Event()
        os.set_blocking(fd, False)
        threading.Thread(target=self._sample, name="stdout-sampler", daemon=True).start()

    def write(self, data: bytes) -> bool:
        """Write all of ``data``; False (after reporting) when the client is gone."""
        with self._lock:
            self._recent.append((self.written, data))
        view = memoryview(data)
        pos = 0
        try:
            while pos < len(data):
                try:
                    with self._lock:
                        n = os.write(self.fd, view[pos:])
                        self.written += n
                    pos += n
                except BlockingIOError:
                    select.select([], [self.fd], [])
        except OSError:
            self._report()
            return False
        return True

    def _sample(self) -> None:
        while not self._done.is_set():
            before = time.time_ns()
            with self._lock:
                try:
                    consumed = self.written - _unread(self.fd)
                except OSError:
                    return
            self._samples.append((before, time.time_ns(), consumed))
            time.sleep(SAMPLE_EVERY)

    def _report(self) -> None:
        self._done.set()
        with self._lock:
            unread = _unread(self.fd)
            consumed = self.written - unread
            lines = []
            session = None
            for start, data in self._recent:
                end = start
                for line in data.split(b"\n")[:-1]:
                    end += len(line) + 1
                    number = _chunk_number(line)
                    lines.append([end, number])
                    if number is not None and session is None:
                        session = json.loads(line)["params"].get("sessionId")
        report = {
            "pid": os.getpid(),
            "at": time.time_ns(),
            "written": self.written,
            "unread": unread,
            "consumed": consumed,
            "sessionId": session,
            "samples": list(self._samples),  # [before_ns, after_ns, consumed], oldest first
            "lines": lines,  # [end offset, flood chunk number or None]
        }
        final = self.report_dir / f"stdout-{os.getpid()}.json"
        partial = final.with_suffix(".partial")
        partial.write_text(json.dumps(report))
        partial.rename(final)  # whoever waits for the report sees all of it or nothing


def _chunk_number(line: bytes) -> int | None:
    """N of a ``/flood`` chunk line (``"text":"chunk N "`` or ``"chunk N@T "``), else None."""
    at = line.find(b'"text":"chunk ')
    if at < 0:
        return None
    digits = line[at + 14 : line.find(b" ", at + 14)].partition(b"@")[0]
    return int(digits) if digits.isdigit() else None
