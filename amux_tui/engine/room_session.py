"""The agent side of a room: spawn, handshake, resume, exit, and the agent's output.

``AgentSession`` is a mixin of ``Room`` (SPEC §3.2–3.4, §4.5–4.7): it owns the agent
process and turns what the agent writes into calls of the room's broadcast gate. The
wire layer calls ``_on_frame``/``on_response``/``_on_stderr`` synchronously from its
reader, so everything here happens in the order the agent spoke.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from amux_tui import __version__
from amux_tui.acp.framing import AgentExited, Frame, Kind, RpcError
from amux_tui.acp.process import AgentProcess, AgentStartError
from amux_tui.engine import frames as F
from amux_tui.engine.compaction import CompactionSignal, parse_hermes_line, signal_from_update
from amux_tui.engine.lifecycle import Lifecycle
from amux_tui.engine.state import request_key
from amux_tui.engine.timeutil import now_rfc3339

NOT_STARTED, STARTING, READY, EXITED, FAILED, BUSY = (
    Lifecycle.NOT_STARTED,
    Lifecycle.STARTING,
    Lifecycle.READY,
    Lifecycle.EXITED,
    Lifecycle.FAILED,
    Lifecycle.BUSY,
)
FORCE_STOP_AFTER = 10.0  # seconds after cancel before force stop is offered (SPEC §4.2)
HANDSHAKE_TIMEOUT = 30.0
SESSION_TIMEOUT = 120.0  # session/load may replay a long history first


class AgentSession:
    """Mixin of ``Room``: the agent process and everything it says."""

    # ---- lifecycle -----------------------------------------------------------------------------
    def ensure_started(self) -> asyncio.Task[None] | None:
        """Start the agent if it is not running (lazy start); returns the start task.

        Idempotent within a tick: a start already under way is returned, never doubled.
        """
        if self._closing:
            return None
        if self._start_task is not None and not self._start_task.done():
            return self._start_task
        if self.lifecycle in (STARTING, READY):
            return self._start_task
        self._start_task = asyncio.get_running_loop().create_task(self.start())
        return self._start_task

    async def start(self) -> None:
        """Spawn, handshake and open or resume the ACP session (SPEC §3.3–3.4)."""
        if self.argv is None:
            self._fail("no agent command is known for this room (it was created by another tool)")
            return
        self.lifecycle, self.failure, self.exit_code = STARTING, None, None
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._changed()
        proc = AgentProcess(
            self.argv,
            cwd=self.meta.cwd or os.getcwd(),
            env=self.env,
            on_frame=self._on_frame,
            on_stderr=self._on_stderr if self.hermes_compaction else None,
            on_exit=self._on_exit,
        )
        self.proc = proc
        try:
            await proc.start()
        except AgentStartError as exc:
            self._fail(str(exc))
            return
        except asyncio.CancelledError:
            await proc.stop(grace=0.5)
            raise
        try:
            await self._handshake(proc)
        except asyncio.CancelledError:
            self._stopping = True
            await proc.stop(grace=0.5)  # quitting mid-handshake leaves no agent behind
            raise
        except (RpcError, TimeoutError, AgentExited, HandshakeFailed) as exc:
            if proc is self.proc and self.lifecycle == STARTING:
                self._fail(_describe_failure(exc, self.auth_methods))
                await proc.stop(grace=0.5)
            return
        if proc is self.proc and self.lifecycle == STARTING:
            self.lifecycle = READY
            self._changed()
            if not self.state.queue or not self.state.queue[0].held:
                self._submit_next()

    async def _handshake(self, proc: AgentProcess) -> None:
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
        self.agent_capabilities = caps if isinstance(caps, dict) else {}
        info = result.get("agentInfo")
        self.agent_info = info if isinstance(info, dict) else {}
        methods = result.get("authMethods")
        self.auth_methods = methods if isinstance(methods, list) else []
        version = result.get("protocolVersion")
        if version != 1:
            raise HandshakeFailed(f"agent speaks ACP protocol version {version!r}; amux speaks 1")
        await self._open_session(proc)

    async def _open_session(self, proc: AgentProcess) -> None:
        cwd = self.meta.cwd or os.getcwd()
        old = self.state.acp_session_id or self.meta.acp_session_id
        caps = self.agent_capabilities
        session_caps = (
            caps.get("sessionCapabilities")
            if isinstance(caps.get("sessionCapabilities"), dict)
            else {}
        )
        if old:
            params = {"sessionId": old, "cwd": cwd, "mcpServers": []}
            if caps.get("loadSession") is True:
                loaded = lambda _result: self._resumed(old, "load")  # noqa: E731
                if await self._replaying_request(proc, F.SESSION_LOAD, params, loaded) is not None:
                    return
            elif isinstance(session_caps.get("resume"), dict):

                def resumed(result: Any) -> None:
                    sid = result.get("sessionId") if isinstance(result, dict) else None
                    if not isinstance(sid, str) or sid == old:
                        self._resumed(old, "resume")
                    else:  # the agent silently forked: its context is not ours any more
                        self._set_session(sid, F.END_RESUME_UNAVAILABLE)

                if (
                    await self._replaying_request(proc, F.SESSION_RESUME, params, resumed)
                    is not None
                ):
                    return
        reason = F.END_RESUME_UNAVAILABLE if old else F.END_ACP_SESSION_ID_CHANGED

        def opened(response: Frame) -> None:
            # Synchronously, in stdout order: the agent's first updates for the new
            # session (sent right after this response) must land in the new segment.
            sid = response.result.get("sessionId") if isinstance(response.result, dict) else None
            if isinstance(sid, str) and sid:
                self._set_session(sid, reason)

        fut = proc.send_request(F.SESSION_NEW, {"cwd": cwd, "mcpServers": []}, on_response=opened)
        response = await asyncio.wait_for(fut, SESSION_TIMEOUT)
        if response.error is not None:
            raise RpcError.from_error(response.error)
        if self.state.acp_session_id is None or self.state.active_segment is None:
            raise HandshakeFailed("session/new returned no sessionId")

    async def _replaying_request(
        self,
        proc: AgentProcess,
        method: str,
        params: dict[str, Any],
        on_result: Callable[[Any], None] | None = None,
    ) -> Any:
        """Send load/resume with the replay window open; None when the agent refused it.

        Updates arriving before the response are history amux already has from its log,
        so they are neither recorded nor rendered, only counted (SPEC §3.4).
        """
        self._replay_window = True
        self.replayed_updates = 0

        def close_window(response: Frame) -> None:
            self._replay_window = False
            if response.error is None and on_result is not None:
                on_result(response.result if response.result is not None else {})

        fut = proc.send_request(method, params, on_response=close_window)
        try:
            response = await asyncio.wait_for(fut, SESSION_TIMEOUT)
        finally:
            self._replay_window = False
        if response.error is not None:
            self.agent_log.append(f"{method} failed: {response.error}")
            return None
        return response.result if response.result is not None else {}

    def _resumed(self, sid: str, via: str) -> None:
        self.resume_via = via
        if self.state.active_segment is None or self.state.acp_session_id != sid:
            self._set_session(sid, F.END_SESSION_LOAD)
        self._emit(
            F.SESSION_RESUMED, acpSessionId=sid, via=via, replayedUpdates=self.replayed_updates
        )
        self._save_meta_soon()

    def _set_session(self, sid: str, reason: str, provenance: dict[str, Any] | None = None) -> None:
        """Open the first segment or rotate to a new one (SPEC §4.7)."""
        seg = self.state.active_segment
        if seg is not None and seg.acp_session_id == sid and reason != F.END_HERMES_COMPRESSION:
            return
        new = self.state.next_segment
        now = now_rfc3339()
        if seg is not None:
            self._emit(
                F.SEGMENT_ENDED,
                segmentId=F.format_id("seg", seg.id),
                closedAt=now,
                endReason=reason,
                successorSegmentId=F.format_id("seg", new),
            )
        self._emit(
            F.SEGMENT_STARTED,
            segmentId=F.format_id("seg", new),
            acpSessionId=sid,
            openedAt=now,
            provenance=provenance or None,
        )
        self.meta.acp_session_id = sid
        self._save_meta_soon()

    def _fail(self, reason: str) -> None:
        self.lifecycle, self.failure = FAILED, reason
        self.agent_log.append(f"failed: {reason}")
        self._changed()

    async def stop(self) -> None:
        """Stop the agent (close stdin → TERM → KILL); an active turn is interrupted."""
        proc = self.proc
        if proc is None:
            return
        self._stopping = True
        await proc.stop()

    async def restart(self) -> None:
        """Stop if running, then start again and resume the same ACP session."""
        await self.stop()
        self.lifecycle = NOT_STARTED
        await self.start()

    def force_stop(self) -> None:
        """Kill an agent that ignores cancel; the exit path interrupts the turn, then restart."""
        if self.proc is None:
            return
        self.proc.kill()
        self._spawn(self._restart_after_exit())

    async def _restart_after_exit(self) -> None:
        proc = self.proc
        while proc is not None and proc.running:
            await asyncio.sleep(0.05)
        await self.start()

    def _on_exit(self, code: int) -> None:
        self.exit_code = code
        self.meta.exit_code = code
        if self.state.active_turn_id is not None:
            self._sweep_requests(answer=False)
            self._emit(
                F.TURN_INTERRUPTED,
                amuxTurnId=self.state.active_turn_id,
                reason=F.INTERRUPTED_AGENT_EXIT,
            )
            self.cancel_requested_at = None
            self._sync_log()
        for item in self.state.queue:  # nothing runs on its own against a dead agent
            item.held = True
        if self._stopping:
            self.lifecycle = NOT_STARTED
        elif self.lifecycle != FAILED:
            self.lifecycle = EXITED
        self._save_meta_soon()
        self._changed()

    # ---- agent output ---------------------------------------------------------------------------
    def _on_frame(self, frame: Frame) -> None:
        kind = frame.kind
        if kind is Kind.NOTIFICATION:
            self._on_notification(frame)
        elif kind is Kind.REQUEST:
            self._on_request(frame)
        else:
            self.invalid_lines += 1
            text = frame.raw[:500].decode("utf-8", "replace")
            self.agent_log.append(f"invalid stdout line ({frame.problem}): {text}")
            self._changed()

    def _on_notification(self, frame: Frame) -> None:
        msg = frame.msg
        assert msg is not None
        params = msg.get("params")
        if self._replay_window:
            self.replayed_updates += 1
            return
        if isinstance(params, dict):
            sid = params.get("sessionId")
            if (
                isinstance(sid, str)
                and self.state.acp_session_id
                and sid != self.state.acp_session_id
            ):
                self._set_session(sid, F.END_ACP_SESSION_ID_CHANGED)
        self._gate(msg, frame.raw)
        method = msg.get("method")
        if method == F.SESSION_UPDATE and isinstance(params, dict):
            signal = signal_from_update(params.get("update"))
            if signal is not None:
                self._compaction(signal)
        elif method == F.CANCEL_REQUEST and isinstance(params, dict):
            key = request_key(params.get("requestId"))
            pending = self.state.pending_requests.get(key)
            if pending is not None:
                self._emit(
                    F.AGENT_REQUEST_RESOLVED,
                    requestId=pending.request_id,
                    resolvedBy=F.RESOLVED_AGENT_CANCELLED,
                )

    def _on_request(self, frame: Frame) -> None:
        method = frame.method or ""
        assert self.proc is not None
        if method.startswith(("fs/", "terminal/")):
            self.proc.respond(
                frame.id,
                error={
                    "code": F.ERR_SERVER,
                    "message": f"client tool request blocked by amux: {method}",
                    "data": {"reason": "client_tool_blocked", "method": method},
                },
            )
            self.agent_log.append(f"blocked {method} (client tools are not enabled)")
            return
        if method == F.REQUEST_PERMISSION:
            self._emit(
                F.AGENT_REQUEST_OPENED,
                requestId=frame.id,
                requestMethod=method,
                requestParams=frame.params or None,
                amuxTurnId=self.state.active_turn_id,
            )
            return
        self.proc.respond(
            frame.id,
            error={"code": F.ERR_METHOD_NOT_FOUND, "message": f"Method not found: {method}"},
        )

    def _on_stderr(self, line: str) -> None:
        signal = parse_hermes_line(line)
        if signal is not None:
            self._compaction(signal)

    def _compaction(self, signal: CompactionSignal) -> None:
        """Apply a detected compaction start/end (SPEC §4.6)."""
        if not signal.done:
            self._emit(F.COMPACTION_STARTED, source=signal.source, **signal.fields)
            self._changed()
            return
        extra: dict[str, Any] = {}
        if signal.source == F.SOURCE_HERMES and self.state.active_segment is not None:
            previous = self.state.active_segment
            provenance = {"lastMode": "session_split", "lastReason": "compaction"}
            if "hermesSessionId" in signal.fields:
                provenance["hermesSessionId"] = signal.fields["hermesSessionId"]
            self._set_session(previous.acp_session_id or "", F.END_HERMES_COMPRESSION, provenance)
            extra = {
                "previousSegmentId": F.format_id("seg", previous.id),
                "successorSegmentId": F.format_id("seg", self.state.active_segment_id),
            }
        count = self.state.compaction.count + (1 if signal.outcome == "completed" else 0)
        outcome = signal.outcome if signal.outcome != "completed" else None
        self._emit(
            F.COMPACTION_DONE,
            source=signal.source,
            **signal.fields,
            **extra,
            compressionCount=count,
            outcome=outcome,
        )
        self._changed()


class HandshakeFailed(Exception):
    """The agent answered, but not in a way amux can work with."""


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
