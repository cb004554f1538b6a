"""The agent subprocess against real fake-agent subprocesses (SPEC §3.1, §3.2, §8).

No mocks: every test spawns one of the scripts in ``tests/agents``. Each test bounds itself
with ``asyncio.timeout`` so a regression fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from amux_tui.acp import AgentExited, AgentProcess, AgentStartError, Frame, Kind, RpcError

AGENTS = Path(__file__).parent / "agents"
SCRIPTED = [sys.executable, str(AGENTS / "scripted.py")]


def agent(name: str, *args: str) -> list[str]:
    return [sys.executable, str(AGENTS / f"{name}.py"), *args]


class Recorder:
    """Collects everything an AgentProcess reports."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.stderr: list[str] = []
        self.exits: list[int] = []
        self.events: list[str] = []  # callback order across frames and responses
        self.changed = asyncio.Event()

    def on_frame(self, frame: Frame) -> None:
        self.frames.append(frame)
        self.events.append(f"{frame.kind}:{frame.method}")
        self.changed.set()

    def on_stderr(self, line: str) -> None:
        self.stderr.append(line)
        self.changed.set()

    def on_exit(self, code: int) -> None:
        self.exits.append(code)
        self.changed.set()

    async def until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    def received(self) -> list[dict[str, Any]]:
        """What the scripted agent reported reading from its stdin."""
        return [json.loads(s[5:]) for s in self.stderr if s.startswith("RECV ")]


@pytest.fixture
async def rec() -> Recorder:
    return Recorder()


@pytest.fixture
async def scripted(rec: Recorder, tmp_path: Path) -> AsyncIterator[AgentProcess]:
    proc = AgentProcess(
        SCRIPTED,
        cwd=tmp_path,
        on_frame=rec.on_frame,
        on_stderr=rec.on_stderr,
        on_exit=rec.on_exit,
    )
    await proc.start()
    yield proc
    await proc.stop(grace=1.0)


@pytest.fixture
def reaper() -> Iterator[list[int]]:
    """Pids of stubborn fake agents; SIGKILLed at teardown so a failing test leaks nothing."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"stubborn" in cmdline or b"time.sleep(600)" in cmdline:  # not a reused pid
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def process_gone(pid: int) -> bool:
    """True if ``pid`` no longer runs (a zombie awaiting its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2] == "Z"


async def wait_gone(pid: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process_gone(pid):
            return True
        await asyncio.sleep(0.02)
    return process_gone(pid)


def spy_signals(proc: AgentProcess) -> list[tuple[signal.Signals, float]]:
    """Record every signal ``proc`` sends to its group, with the time.monotonic() of it."""
    sent: list[tuple[signal.Signals, float]] = []
    send = proc._signal_group

    def spy(sig: signal.Signals) -> None:
        sent.append((sig, time.monotonic()))
        send(sig)

    proc._signal_group = spy  # type: ignore[method-assign]
    return sent


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


# --- 1. huge lines ----------------------------------------------------------------------


async def test_32_mib_line_arrives_intact_and_the_next_frame_too(
    rec: Recorder, tmp_path: Path
) -> None:
    size = 32 * 1024 * 1024
    proc = AgentProcess(agent("big_line", str(size)), cwd=tmp_path, on_frame=rec.on_frame)
    async with asyncio.timeout(20):
        await proc.start()
        await rec.until(lambda: len(rec.frames) >= 2)
        big, after = rec.frames
        assert big.kind is Kind.NOTIFICATION and big.method == "big"
        assert len(big.raw) == after.params["len"] > size
        assert hashlib.sha256(big.raw).hexdigest() == after.params["sha256"]
        assert len(big.params["data"]) == size
        assert after.method == "after"
        assert proc.invalid_lines == 0
        assert await proc.stop() == 0


async def test_line_over_the_limit_is_invalid_and_the_reader_resyncs(
    rec: Recorder, tmp_path: Path
) -> None:
    proc = AgentProcess(SCRIPTED, cwd=tmp_path, on_frame=rec.on_frame, line_limit=1000)
    async with asyncio.timeout(10):
        await proc.start()
        huge = json.dumps(
            {"jsonrpc": "2.0", "method": "huge", "params": {"x": "y" * 600_000}}
        )  # > one pipe read
        ok = json.dumps({"jsonrpc": "2.0", "method": "fits"})
        assert await proc.request("emit", {"lines": [huge, ok]}) == {"emitted": 2}
        assert [f.kind for f in rec.frames] == [Kind.INVALID, Kind.NOTIFICATION]
        assert rec.frames[0].problem is not None
        assert rec.frames[0].problem.startswith("line too long")
        assert str(len(huge)) in rec.frames[0].problem
        assert huge.encode().startswith(rec.frames[0].raw)
        assert rec.frames[1].method == "fits"
        assert proc.invalid_lines == 1
        await proc.stop()


# --- 2. garbage -------------------------------------------------------------------------


async def test_garbage_line_is_invalid_and_the_next_frame_arrives(
    scripted: AgentProcess, rec: Recorder
) -> None:
    note = '{"jsonrpc":"2.0","method":"session/update","params":{"n":1}}'
    async with asyncio.timeout(10):
        result = await scripted.request(
            "emit", {"lines": ["Traceback (most recent call last): garbage", "", "  ", note + "\r"]}
        )
    assert result == {"emitted": 4}
    assert [f.kind for f in rec.frames] == [Kind.INVALID, Kind.NOTIFICATION]  # blanks skipped
    assert rec.frames[0].raw == b"Traceback (most recent call last): garbage"
    assert rec.frames[0].problem is not None and rec.frames[0].problem.startswith("not JSON")
    assert rec.frames[1].raw == note.encode()  # \r stripped, bytes otherwise exact
    assert scripted.invalid_lines == 1


# --- 3. stderr flood --------------------------------------------------------------------


async def test_stderr_flood_is_drained_bounded_and_does_not_stall_stdout(
    rec: Recorder, tmp_path: Path
) -> None:
    mib = 100
    ticks: list[tuple[int, int]] = []  # (tick, stderr lines seen when it arrived)
    rss: list[int] = []
    count = 0

    def on_frame(frame: Frame) -> None:
        rec.on_frame(frame)
        if frame.method == "tick":
            ticks.append((frame.params["i"], count))
            rss.append(rss_bytes())

    def on_stderr(line: str) -> None:
        nonlocal count
        count += 1
        if count == 1 or not line.startswith("E"):
            rec.on_stderr(line)  # keep only a few lines: the test must not hold 100 MB itself

    before = rss_bytes()
    proc = AgentProcess(
        agent("stderr_flood", str(mib)),
        cwd=tmp_path,
        on_frame=on_frame,
        on_stderr=on_stderr,
        stderr_lines=500,
    )
    async with asyncio.timeout(25):
        await proc.start()
        await rec.until(lambda: any(f.method == "done" for f in rec.frames), timeout=25)
        total = rec.frames[-1].params["lines"]
        await proc.stop()

    assert [i for i, _ in ticks] == list(range(mib))
    # Frames arrived while stderr was still flowing, not all at the end.
    assert ticks[0][1] < total // 10
    assert count == total
    assert len(proc.stderr_tail) == 500
    assert proc.stderr_dropped == total - 500
    assert proc.stderr_tail[-1] == "last stderr line"
    # The 1 MiB line without a newline was truncated, for the ring and for on_stderr.
    assert rec.stderr[0].startswith("L" * 100)
    assert len(rec.stderr[0]) < AgentProcess.STDERR_LINE_MAX + 100
    assert "more bytes" in rec.stderr[0]
    growth = max(rss) - before
    assert growth < 64 * 1024 * 1024, f"RSS grew by {growth / 2**20:.0f} MiB"


# --- 4. stop ladder ---------------------------------------------------------------------


async def test_stop_kills_a_stubborn_agent_and_its_child(
    rec: Recorder, tmp_path: Path, reaper: list[int]
) -> None:
    proc = AgentProcess(
        agent("stubborn"), cwd=tmp_path, on_frame=rec.on_frame, on_stderr=rec.on_stderr
    )
    await proc.start()
    async with asyncio.timeout(10):
        await rec.until(lambda: bool(rec.frames) and "child ready" in rec.stderr)
    child = rec.frames[0].params["pid"]
    assert proc.pid is not None
    reaper += [proc.pid, child]
    assert os.getpgid(child) == proc.pid  # same group as the agent
    sent = spy_signals(proc)
    started = time.monotonic()
    async with asyncio.timeout(30):  # a hang guard only: the ladder is checked below
        code = await proc.stop()
    # The ladder, in order and nothing more: stdin closed, grace, SIGTERM, grace, SIGKILL.
    assert [sig for sig, _ in sent] == [signal.SIGTERM, signal.SIGKILL]
    # It really ignored stdin close and SIGTERM: each step waited its grace (2 s + 2 s).
    # (Lower bounds only, which a slow machine cannot break.)
    assert sent[0][1] - started > 1.9 and sent[1][1] - sent[0][1] > 1.9, (started, sent)
    assert code == -signal.SIGKILL
    assert not proc.running
    assert await wait_gone(proc.pid)
    assert await wait_gone(child), "the agent's child survived stop()"
    assert await proc.stop() == code  # idempotent


async def test_stop_reaches_children_an_exiting_agent_leaves_behind(
    rec: Recorder, tmp_path: Path, reaper: list[int]
) -> None:
    proc = AgentProcess(
        agent("stubborn", "polite-parent"),
        cwd=tmp_path,
        on_frame=rec.on_frame,
        on_stderr=rec.on_stderr,
        on_exit=rec.on_exit,
    )
    await proc.start()
    async with asyncio.timeout(30):
        await rec.until(lambda: bool(rec.frames) and "child ready" in rec.stderr)
        child = rec.frames[0].params["pid"]
        reaper.append(child)
        # 0: the parent exited on stdin close, before any signal (3 s leaves a busy machine
        # room for that; the stubborn child then costs one more grace).
        assert await proc.stop(grace=3.0) == 0
    assert await wait_gone(child), "orphaned child survived"
    assert rec.exits == [0]


async def test_polite_agent_stops_on_stdin_close(scripted: AgentProcess, rec: Recorder) -> None:
    sent = spy_signals(scripted)
    async with asyncio.timeout(60):  # a hang guard only
        # A generous grace: exiting on its own (no signal at all) is what is checked.
        assert await scripted.stop(grace=30) == 0
    assert sent == []  # stdin close alone stopped it: no SIGTERM, no SIGKILL
    assert rec.exits == [0]
    assert scripted.returncode == 0 and not scripted.running


async def test_agent_runs_in_its_own_session(scripted: AgentProcess) -> None:
    assert scripted.pid is not None
    assert os.getsid(scripted.pid) == scripted.pid != os.getsid(0)
    assert os.getpgid(scripted.pid) == scripted.pid


# --- 5. unknown agent requests ----------------------------------------------------------


async def test_agent_requests_get_method_not_found_without_on_frame(
    rec: Recorder, tmp_path: Path
) -> None:
    proc = AgentProcess(SCRIPTED, cwd=tmp_path, on_stderr=rec.on_stderr)
    async with asyncio.timeout(10):
        await proc.start()
        assert await proc.request("ask", {"id": 5, "method": "terminal/create"}) == {"asked": True}
        await rec.until(lambda: any(m.get("id") == 5 for m in rec.received()))
        await proc.stop()
    reply = next(m for m in rec.received() if m.get("id") == 5)
    assert reply["error"]["code"] == -32601
    assert reply["error"]["message"] == "Method not found"
    assert "result" not in reply


# --- 6. ids per direction ---------------------------------------------------------------


async def test_ids_are_per_direction(scripted: AgentProcess, rec: Recorder) -> None:
    order: list[str] = []

    def on_response(frame: Frame) -> None:
        rec.events.append("response")
        order.append(json.dumps(frame.result))

    async with asyncio.timeout(10):
        fut = scripted.send_request("collide", {}, on_response=on_response)
        frame = await fut
        # Our id space starts at 1, so this request collides with the agent's id 1.
        assert rec.received()[0]["id"] == 1
        assert frame.id == 1 and frame.result == {"ours": True}
        requests = [f for f in rec.frames if f.kind is Kind.REQUEST]
        assert [f.id for f in requests] == [1, 0, "abc"]
        # Exact stdout order: the three agent requests, then our response.
        assert rec.events == [
            "request:session/request_permission",
            "request:fs/read_text_file",
            "request:_x/custom",
            "response",
        ]
        assert scripted.unknown_responses == 1  # the stray id 4242
        for req in requests:
            scripted.respond(req.id, {"echo": req.params["n"]})
        await rec.until(lambda: len(rec.received()) == 4)
    replies = rec.received()[1:]
    assert [(r["id"], r["result"]) for r in replies] == [
        (1, {"echo": 1}),
        (0, {"echo": 0}),
        ("abc", {"echo": "abc"}),
    ]
    assert all(r["jsonrpc"] == "2.0" for r in replies)


async def test_respond_with_error_and_notify(scripted: AgentProcess, rec: Recorder) -> None:
    async with asyncio.timeout(10):
        scripted.respond(0, error={"code": -32800, "message": "cancelled"})
        scripted.notify("session/cancel", {"sessionId": "s1"})
        scripted.write_raw(b'{"jsonrpc":"2.0","method":"raw"}\n')
        await rec.until(lambda: len(rec.received()) == 3)
    assert rec.received() == [
        {"jsonrpc": "2.0", "id": 0, "error": {"code": -32800, "message": "cancelled"}},
        {"jsonrpc": "2.0", "method": "session/cancel", "params": {"sessionId": "s1"}},
        {"jsonrpc": "2.0", "method": "raw"},
    ]


# --- 7. errors, timeouts, death, spawn failures ------------------------------------------


async def test_error_response_raises_rpc_error(scripted: AgentProcess) -> None:
    error = {"code": -32000, "message": "Authentication required", "data": {"methods": ["x"]}}
    async with asyncio.timeout(10):
        with pytest.raises(RpcError) as info:
            await scripted.request("fail", error)
        assert await scripted.request("ping", {"a": 1}) == {"pong": {"a": 1}}
    assert info.value.code == -32000
    assert info.value.data == {"methods": ["x"]}
    assert "Authentication required" in str(info.value)


async def test_request_timeout_drops_the_pending_entry(scripted: AgentProcess) -> None:
    async with asyncio.timeout(30):
        started = time.monotonic()
        # Two requests that are never answered: the 0.3 s timeout fires first, whatever
        # the machine's speed (the same loop runs both timers), and not before 0.3 s.
        short = asyncio.ensure_future(scripted.request("sleep", None, timeout=0.3))
        long = asyncio.ensure_future(scripted.request("sleep", None, timeout=5))
        done, _ = await asyncio.wait({short, long}, return_when=asyncio.FIRST_COMPLETED)
        assert time.monotonic() - started > 0.25
        assert done == {short}
        with pytest.raises(TimeoutError):
            short.result()
        assert scripted.pending_requests == 1  # the timed-out entry is gone, not the other
        with pytest.raises(TimeoutError):
            await long
        assert scripted.pending_requests == 0
        assert await scripted.request("ping", None) == {"pong": {}}  # still usable


async def test_agent_death_fails_pending_requests(scripted: AgentProcess, rec: Recorder) -> None:
    async with asyncio.timeout(10):
        sleeping = scripted.send_request("sleep", None)
        with pytest.raises(AgentExited) as info:
            await scripted.request("die", {"code": 3})
        assert info.value.returncode == 3
        with pytest.raises(AgentExited):
            await sleeping
        await rec.until(lambda: bool(rec.exits))
        assert rec.exits == [3]
        assert scripted.returncode == 3 and not scripted.running
        # Talking to a dead agent never raises into the caller...
        scripted.notify("session/cancel", {})
        scripted.respond(1, {})
        scripted.write_raw(b"{}\n")
        # ...and new requests fail at once.
        with pytest.raises(AgentExited):
            await scripted.request("ping", None)
        assert await scripted.stop() == 3
    assert rec.exits == [3]  # exactly once


async def test_killed_agent_reports_the_signal(scripted: AgentProcess, rec: Recorder) -> None:
    async with asyncio.timeout(10):
        pending = scripted.send_request("sleep", None)
        scripted.kill()
        with pytest.raises(AgentExited) as info:
            await pending
        await rec.until(lambda: bool(rec.exits))
    assert info.value.returncode == -signal.SIGKILL
    assert rec.exits == [-signal.SIGKILL]


async def test_last_frames_before_exit_are_delivered_before_on_exit(tmp_path: Path) -> None:
    events: list[str] = []
    code = 'import sys\nfor i in range(3): print(\'{"method":"n%d"}\' % i)\nsys.exit(7)\n'
    proc = AgentProcess(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        on_frame=lambda f: events.append(str(f.method)),
        on_exit=lambda rc: events.append(f"exit {rc}"),
    )
    async with asyncio.timeout(10):
        await proc.start()
        assert await proc.wait() == 7
    assert events == ["n0", "n1", "n2", "exit 7"]


async def test_nonexistent_command_raises_agent_start_error(tmp_path: Path) -> None:
    proc = AgentProcess(["amux-no-such-agent-xyz", "--acp"], cwd=tmp_path)
    with pytest.raises(AgentStartError) as info:
        await proc.start()
    message = str(info.value)
    assert "amux-no-such-agent-xyz" in message and "not found" in message
    assert "\n" not in message
    assert not proc.running and await proc.stop() is None


async def test_missing_cwd_and_unexecutable_command(tmp_path: Path) -> None:
    with pytest.raises(AgentStartError, match="working directory .*missing.* does not exist"):
        await AgentProcess(SCRIPTED, cwd=tmp_path / "missing").start()
    script = tmp_path / "agent.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)
    with pytest.raises(AgentStartError, match="permission denied"):
        await AgentProcess([str(script)], cwd=tmp_path).start()


async def test_callback_errors_do_not_kill_the_reader(tmp_path: Path) -> None:
    seen: list[str] = []

    def on_frame(frame: Frame) -> None:
        seen.append(str(frame.method))
        if frame.method == "boom":
            raise RuntimeError("consumer bug")

    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    proc = AgentProcess(SCRIPTED, cwd=tmp_path, on_frame=on_frame)
    async with asyncio.timeout(10):
        await proc.start()
        lines = ['{"method":"boom"}', '{"method":"fine"}']
        assert await proc.request("emit", {"lines": lines}) == {"emitted": 2}
        await proc.stop()
    assert seen == ["boom", "fine"]
    assert isinstance(reported[0]["exception"], RuntimeError)


# --- 8. env and cwd ---------------------------------------------------------------------


async def test_env_is_merged_over_os_environ_and_cwd_is_honoured(
    rec: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMUX_TEST_INHERITED", "from-parent")
    monkeypatch.setenv("AMUX_TEST_OVERRIDDEN", "parent")
    workdir = tmp_path / "room"
    workdir.mkdir()
    proc = AgentProcess(
        SCRIPTED,
        cwd=workdir,
        env={"AMUX_TEST_OVERRIDDEN": "agent", "AMUX_TEST_NEW": "new"},
    )
    names = ["AMUX_TEST_INHERITED", "AMUX_TEST_OVERRIDDEN", "AMUX_TEST_NEW", "PATH"]
    async with asyncio.timeout(10):
        await proc.start()
        info = await proc.request("whoami", {"names": names})
        await proc.stop()
    assert info["env"] == {
        "AMUX_TEST_INHERITED": "from-parent",
        "AMUX_TEST_OVERRIDDEN": "agent",
        "AMUX_TEST_NEW": "new",
        "PATH": os.environ["PATH"],
    }
    assert Path(info["cwd"]).resolve() == workdir.resolve()
    assert info["pid"] == proc.pid


async def test_start_cancelled_mid_spawn_leaves_no_agent_and_stop_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Quitting while an agent is being spawned (the cancel lands after the pipes are
    connected, before start() resumes): the agent is gone and stop() returns."""
    start: asyncio.Future[None] | None = None
    connected = AgentProcess._on_connected

    def connected_then_cancelled(self: AgentProcess, transport: Any) -> None:
        connected(self, transport)
        assert start is not None
        start.cancel()

    monkeypatch.setattr(AgentProcess, "_on_connected", connected_then_cancelled)
    proc = AgentProcess(SCRIPTED, cwd=tmp_path)
    start = asyncio.ensure_future(proc.start())
    with pytest.raises(asyncio.CancelledError):
        await start
    await asyncio.wait_for(proc.stop(grace=0.5), 20)
    assert proc.returncode is not None and not proc.running
    assert proc.pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(proc.pid, 0)  # reaped: no such process
