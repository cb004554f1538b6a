"""A room's connection to its agent: spawn, handshake, open or resume the session, exit.

:class:`AgentConnection` owns the agent process and speaks ACP for the room (SPEC
§3.2–3.4, §4.5). It turns what the agent writes into calls on an :class:`AgentLink` (the
room), synchronously and in stdout order, and keeps what only matters for diagnostics
(agent info, the agent log, counters). It never records frames: the room decides what the
agent's output means and records it through its gate.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import msgspec

from amux_tui import __version__
from amux_tui.acp.framing import AgentExited, Frame, Kind, RpcError
from amux_tui.acp.pacing import Pacer
from amux_tui.acp.process import AgentProcess, AgentStartError
from amux_tui.engine import frames as F

# What a replaying agent sends: the conversation itself. Everything else an agent says
# around a load (commands, usage, session info, mode) describes the session now.
HISTORY_UPDATES = frozenset(
    (
        F.USER_MESSAGE_CHUNK,
        F.AGENT_MESSAGE_CHUNK,
        F.AGENT_THOUGHT_CHUNK,
        F.TOOL_CALL,
        F.TOOL_CALL_UPDATE,
        F.PLAN,
        F.COMPACTION_UPDATE,
    )
)
HANDSHAKE_TIMEOUT = 30.0
SESSION_TIMEOUT = 120.0  # session/load may replay a long history first
AGENT_LOG_LINES = 2000


class AgentLink(Protocol):
    """What a connection reports to its room, synchronously and in the agent's order."""

    def session_opened(self, session_id: str, reason: str) -> None:
        """A session id is in force (new, forked, or different from the recorded one)."""

    def session_resumed(self, session_id: str, via: str, replayed: int) -> None:
        """The recorded session was taken back (``via`` ``load`` or ``resume``)."""

    def agent_notification(self, msg: dict[str, Any], raw: bytes, *, strict: bool = False) -> None:
        """A notification outside any replay window (``raw``: the line as received;
        ``strict``: msgspec decoded it as it is, see :class:`Frame`)."""

    def permission_requested(self, frame: Frame) -> None:
        """A ``session/request_permission`` the room must answer."""

    def agent_stderr(self, line: str) -> None:
        """A stderr line (only when the launch asks for stderr detection)."""

    def agent_exited(self, code: int, *, requested: bool) -> None:
        """The agent process ended (``requested``: amux stopped it)."""


class AgentLaunch(msgspec.Struct, frozen=True):
    """How to run a room's agent."""

    argv: list[str]
    cwd: str
    env: dict[str, str] = msgspec.field(default_factory=dict)
    stderr_detection: bool = False  # pass stderr lines on (the Hermes compaction detector)


class StartFailed(Exception):
    """The agent could not be started or handshaken; the message is for users."""


class AgentConnection:
    """The agent process of one room and everything ACP about it."""

    def __init__(
        self, launch: AgentLaunch | None, link: AgentLink, pacer: Pacer | None = None
    ) -> None:
        self.launch = launch
        self.pacer = pacer
        self.proc: AgentProcess | None = None
        self.agent_info: dict[str, Any] = {}
        self.capabilities: dict[str, Any] = {}
        self.auth_methods: list[Any] = []
        self.agent_log: deque[str] = deque(maxlen=AGENT_LOG_LINES)
        self.invalid_lines = 0
        self.reserved_notifications = 0  # agent notifications in amux's namespace, refused
        self.replayed_updates = 0
        self.resume_via: str | None = None
        self.handshake_timeout = HANDSHAKE_TIMEOUT
        self._link = link
        self._session_id: str | None = None
        self._replaying = False  # inside a load/resume: updates are history amux has
        self._late_replay = False  # after a load/resume, until the next prompt (see _on_frame)
        self._stop_requested = False

    # ---- state ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.running

    @property
    def stderr_tail(self) -> list[str]:
        return list(self.proc.stderr_tail) if self.proc is not None else []

    # ---- lifecycle -------------------------------------------------------------------------
    async def connect(self, session_id: str | None) -> None:
        """Spawn the agent, initialize, and resume ``session_id`` or open a new session.

        Raises:
            StartFailed: with a message for users. Cancelling stops the agent it started.
        """
        launch = self.launch
        if launch is None:
            raise StartFailed("no agent command is known for this room (made by another tool)")
        self._stop_requested = False
        self._session_id = None
        self._late_replay = False
        proc = AgentProcess(
            launch.argv,
            cwd=launch.cwd,
            env=launch.env,
            on_frame=lambda frame: self._on_frame(proc, frame),
            on_stderr=self._link.agent_stderr if launch.stderr_detection else None,
            on_exit=lambda code: self._on_exit(proc, code),
            pacer=self.pacer,
        )
        self.proc = proc
        try:
            await proc.start()
            await self._handshake(proc, session_id)
        except AgentStartError as exc:
            raise StartFailed(str(exc)) from None
        except asyncio.CancelledError:
            self._stop_requested = True
            await proc.stop(grace=0.5)  # quitting mid-handshake leaves no agent behind
            raise
        except (RpcError, TimeoutError, AgentExited, _HandshakeFailed) as exc:
            reason = _describe_failure(exc, self.auth_methods)
            self._stop_requested = True
            await proc.stop(grace=0.5)
            raise StartFailed(reason) from None

    async def stop(self) -> None:
        """Stop the agent (close stdin → TERM → KILL its process group)."""
        proc = self.proc
        if proc is None:
            return
        self._stop_requested = True
        await proc.stop()

    def kill(self) -> None:
        """Kill an agent that ignores cancel (its exit is reported as usual)."""
        if self.proc is not None:
            self.proc.kill()

    async def wait_exit(self) -> None:
        """Until the current agent process has ended (at once if there is none)."""
        if self.proc is not None:
            await self.proc.wait()

    # ---- talking to the agent ---------------------------------------------------------------
    def prompt(
        self, session_id: str, content: list[dict[str, Any]], on_response: Callable[[Frame], None]
    ) -> None:
        """Send ``session/prompt``; ``on_response`` settles the turn (exit interrupts it)."""
        assert self.proc is not None
        self._late_replay = False  # what comes now belongs to this turn
        self.proc.send_request(
            F.SESSION_PROMPT,
            {"sessionId": session_id, "prompt": content},
            on_response=on_response,
        ).add_done_callback(_consume)

    def cancel(self, session_id: str | None) -> None:
        if self.proc is not None:
            self.proc.notify(F.SESSION_CANCEL, {"sessionId": session_id})

    def respond(self, request_id: Any, result: Any) -> None:
        if self.proc is not None:
            self.proc.respond(request_id, result)

    # ---- handshake ----------------------------------------------------------------------------
    async def _handshake(self, proc: AgentProcess, old: str | None) -> None:
        result = await proc.request(
            F.INITIALIZE,
            {
                "protocolVersion": 1,
                "clientCapabilities": {"session": {"compaction": {}}},
                "clientInfo": {"name": "amux", "title": "amux", "version": __version__},
            },
            timeout=self.handshake_timeout,
        )
        result = result if isinstance(result, dict) else {}
        caps = result.get("agentCapabilities")
        self.capabilities = caps if isinstance(caps, dict) else {}
        info = result.get("agentInfo")
        self.agent_info = info if isinstance(info, dict) else {}
        methods = result.get("authMethods")
        self.auth_methods = methods if isinstance(methods, list) else []
        version = result.get("protocolVersion")
        if version != 1:
            raise _HandshakeFailed(f"agent speaks ACP protocol version {version!r}; amux speaks 1")
        if old and await self._resume(proc, old):
            return
        await self._new_session(
            proc, F.END_RESUME_UNAVAILABLE if old else F.END_ACP_SESSION_ID_CHANGED
        )

    async def _resume(self, proc: AgentProcess, old: str) -> bool:
        """``session/load`` or ``session/resume`` of the recorded session (SPEC §3.4)."""
        assert self.launch is not None
        caps = self.capabilities
        session_caps = caps.get("sessionCapabilities")
        session_caps = session_caps if isinstance(session_caps, dict) else {}
        params = {"sessionId": old, "cwd": self.launch.cwd, "mcpServers": []}
        if caps.get("loadSession") is True:

            def loaded(_result: Any) -> None:
                self._resumed(old, "load")

            return await self._replaying_request(proc, F.SESSION_LOAD, params, loaded)
        if isinstance(session_caps.get("resume"), dict):

            def resumed(result: Any) -> None:
                sid = result.get("sessionId") if isinstance(result, dict) else None
                if not isinstance(sid, str) or sid == old:
                    self._resumed(old, "resume")
                else:  # the agent silently forked: its context is not ours any more
                    self._opened(sid, F.END_RESUME_UNAVAILABLE)

            return await self._replaying_request(proc, F.SESSION_RESUME, params, resumed)
        return False

    async def _new_session(self, proc: AgentProcess, reason: str) -> None:
        assert self.launch is not None

        def opened(response: Frame) -> None:
            # Synchronously, in stdout order: the agent's first updates for the new
            # session (sent right after this response) must land in the new segment.
            result = response.result
            sid = result.get("sessionId") if isinstance(result, dict) else None
            if isinstance(sid, str) and sid:
                self._opened(sid, reason)

        fut = proc.send_request(
            F.SESSION_NEW, {"cwd": self.launch.cwd, "mcpServers": []}, on_response=opened
        )
        response = await asyncio.wait_for(fut, SESSION_TIMEOUT)
        if response.error is not None:
            raise RpcError.from_error(response.error)
        if self._session_id is None:
            raise _HandshakeFailed("session/new returned no sessionId")

    async def _replaying_request(
        self,
        proc: AgentProcess,
        method: str,
        params: dict[str, Any],
        on_result: Callable[[Any], None],
    ) -> bool:
        """Send load/resume with the replay window open; False when the agent refused it.

        History the agent replays is history amux already has from its log, so it is
        neither recorded nor rendered, only counted (SPEC §3.4). Gemini CLI streams it
        *after* the response, so the window stays open for history until the next prompt.
        """
        self._replaying = True
        self.replayed_updates = 0

        def close_window(response: Frame) -> None:
            self._replaying = False
            if response.error is None:
                self._late_replay = True
                on_result(response.result if response.result is not None else {})

        fut = proc.send_request(method, params, on_response=close_window)
        try:
            response = await asyncio.wait_for(fut, SESSION_TIMEOUT)
        finally:
            self._replaying = False
        if response.error is not None:
            self.agent_log.append(f"{method} failed: {response.error}")
            return False
        return True

    def _resumed(self, session_id: str, via: str) -> None:
        self._session_id = session_id
        self.resume_via = via
        self._link.session_resumed(session_id, via, self.replayed_updates)

    def _opened(self, session_id: str, reason: str) -> None:
        self._session_id = session_id
        self._link.session_opened(session_id, reason)

    # ---- what the agent says -------------------------------------------------------------------
    def _on_frame(self, proc: AgentProcess, frame: Frame) -> None:
        if proc is not self.proc:
            return  # a process being replaced; the room only hears its current agent
        kind = frame.kind
        if kind is Kind.NOTIFICATION:
            assert frame.msg is not None
            if F.is_amux_method(frame.method):
                self._refuse_reserved(frame)
                return
            if (self._replaying or self._late_replay) and _is_history(frame.msg):
                self.replayed_updates += 1
                return
            self._link.agent_notification(frame.msg, frame.raw, strict=frame.strict)
        elif kind is Kind.REQUEST:
            self._on_request(proc, frame)
        else:
            self.invalid_lines += 1
            text = frame.raw[:500].decode("utf-8", "replace")
            self.agent_log.append(f"invalid stdout line ({frame.problem}): {text}")

    def _refuse_reserved(self, frame: Frame) -> None:
        """SPEC §4.1: the ``amux/`` namespace belongs to amux. An agent notification in it
        is never applied, fanned out or recorded (it could fake a queued prompt that the
        next send would run, a finished turn, a rename, a permission prompt…): counted
        and shown in the agent log only."""
        self.reserved_notifications += 1
        text = frame.raw[:300].decode("utf-8", "replace")
        self.agent_log.append(f"refused a notification in amux's own namespace: {text}")

    def _on_request(self, proc: AgentProcess, frame: Frame) -> None:
        method = frame.method or ""
        if method.startswith(("fs/", "terminal/")):
            proc.respond(
                frame.id,
                error={
                    "code": F.ERR_SERVER,
                    "message": f"client tool request blocked by amux: {method}",
                    "data": {"reason": "client_tool_blocked", "method": method},
                },
            )
            self.agent_log.append(f"blocked {method} (client tools are not enabled)")
        elif method == F.REQUEST_PERMISSION:
            self._link.permission_requested(frame)
        else:
            proc.respond(
                frame.id,
                error={"code": F.ERR_METHOD_NOT_FOUND, "message": f"Method not found: {method}"},
            )

    def _on_exit(self, proc: AgentProcess, code: int) -> None:
        if proc.stdout_closed_early:
            self.agent_log.append(
                "the agent closed its stdout but kept running: treated as exited and stopped"
            )
        if proc is self.proc:
            self._link.agent_exited(code, requested=self._stop_requested)


def _is_history(msg: dict[str, Any]) -> bool:
    """A ``session/update`` carrying conversation (see :data:`HISTORY_UPDATES`)."""
    if msg.get("method") != F.SESSION_UPDATE:
        return False
    params = msg.get("params")
    update = params.get("update") if isinstance(params, dict) else None
    kind = update.get("sessionUpdate") if isinstance(update, dict) else None
    return isinstance(kind, str) and kind in HISTORY_UPDATES


class _HandshakeFailed(Exception):
    """The agent answered, but not in a way amux can work with."""


def _consume(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()  # settlement happens in on_response; an exit interrupts the turn


def _describe_failure(exc: Exception, auth_methods: list[Any]) -> str:
    if isinstance(exc, RpcError) and exc.code == F.ERR_SERVER and "auth" in str(exc).lower():
        names = []
        for m in auth_methods:
            if isinstance(m, dict):
                label = m.get("name") or m.get("id")
                desc = m.get("description")
                names.append(f"{label} ({desc})" if desc else str(label))
        how = "; ".join(names) if names else "see the agent's documentation"
        return f"authentication required — sign in first: {how}"
    if isinstance(exc, TimeoutError):
        return "the agent did not answer the handshake in time"
    if isinstance(exc, AgentExited):
        return f"the agent exited during the handshake (code {exc.returncode})"
    return str(exc)
