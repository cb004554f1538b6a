"""Replay store durability: kill -9, write failures (injected and real), failed opens."""

from __future__ import annotations

import errno
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import fill_up, wait_for

from amux_tui.engine import store
from amux_tui.engine.store import LoadResult, ReplayLog, load_log

REPO = Path(__file__).resolve().parent.parent
HELPER = REPO / "tests" / "helpers" / "append_forever.py"


def frame(i: int) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": "session/update", "params": {"i": i, "pad": "p" * (i % 50)}}


def assert_complete_log(path: Path, n: int) -> None:
    """Every frame 1..n is in the file exactly once, in order, and nothing else."""
    res = load_log(path, decode_frames=True)
    assert res.bad_lines == 0 and not res.torn_tail and not res.missing_newline
    assert [r.seq for r in res.records] == list(range(1, n + 1))
    assert [r.frame["params"]["i"] for r in res.records] == list(range(1, n + 1))


# ------------------------------------------------------------------ kill -9

# A frame appended at time t must reach the OS by t + 50 ms: the flusher's deadline is
# checked in test_store.py (test_flusher_writes_within_flush_interval_without_the_event_loop),
# the age of what a kill really loses is measured by benchmarks/soak_kill.py. Here, the
# child's flush threshold is 1 GiB and it never calls flush(), so the flusher thread is the
# only way anything reaches the file; the child reports each complete write ("w <seq>"),
# and whatever it reported before the kill must be in the file after it. No clock decides
# the outcome, so a busy machine that runs the flusher late cannot fail the test.


@pytest.mark.parametrize("writes", [3, 12])
def test_kill_9_loses_nothing_the_flusher_wrote(tmp_path: Path, writes: int) -> None:
    path = tmp_path / "rooms" / "r-kill.jsonl"
    child = subprocess.Popen(
        [sys.executable, str(HELPER), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    written: list[int] = []  # "every record up to seq is written", in report order

    def reader() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            kind, seq = line.split()
            if kind == b"w":
                written.append(int(seq))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while len(written) < writes or written[-1] <= 100:  # the child really ran for a while
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            raise AssertionError(f"flusher writes reported: {written}; {child.stderr.read()!r}")
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    thread.join(timeout=30)
    # Every report, including those still in the pipe at the kill, was printed after
    # its write had completed: those records were in the OS's hands before the kill.
    must_have = max(written)

    res = load_log(path)
    assert res.bad_lines == 0  # at most a torn tail, never a corrupt record
    seqs = [r.seq for r in res.records]
    assert seqs == list(range(1, len(seqs) + 1))
    assert res.max_seq >= must_have, (res.max_seq, must_have, written[-3:])
    # The log reopens cleanly and continues.
    with ReplayLog.open(path, res) as log:
        assert log.append(frame(0), 1).seq == res.max_seq + 1
    after = load_log(path)
    assert after.bad_lines == 0 and not after.torn_tail and after.max_seq == res.max_seq + 1


# ------------------------------------------------------------------ injected faults


class FlakyDisk:
    """Stands in for os.write: writes ``budget`` more bytes (partially if needed), then ENOSPC."""

    def __init__(self) -> None:
        self.budget: int | None = None  # None = healthy
        self.calls = 0
        self.times: list[float] = []  # time.monotonic() of every call

    def __call__(self, fd: int, data: Any) -> int:
        self.calls += 1
        self.times.append(time.monotonic())
        if self.budget is None:
            return os.write(fd, data)
        if self.budget <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = os.write(fd, bytes(data[: self.budget]))
        self.budget -= n
        return n


def test_write_failure_keeps_frames_in_memory_and_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = FlakyDisk()
    monkeypatch.setattr(store, "_os_write", disk)
    errors: list[Exception] = []
    recoveries: list[bool] = []
    path = tmp_path / "r.jsonl"
    log = ReplayLog.open(
        path, load_log(path), on_error=errors.append, on_recover=lambda: recoveries.append(True)
    )
    for i in range(1, 11):
        log.append(frame(i), 1)
    log.flush()
    assert_complete_log(path, 10)

    disk.budget = 150  # the disk fills up in the middle of a line
    for i in range(11, 41):
        rec = log.append(frame(i), 1)  # never raises
        assert rec.seq == i
    log.flush()
    assert isinstance(log.write_error, OSError) and log.write_error.errno == errno.ENOSPC
    assert len(errors) == 1 and errors[0] is log.write_error
    pending = log.pending_bytes
    assert pending > 0
    log.flush()  # still full: no duplicate on_error, nothing written, nothing lost
    log.sync()
    assert len(errors) == 1 and log.pending_bytes == pending
    for i in range(41, 51):
        log.append(frame(i), 1)
    on_disk = path.read_bytes()
    assert disk.budget == 0  # the disk took 150 more bytes, i.e. half a line…
    assert on_disk.endswith(b"\n")  # …which was cut back: only whole records on disk
    assert not load_log(path).torn_tail
    assert log.unwritten.startswith(b'{"v":1,"seq":')  # the buffer continues it exactly

    disk.budget = None  # space freed
    log.flush()
    assert log.write_error is None and recoveries == [True]
    assert log.pending_bytes == 0
    log.close()
    assert path.read_bytes().startswith(on_disk)
    assert_complete_log(path, 50)


async def test_flusher_retries_after_a_write_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = FlakyDisk()
    disk.budget = 0
    monkeypatch.setattr(store, "_os_write", disk)
    errors: list[Exception] = []
    path = tmp_path / "r.jsonl"
    log = ReplayLog.open(path, load_log(path), on_error=errors.append, retry_interval=0.1)
    for i in range(1, 6):
        log.append(frame(i), 1)
    # The flusher thread retries by itself (no flush() call): wait for three attempts.
    await wait_for(lambda: disk.calls >= 3, what="two automatic retries")
    assert len(errors) == 1 and log.write_error is not None and log.pending_bytes > 0
    # Backing off rather than spinning: attempts are at least retry_interval apart. (Only
    # a lower bound, which a slow machine can only make larger.)
    gaps = [b - a for a, b in itertools.pairwise(disk.times)]
    assert gaps and min(gaps) >= 0.1 - 1e-6, gaps  # (1e-6: float rounding of the sums)
    disk.budget = None
    # No explicit flush: the flusher's next retry writes everything.
    await wait_for(lambda: log.pending_bytes == 0, what="the retry that succeeds")
    assert log.write_error is None and log.pending_bytes == 0
    assert_complete_log(path, 5)
    log.close()


def test_failed_open_is_retried(tmp_path: Path) -> None:
    # As root, permission bits do not stop writes, so use a fault root cannot bypass:
    # the log's directory is a regular file (ENOTDIR), until it is fixed.
    blocker = tmp_path / "rooms"
    blocker.write_text("not a directory")
    path = blocker / "r.jsonl"
    errors: list[Exception] = []
    log = ReplayLog.open(path, LoadResult())
    assert log.write_error is not None
    log.on_error = errors.append  # attached after the failure: still told about it
    assert len(errors) == 1 and errors[0] is log.write_error
    for i in range(1, 4):
        assert log.append(frame(i), 0).seq == i
    log.flush()
    assert log.pending_bytes > 0 and len(errors) == 1
    blocker.unlink()
    blocker.mkdir()
    log.flush()
    assert log.write_error is None and log.pending_bytes == 0
    log.close()
    assert_complete_log(path, 3)


def test_torn_tail_truncation_waits_for_a_writable_file(tmp_path: Path) -> None:
    """If the torn tail cannot be cut at open, it is cut before the first write."""
    path = tmp_path / "r.jsonl"
    path.write_bytes(
        json.dumps(
            {"v": 1, "seq": 1, "segment_id": 0, "recorded_at": "t", "frame": frame(1)},
            separators=(",", ":"),
        ).encode()
        + b'\n{"v":1,"se'
    )
    res = load_log(path)
    assert res.torn_tail
    moved = tmp_path / "elsewhere.jsonl"
    os.rename(path, moved)
    path.mkdir()  # the log path is now a directory: open fails with EISDIR
    log = ReplayLog.open(path, res)
    assert log.write_error is not None
    log.append(frame(2), 0)
    log.flush()
    assert log.pending_bytes > 0
    path.rmdir()
    os.rename(moved, path)
    log.close()
    assert_complete_log(path, 2)


# ------------------------------------------------------------------ real faults

_EFBIG_CHILD = textwrap.dedent(
    """
    import json, resource, signal, sys
    from pathlib import Path
    from amux_tui.engine.store import ReplayLog, load_log

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of dying
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    path = Path(sys.argv[1])
    errors = []
    log = ReplayLog.open(path, load_log(path), on_error=lambda e: errors.append(e.errno))
    resource.setrlimit(resource.RLIMIT_FSIZE, (3000, hard))  # a tiny "disk"
    frame = lambda i: {"jsonrpc": "2.0", "method": "session/update", "params": {"i": i, "pad": "p" * (i % 50)}}
    for i in range(1, 61):
        log.append(frame(i), 1)
        if i % 7 == 0:
            log.flush()
    full = {"size": path.stat().st_size, "pending": log.pending_bytes,
            "error": getattr(log.write_error, "errno", None),
            "ends_with_newline": path.read_bytes().endswith(b"\\n")}
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space is back
    log.close()
    print(json.dumps({"full": full, "errors": errors, "after": log.write_error is None}))
    """
)


def test_real_write_failure_from_the_kernel(tmp_path: Path) -> None:
    """A real short write then EFBIG from the kernel (RLIMIT_FSIZE), in a child process."""
    path = tmp_path / "r.jsonl"
    out = subprocess.run(
        [sys.executable, "-c", _EFBIG_CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    # The kernel cut a write short at the limit; the half record was cut back off.
    assert 2500 < got["full"]["size"] <= 3000 and got["full"]["ends_with_newline"]
    assert got["full"]["pending"] > 0 and got["full"]["error"] == errno.EFBIG
    assert got["errors"] == [errno.EFBIG] and got["after"] is True
    assert_complete_log(path, 60)


@pytest.fixture
def tiny_tmpfs(mount_tmpfs: Any) -> Path:
    return mount_tmpfs("64k")


def test_real_disk_full_on_tmpfs(tiny_tmpfs: Path) -> None:
    rooms = tiny_tmpfs / "rooms"
    path = rooms / "r.jsonl"
    errors: list[Exception] = []
    log = ReplayLog.open(path, load_log(path), on_error=errors.append)
    filler = fill_up(tiny_tmpfs)  # take all the space that is left
    n = 0
    while log.write_error is None and n < 5000:
        n += 1
        log.append(frame(n), 1)
        log.flush()
    assert isinstance(log.write_error, OSError) and log.write_error.errno == errno.ENOSPC
    assert len(errors) == 1
    for _ in range(20):
        n += 1
        log.append(frame(n), 1)  # the room keeps recording in memory
    log.flush()
    assert log.pending_bytes > 0 and len(errors) == 1
    filler.unlink()
    log.flush()
    assert log.write_error is None and log.pending_bytes == 0
    log.close()
    assert_complete_log(path, n)


def test_kill_soak_smoke(tmp_path: Path) -> None:
    """One cycle of ``benchmarks/soak_kill.py`` (the figure is the benchmark's business):
    amux in a pty, two rooms flooding, SIGKILL; both agents report what amux read, every
    record in both logs is whole and in order, and the lost frames are accounted for."""
    import importlib.util
    import random

    spec = importlib.util.spec_from_file_location("soak_kill", REPO / "benchmarks" / "soak_kill.py")
    assert spec and spec.loader
    soak = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(soak)
    rows = soak.one_kill(tmp_path, 1_000_000, 0.2, 0.4, random.Random(1))
    assert len(rows) == 2
    for row in rows:
        assert row["records"] > 100 and row["bad"] == 0 and row["contiguous"], row
        assert row["lost"] is not None and row["age_bound_ms"] >= 0, row
