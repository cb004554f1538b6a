"""The agent subprocess: spawn, line I/O, request ids, stderr ring, stop ladder (SPEC §3.2).

The process is driven by an :class:`asyncio.SubprocessProtocol` rather than StreamReaders:
bytes are split into lines synchronously as they arrive, so frames reach the consumer in exact
stdout order, stderr is always drained (whatever the consumer does), memory stays bounded by
the line limits, and the leader's exit is seen at once even when a grandchild still holds the
pipes open (``Process.wait()`` would wait for the pipes too).

Stdout is handled in bounded slices (:mod:`.pacing`): at most the pacer's budget of lines
per loop turn, the pipe paused while the rest of what was read waits, so an agent writing at
full speed never keeps the event loop (and the keys of the UI on it) busy for long.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import shlex
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from .framing import (
    JSONRPC_VERSION,
    AgentExited,
    Frame,
    Kind,
    LineSplitter,
    RpcError,
    encode,
    parse_line,
)
from .pacing import Pacer

__all__ = ["AgentProcess", "AgentStartError"]

FrameCallback = Callable[[Frame], None]

# A stdout line longer than the limit is reported with this much of its head kept.
_OVERLONG_HEAD = 1024
# After the leader exits, how long its output pipes may stay open (held by an orphaned
# child) before the group is killed so the pipes close and the exit can be reported.
_EXIT_GRACE = 2.0
# After the agent closes its stdout, how long it may keep running before it is treated as
# exited and stopped (nothing it says can reach us any more: it would be busy forever).
STDOUT_CLOSED_GRACE = 2.0
_POLL = 0.05


class AgentStartError(Exception):
    """The agent could not be spawned; the message is one line naming the command."""


class _Protocol(asyncio.SubprocessProtocol):
    """Forwards pipe events to the owning :class:`AgentProcess`."""

    def __init__(self, owner: AgentProcess) -> None:
        self._owner = owner

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self._owner._on_connected(transport)

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self._owner._on_data(fd, data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._owner._on_pipe_closed(fd)

    def process_exited(self) -> None:
        self._owner._on_process_exited()


async def _wait_event(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait for ``event``; False on timeout."""
    if event.is_set():
        return True
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True


def _group_alive(pgid: int) -> bool:
    """Whether a live (non-zombie) process remains in the process group."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg() also succeeds for zombies nobody has reaped yet (a container whose PID 1 does
    # not reap orphans); on Linux look at the members' states.
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()  # state ppid pgrp ...
        if len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] != b"Z":
            return True
    return False


class AgentProcess:
    """One agent subprocess speaking JSON-RPC over stdio.

    Frames from the agent are delivered synchronously, in stdout order: responses to our
    requests resolve their futures (after calling their ``on_response``), everything else
    goes to ``on_frame``. When ``on_frame`` is given the consumer owns the agent's requests
    and must answer every one of them with :meth:`respond`; when it is ``None`` requests are
    answered ``-32601 Method not found`` and notifications and invalid lines are ignored.

    Callbacks run inside the event loop's pipe callbacks (they may start before
    :meth:`start` returns) and must not block. Their exceptions are reported to the event
    loop's exception handler and do not stop the reader. Stdout is read in slices of at
    most ``pacer.budget`` seconds of callbacks per loop turn (the pipe is paused meanwhile),
    and not at all while the pacer is held; order is kept, and every line read before the
    exit is delivered before ``on_exit``.

    Writes never block and never raise because the agent died: they are buffered by the
    pipe transport and silently dropped once stdin is closed; the exit is reported through
    ``on_exit`` and :class:`AgentExited` on pending requests.

    Attributes:
        argv: The command line.
        cwd: The working directory.
        pid: The process id once started (also the process group and session id).
        stderr_tail: The last ``stderr_lines`` stderr lines.
        stderr_dropped: Lines evicted from ``stderr_tail``.
        stdout_closed_early: The agent closed its stdout and kept running, so it was
            stopped (close stdin → TERM → KILL) ``STDOUT_CLOSED_GRACE`` seconds later.
        invalid_lines: Stdout lines that were not JSON-RPC (INVALID frames).
        unknown_responses: Responses whose id matched none of our pending requests.
    """

    # Longest stderr line kept (bytes); longer ones are truncated for the ring and on_stderr.
    STDERR_LINE_MAX = 8192

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: str | os.PathLike[str],
        env: Mapping[str, str] | None = None,
        on_frame: FrameCallback | None = None,
        on_stderr: Callable[[str], None] | None = None,
        on_exit: Callable[[int], None] | None = None,
        stderr_lines: int = 2000,
        line_limit: int = 64 * 1024 * 1024,
        pacer: Pacer | None = None,
    ) -> None:
        """Prepare (not spawn) the agent.

        Args:
            argv: Command and arguments.
            cwd: Working directory of the agent.
            env: Variables merged over ``os.environ``.
            on_frame: Receives every NOTIFICATION, agent REQUEST and INVALID frame.
            on_stderr: Receives every stderr line (decoded, without newline, truncated to
                ``STDERR_LINE_MAX`` bytes) before it can be dropped from the ring.
            on_exit: Called once with the return code (negative = signal) after the
                process has ended and stdout is drained.
            stderr_lines: Size of the stderr ring.
            line_limit: Longest stdout line accepted; longer lines become INVALID frames.
            pacer: Shared with the other agents of the loop and whoever holds output back
                (the UI while a key is on its way); default: one of its own.
        """
        self.argv: list[str] = [os.fspath(a) for a in argv]
        self.cwd = cwd
        self.env = dict(env) if env else {}
        self.pid: int | None = None
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=stderr_lines)
        self.stderr_dropped = 0
        self.stdout_closed_early = False
        self.invalid_lines = 0
        self.unknown_responses = 0
        self._on_frame = on_frame
        self._on_stderr = on_stderr
        self._on_exit = on_exit
        self._line_limit = line_limit
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transport: asyncio.SubprocessTransport | None = None
        self._stdin: asyncio.WriteTransport | None = None
        self._stdin_open = False
        self._returncode: int | None = None
        self._next_id = 1
        self._pending: dict[int, tuple[asyncio.Future[Frame], FrameCallback | None]] = {}
        self._stdout = LineSplitter(line_limit, _OVERLONG_HEAD, self._on_stdout_line)
        self._pacer = pacer if pacer is not None else Pacer()
        self._backlog = b""  # stdout read but not yet split into lines (from _backlog_at)
        self._backlog_at = 0
        self._stdout_paused = False
        self._stderr = LineSplitter(
            self.STDERR_LINE_MAX, self.STDERR_LINE_MAX, self._on_stderr_line
        )
        self._open_pipes: set[int] = {1, 2}
        self._leader_exited = asyncio.Event()
        self._pipes_closed = asyncio.Event()
        self._finished = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._stop_task: asyncio.Task[None] | None = None
        self._stop_grace = 2.0
        self._killed = False
        self._stdout_watch: asyncio.Task[None] | None = None

    # --- state ------------------------------------------------------------------------

    @property
    def returncode(self) -> int | None:
        """Exit status once the process has exited (negative = killed by that signal)."""
        return self._returncode

    @property
    def running(self) -> bool:
        """True from a successful :meth:`start` until the process has exited."""
        return self._transport is not None and self._returncode is None

    @property
    def pending_requests(self) -> int:
        """How many of our requests await a response."""
        return len(self._pending)

    def __repr__(self) -> str:
        return f"<AgentProcess {shlex.join(self.argv)!r} pid={self.pid} rc={self._returncode}>"

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Spawn the agent in its own session with piped stdin/stdout/stderr.

        Its own session means a ``ctrl+c`` in amux's terminal never reaches it, and
        signalling the process group reaches the agent's children too.

        Raises:
            AgentStartError: The command or working directory is missing or not usable.
            RuntimeError: Already started.
        """
        if self._transport is not None:
            raise RuntimeError("agent already started")
        command = shlex.join(self.argv) if self.argv else "(empty command)"
        if not self.argv or not self.argv[0]:
            raise AgentStartError("cannot start agent: the command is empty")
        cwd = os.fspath(self.cwd)
        if not os.path.isdir(cwd):
            raise AgentStartError(
                f"cannot start agent {command}: working directory {cwd} does not exist"
            )
        env = {**os.environ, **self.env}
        loop = asyncio.get_running_loop()
        self._loop = loop
        try:
            transport, _ = await loop.subprocess_exec(
                lambda: _Protocol(self),
                *self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
                env=env,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise AgentStartError(
                f"cannot start agent {command}: command not found: {self.argv[0]}"
            ) from exc
        except PermissionError as exc:
            raise AgentStartError(
                f"cannot start agent {command}: permission denied: {exc.filename or self.argv[0]}"
            ) from exc
        except (OSError, ValueError) as exc:
            raise AgentStartError(f"cannot start agent {command}: {exc}") from exc
        except asyncio.CancelledError:
            # Cancelled mid-spawn (amux quitting): asyncio kills what it spawned, but our
            # supervisor never started, so finish here or a later stop() would wait forever.
            if self._transport is not None:
                self._returncode = self._transport.get_returncode()
                self._leader_exited.set()
                self._finish()
            raise
        assert self._transport is transport  # set by connection_made
        self._supervisor = loop.create_task(self._supervise(), name=f"agent-{self.pid}")

    async def wait(self) -> int | None:
        """Wait until the exit has been fully processed (``on_exit`` has run)."""
        if self._supervisor is None:
            return None
        await self._finished.wait()
        return self._returncode

    async def stop(self, grace: float = 2.0) -> int | None:
        """Stop the agent: close stdin, wait, SIGTERM the group, wait, SIGKILL the group.

        Idempotent: later calls wait for the same ladder. Children still in the group after
        the agent has exited get SIGTERM, then SIGKILL after ``grace``.

        Args:
            grace: Seconds to wait after closing stdin and after SIGTERM.

        Returns:
            The return code, or None if the agent was never started.
        """
        if self._transport is None:
            return None
        if self._stop_task is None:
            self._stop_task = asyncio.get_running_loop().create_task(self._stop_ladder(grace))
        await asyncio.shield(self._stop_task)
        return self._returncode

    def kill(self) -> None:
        """SIGKILL the whole process group now (the exit is then reported as usual)."""
        self._killed = True
        self._signal_group(signal.SIGKILL)

    async def _stop_ladder(self, grace: float) -> None:
        self._stop_grace = grace
        self._close_stdin()
        if not await _wait_event(self._leader_exited, grace):
            self._signal_group(signal.SIGTERM)
            if not await _wait_event(self._leader_exited, grace):
                self.kill()
        await self._finished.wait()

    async def _supervise(self) -> None:
        try:
            await self._leader_exited.wait()
            if self.pid is not None and not self._killed and _group_alive(self.pid):
                # Orphans of the agent (e.g. the node child of an npx wrapper).
                self._signal_group(signal.SIGTERM)
            grace = _EXIT_GRACE if self._stop_task is None else self._stop_grace
            if not await _wait_event(self._pipes_closed, grace):
                # A survivor holds stdout/stderr open, so EOF would never come.
                self.kill()
                await _wait_event(self._pipes_closed, 1.0)
            if self._stop_task is not None and not self._killed and self.pid is not None:
                # stop() promises the agent's children are gone too: give the ones that
                # outlived the agent the rest of the ladder.
                loop = asyncio.get_running_loop()
                deadline = loop.time() + self._stop_grace
                while _group_alive(self.pid) and loop.time() < deadline:
                    await asyncio.sleep(_POLL)
                if _group_alive(self.pid):
                    self.kill()
        finally:
            self._finish()

    def _finish(self) -> None:
        """Report the exit: flush partial lines, fail pending requests, call on_exit."""
        if self._finished.is_set():
            return
        if self._returncode is None:
            self.kill()  # only when supervision was cancelled (loop shutdown): leave no agent
        for fd in sorted(self._open_pipes):
            self._on_pipe_closed(fd)
        self._stdin_open = False
        if self._transport is not None:
            self._transport.close()
        rc = self._returncode
        pending, self._pending = self._pending, {}
        for fut, _ in pending.values():
            if not fut.done():
                fut.set_exception(AgentExited(rc))
        self._finished.set()
        if self._on_exit is not None:
            self._call(self._on_exit, rc if rc is not None else -1, "on_exit")

    # --- protocol events ------------------------------------------------------------------

    def _on_data(self, fd: int, data: bytes) -> None:
        if self._finished.is_set():
            return
        if fd == 1:
            if self._backlog:  # a read the loop had queued before the pipe was paused
                data = self._backlog[self._backlog_at :] + data
            self._backlog, self._backlog_at = data, 0
            self._drain_stdout()
        elif fd == 2:
            self._stderr.feed(data)

    def _drain_stdout(self) -> None:
        """Split and dispatch what stdout delivered, a budget's worth per loop turn: while
        some is left (or the pacer holds output) the pipe is paused and the rest waits for
        a later turn, so other work (keys) runs in between."""
        data = self._backlog
        if not data or self._finished.is_set():
            return
        pacer = self._pacer
        if not pacer.held:
            at = self._stdout.feed(data, self._backlog_at, pacer.deadline())
            if at >= len(data):
                self._backlog, self._backlog_at = b"", 0
                self._pause_stdout(False)
                return
            self._backlog_at = at
        self._pause_stdout(True)
        pacer.when_free(self._drain_stdout)

    def _drain_all(self) -> None:
        """Deliver every line read so far now (the pipe is closing, or the exit is reported)."""
        if self._backlog:
            data, at = self._backlog, self._backlog_at
            self._backlog, self._backlog_at = b"", 0
            self._stdout.feed(data, at)

    def _pause_stdout(self, pause: bool) -> None:
        if pause == self._stdout_paused or self._transport is None:
            return
        pipe = self._transport.get_pipe_transport(1)
        if not isinstance(pipe, asyncio.ReadTransport) or pipe.is_closing():
            return
        self._stdout_paused = pause
        if pause:
            pipe.pause_reading()
        else:
            pipe.resume_reading()

    def _on_pipe_closed(self, fd: int) -> None:
        if fd == 0:
            self._stdin_open = False
            return
        if fd not in self._open_pipes:
            return
        self._open_pipes.discard(fd)
        if fd == 1:
            self._drain_all()
        (self._stdout if fd == 1 else self._stderr).close()
        if not self._open_pipes:
            self._pipes_closed.set()
        if fd == 1 and self._loop is not None and not self._leader_exited.is_set():
            self._stdout_watch = self._loop.create_task(self._stdout_closed())

    async def _stdout_closed(self) -> None:
        """The agent closed stdout: if it keeps running past a short grace it is stopped
        with the ladder, and its exit is reported as usual (the turn is interrupted)."""
        if await _wait_event(self._leader_exited, STDOUT_CLOSED_GRACE):
            return
        if self._stop_task is None and not self._finished.is_set():
            self.stdout_closed_early = True
            await self.stop(self._stop_grace)

    def _on_connected(self, transport: asyncio.SubprocessTransport) -> None:
        # Runs before any pipe event and possibly before start() resumes, so that frames
        # (and the automatic -32601 answers) can flow from the first byte.
        self._transport = transport
        self.pid = transport.get_pid()
        stdin = transport.get_pipe_transport(0)
        assert isinstance(stdin, asyncio.WriteTransport)
        self._stdin = stdin
        self._stdin_open = True

    def _on_process_exited(self) -> None:
        assert self._transport is not None
        self._returncode = self._transport.get_returncode()
        self._leader_exited.set()

    def _on_stdout_line(self, line: bytes, over: int) -> None:
        if over:
            total = len(line) + over
            frame = Frame(
                raw=line,
                kind=Kind.INVALID,
                problem=f"line too long ({total} bytes, limit {self._line_limit})",
            )
        else:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line or line.isspace():
                return
            frame = parse_line(line)
        self._dispatch(frame)

    def _on_stderr_line(self, line: bytes, over: int) -> None:
        text = line.decode("utf-8", errors="replace")
        if text.endswith("\r"):
            text = text[:-1]
        if over:
            text += f" … [{over} more bytes]"
        if self._on_stderr is not None:
            self._call(self._on_stderr, text, "on_stderr")
        tail = self.stderr_tail
        if tail.maxlen is not None and len(tail) >= tail.maxlen:
            self.stderr_dropped += 1
        tail.append(text)

    def _dispatch(self, frame: Frame) -> None:
        kind = frame.kind
        if kind is Kind.RESPONSE:
            # Only responses (no "method") are matched against our ids, so an agent
            # request reusing one of our ids cannot resolve our future.
            entry = self._pending.pop(frame.id, None)
            if entry is None:
                self.unknown_responses += 1
                return
            fut, on_response = entry
            if on_response is not None:
                self._call(on_response, frame, "on_response")
            if not fut.done():
                fut.set_result(frame)
            return
        if kind is Kind.INVALID:
            self.invalid_lines += 1
        if self._on_frame is not None:
            self._call(self._on_frame, frame, "on_frame")
        elif kind is Kind.REQUEST:
            self.respond(
                frame.id,
                error={
                    "code": -32601,
                    "message": "Method not found",
                    "data": {"method": frame.method},
                },
            )

    def _call(self, callback: Callable[[Any], None], arg: Any, what: str) -> None:
        try:
            callback(arg)
        except Exception as exc:  # a consumer bug must not kill the reader
            assert self._loop is not None
            self._loop.call_exception_handler(
                {"message": f"AgentProcess {what} callback failed", "exception": exc}
            )

    # --- writing ------------------------------------------------------------------------

    def send_request(
        self,
        method: str,
        params: dict[str, Any] | None,
        *,
        on_response: FrameCallback | None = None,
    ) -> asyncio.Future[Frame]:
        """Send a request; ids count from 1 in our own id space.

        Args:
            method: The method.
            params: The params (omitted from the message when None).
            on_response: Called synchronously by the reader with the response frame at
                the moment the response line is read, before the future resolves.

        Returns:
            A future resolved with the response frame (errors included), or failed with
            :class:`AgentExited` if the agent dies first (or is not running).
        """
        return self._send_request(method, params, on_response)[1]

    def _send_request(
        self, method: str, params: dict[str, Any] | None, on_response: FrameCallback | None
    ) -> tuple[int, asyncio.Future[Frame]]:
        if self._transport is None or self._loop is None:
            raise RuntimeError("agent not started")
        request_id = self._next_id
        self._next_id += 1
        msg: dict[str, Any] = {"jsonrpc": JSONRPC_VERSION, "id": request_id, "method": method}
        if params is not None:
            msg["params"] = params
        line = encode(msg)
        fut: asyncio.Future[Frame] = self._loop.create_future()
        fut.add_done_callback(partial(self._forget, request_id))
        if not self._writable():
            fut.set_exception(AgentExited(self._returncode))
            return request_id, fut
        self._pending[request_id] = (fut, on_response)
        self._write(line)
        return request_id, fut

    def _forget(self, request_id: int, fut: asyncio.Future[Frame]) -> None:
        # A cancelled (timed-out) request must not linger; a late response counts as unknown.
        self._pending.pop(request_id, None)
        if not fut.cancelled():
            # Mark an AgentExited as retrieved: the exit is reported through on_exit, and
            # fire-and-forget callers would otherwise log "exception was never retrieved".
            fut.exception()

    async def request(
        self, method: str, params: dict[str, Any] | None, *, timeout: float | None = 30.0
    ) -> Any:
        """Send a request and wait for its result.

        Raises:
            RpcError: The agent answered with an error.
            TimeoutError: No response within ``timeout`` seconds (the request is forgotten).
            AgentExited: The agent died or is not running.
        """
        request_id, fut = self._send_request(method, params, None)
        try:
            async with asyncio.timeout(timeout):
                frame = await fut
        except TimeoutError:
            self._pending.pop(request_id, None)
            raise TimeoutError(f"{method}: no response from the agent within {timeout} s") from None
        if frame.error is not None:
            raise RpcError.from_error(frame.error)
        return frame.result

    def notify(self, method: str, params: dict[str, Any] | None) -> None:
        """Send a notification."""
        msg: dict[str, Any] = {"jsonrpc": JSONRPC_VERSION, "method": method}
        if params is not None:
            msg["params"] = params
        self._write(encode(msg))

    def respond(
        self, request_id: Any, result: Any = None, *, error: dict[str, Any] | None = None
    ) -> None:
        """Answer an agent request; ``request_id`` is echoed verbatim (may be 0 or a string)."""
        msg: dict[str, Any] = {"jsonrpc": JSONRPC_VERSION, "id": request_id}
        if error is not None:
            msg["error"] = error
        else:
            msg["result"] = result
        self._write(encode(msg))

    def write_raw(self, data: bytes) -> None:
        """Write pre-encoded bytes (one or more complete lines including ``\\n``)."""
        self._write(bytes(data))

    def _writable(self) -> bool:
        return (
            self._stdin is not None
            and self._stdin_open
            and self._returncode is None
            and not self._stdin.is_closing()
        )

    def _write(self, data: bytes) -> None:
        # Never raise into the caller because the agent died: the exit path reports that.
        # The pipe transport buffers, so a slow reader never blocks the caller.
        if not self._writable():
            return
        assert self._stdin is not None
        try:
            self._stdin.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self._stdin_open = False

    def _close_stdin(self) -> None:
        stdin, self._stdin_open = self._stdin, False
        if stdin is not None and not stdin.is_closing():
            stdin.close()  # flushes what is buffered first, then closes

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.pid is None or self._finished.is_set():
            return  # after the exit is reported the group id may belong to someone else
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)
