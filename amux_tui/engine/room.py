"""A room: one agent process, its conversation and its log (SPEC §4).

Every frame the room broadcasts goes through ``Room._gate``: (1) record it in the replay
log, (2) fold it into ``RoomState`` and the ``Transcript``, (3) fan it out to subscribers.
The agent's stdout is processed synchronously in line order (the wire layer calls
``_on_frame`` / ``on_response`` callbacks from its reader), so recorded order is the
order the agent spoke in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from amux_tui import __version__
from amux_tui.acp.framing import AgentExited, Frame, Kind, RpcError
from amux_tui.acp.process import AgentProcess, AgentStartError
from amux_tui.engine import frames as F
from amux_tui.engine.compaction import CompactionSignal, parse_hermes_line, signal_from_update
from amux_tui.engine.meta import RoomMeta
from amux_tui.engine.state import QueueItem, RoomState, request_key
from amux_tui.engine.store import ReplayLog, write_json_atomic
from amux_tui.engine.timeutil import now_rfc3339
from amux_tui.engine.transcript import Block, Transcript

log = logging.getLogger("amux.room")

NOT_STARTED, STARTING, READY, EXITED, FAILED = "not started", "starting", "ready", "exited", "failed"
BUSY = "busy"
FORCE_STOP_AFTER = 10.0  # seconds after cancel before force stop is offered (SPEC §4.2)
HANDSHAKE_TIMEOUT = 30.0
SESSION_TIMEOUT = 120.0  # session/load may replay a long history first


class RoomSubscriber(Protocol):
    """Something attached to a room: the Textual UI, later a socket client."""

    def room_frame(self, room: Room, frame: dict[str, Any], seq: int, blocks: list[Block]) -> None: ...

    def room_status(self, room: Room) -> None: ...


class RoomError(Exception):
    """A room action that cannot be done now; the message is shown to the user."""


class Room:
    """One agent session: lifecycle, turns, queue, steer, permissions, segments, compaction."""

    def __init__(
        self,
        meta: RoomMeta,
        log_: ReplayLog | None,
        state: RoomState,
        transcript: Transcript,
        *,
        argv: list[str] | None,
        env: dict[str, str] | None = None,
        hermes_compaction: bool = False,
        meta_path: Path | None = None,
    ) -> None:
        self.meta = meta
        self.id = meta.room_id
        self.log: ReplayLog = log_  # type: ignore[assignment]  # None until install()
        self.log_path: Path | None = log_.path if log_ is not None else None
        self.load_result: Any = None
        self.state = state
        self.transcript = transcript
        self.argv = argv
        self.env = env
        self.hermes_compaction = hermes_compaction
        self.meta_path = meta_path
        self.lifecycle = NOT_STARTED
        self.failure: str | None = None
        self.exit_code: int | None = meta.exit_code
        self.proc: AgentProcess | None = None
        self.agent_info: dict[str, Any] = {}
        self.agent_capabilities: dict[str, Any] = {}
        self.auth_methods: list[Any] = []
        self.agent_log: deque[str] = deque(maxlen=2000)  # invalid stdout lines, blocked requests
        self.invalid_lines = 0
        self.replayed_updates = 0
        self.write_error: str | None = None
        self.cancel_requested_at: float | None = None
        self.resume_via: str | None = None
        self.handshake_timeout = HANDSHAKE_TIMEOUT
        self.force_stop_after = FORCE_STOP_AFTER
        self._subscribers: list[RoomSubscriber] = []
        self._replay_window = False
        self._stopping = False
        self._closing = False
        self._start_task: asyncio.Task[None] | None = None
        self._meta_timer: asyncio.TimerHandle | None = None
        self._bg: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = _running_loop()
        if log_ is not None:
            log_.on_error = self._on_write_error

    def install(self, state: RoomState, transcript: Transcript, log_: ReplayLog, load: Any = None) -> None:
        """Give the room its hydrated state and its open log (rooms load lazily)."""
        self.state, self.transcript, self.log, self.load_result = state, transcript, log_, load
        self._loop = _running_loop()
        log_.on_error = self._on_write_error
        if state.acp_session_id:
            self.meta.acp_session_id = state.acp_session_id
        self._changed()

    @property
    def loaded(self) -> bool:
        return self.log is not None

    def record(self, frame: dict[str, Any]) -> None:
        """Record an amux frame through the gate (used for hydration repairs, notes)."""
        self._gate(frame)

    # ---- public view ---------------------------------------------------------------------------
    @property
    def title(self) -> str:
        return self.state.title or self.meta.title

    @property
    def status(self) -> str:
        """Exactly one lifecycle state (SPEC §1.2); ``busy`` while a turn is in flight."""
        if self.lifecycle == READY and self.state.active_turn_id is not None:
            return BUSY
        return self.lifecycle

    @property
    def busy(self) -> bool:
        return self.state.active_turn_id is not None

    @property
    def compacting(self) -> bool:
        return self.state.compaction.active

    @property
    def pending_permissions(self) -> list[Any]:
        return [r for r in self.state.pending_requests.values() if r.method == F.REQUEST_PERMISSION]

    @property
    def queue(self) -> list[QueueItem]:
        return self.state.queue

    @property
    def force_stop_available(self) -> bool:
        return (
            self.busy
            and self.cancel_requested_at is not None
            and time.monotonic() - self.cancel_requested_at >= self.force_stop_after
        )

    @property
    def stderr_tail(self) -> list[str]:
        return list(self.proc.stderr_tail) if self.proc else []

    def subscribe(self, sub: RoomSubscriber, *, peer_id: str = F.LOCAL_PEER) -> None:
        self._subscribers.append(sub)
        self._gate(F.amux_frame(F.PEER_JOINED, self.id, peerId=peer_id))

    def unsubscribe(self, sub: RoomSubscriber, *, peer_id: str = F.LOCAL_PEER) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)
            self._gate(F.amux_frame(F.PEER_LEFT, self.id, peerId=peer_id))

    # ---- the broadcast gate --------------------------------------------------------------------
    def _gate(self, frame: dict[str, Any], raw: bytes | None = None) -> None:
        """Record → state → subscribers. ``raw`` is the agent's line, recorded verbatim."""
        if frame.get("method") == F.SEGMENT_STARTED:
            tag = F.parse_id(frame["params"].get("segmentId"), "seg") or self.state.active_segment_id
        else:
            tag = self.state.active_segment_id
        record = self.log.append(raw if raw is not None else frame, tag)
        self.state.apply(frame, record.seq, tag, record.recorded_at)
        blocks = self.transcript.apply(frame, record.seq, record.recorded_at)
        for sub in tuple(self._subscribers):
            try:
                sub.room_frame(self, frame, record.seq, blocks)
            except Exception:  # a broken view must not break the room
                log.exception("subscriber failed on %s", frame.get("method"))

    def _changed(self) -> None:
        self.meta.state = self.lifecycle
        for sub in tuple(self._subscribers):
            try:
                sub.room_status(self)
            except Exception:
                log.exception("subscriber failed on status")

    def _on_write_error(self, exc: Exception) -> None:
        # The store may report from the fsync worker thread: hop back to the room's loop.
        loop = self._loop
        if loop is not None and not _on_loop(loop):
            loop.call_soon_threadsafe(self._on_write_error, exc)
            return
        self.write_error = f"log write failed: {exc}"
        log.error("room %s: %s", self.id, self.write_error)
        self._changed()

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
        session_caps = caps.get("sessionCapabilities") if isinstance(caps.get("sessionCapabilities"), dict) else {}
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

                if await self._replaying_request(proc, F.SESSION_RESUME, params, resumed) is not None:
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
        self, proc: AgentProcess, method: str, params: dict[str, Any], on_result: Callable[[Any], None] | None = None
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
        self._gate(
            F.amux_frame(F.SESSION_RESUMED, self.id, acpSessionId=sid, via=via, replayedUpdates=self.replayed_updates)
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
            self._gate(
                F.amux_frame(
                    F.SEGMENT_ENDED, self.id, segmentId=F.format_id("seg", seg.id), closedAt=now,
                    endReason=reason, successorSegmentId=F.format_id("seg", new),
                )
            )
        self._gate(
            F.amux_frame(
                F.SEGMENT_STARTED, self.id, segmentId=F.format_id("seg", new), acpSessionId=sid,
                openedAt=now, provenance=provenance or None,
            )
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
            self._gate(
                F.amux_frame(
                    F.TURN_INTERRUPTED, self.id, amuxTurnId=self.state.active_turn_id,
                    reason=F.INTERRUPTED_AGENT_EXIT,
                )
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
            if isinstance(sid, str) and self.state.acp_session_id and sid != self.state.acp_session_id:
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
                self._gate(
                    F.amux_frame(
                        F.AGENT_REQUEST_RESOLVED, self.id, requestId=pending.request_id,
                        resolvedBy=F.RESOLVED_AGENT_CANCELLED,
                    )
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
            self._gate(
                F.amux_frame(
                    F.AGENT_REQUEST_OPENED, self.id, requestId=frame.id, requestMethod=method,
                    requestParams=frame.params or None, amuxTurnId=self.state.active_turn_id,
                )
            )
            return
        self.proc.respond(frame.id, error={"code": F.ERR_METHOD_NOT_FOUND, "message": f"Method not found: {method}"})

    def _on_stderr(self, line: str) -> None:
        signal = parse_hermes_line(line)
        if signal is not None:
            self._compaction(signal)

    def _compaction(self, signal: CompactionSignal) -> None:
        """Apply a detected compaction start/end (SPEC §4.6)."""
        if not signal.done:
            self._gate(F.amux_frame(F.COMPACTION_STARTED, self.id, source=signal.source, **signal.fields))
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
        self._gate(
            F.amux_frame(
                F.COMPACTION_DONE, self.id, source=signal.source, **signal.fields, **extra,
                compressionCount=count, outcome=outcome,
            )
        )
        self._changed()

    # ---- turns ------------------------------------------------------------------------------------
    def prompt(self, text: str) -> str:
        """Send a prompt; while busy it is queued instead (SPEC §4.2). Returns what happened."""
        text = text.strip("\n")
        if not text.strip():
            raise RoomError("nothing to send")
        self.meta.remember_prompt(text)
        if self.busy or self.lifecycle != READY or self.state.queue:
            return self.enqueue(text, remember=False)
        self._start_turn(text)
        self._save_meta_soon()
        return "sent"

    def enqueue(self, text: str, *, remember: bool = True) -> str:
        """Add to the queue (cap 6); submitted at once when the room is idle and ready."""
        if remember:
            self.meta.remember_prompt(text)
        if len(self.state.public_queue) >= F.QUEUE_CAP:
            raise RoomError(f"queue is full ({F.QUEUE_CAP} prompts waiting); remove one first")
        qid = F.format_id("q", self.state.next_queue_item)
        self._gate(F.amux_frame(F.QUEUE_ITEM_ADDED, self.id, queueItemId=qid, peerId=F.LOCAL_PEER, text=text, status="queued"))
        self._save_meta_soon()
        if self.lifecycle == NOT_STARTED or self.lifecycle == EXITED:
            self.ensure_started()
        if self.lifecycle == READY and not self.busy:
            self._submit_next()
        self._changed()
        return "queued" if any(q.id == qid for q in self.state.queue) else "sent"

    def unqueue(self, queue_item_id: str) -> None:
        if not any(q.id == queue_item_id for q in self.state.queue):
            raise RoomError(f"no queued prompt {queue_item_id}")
        self._gate(
            F.amux_frame(F.QUEUE_ITEM_REMOVED, self.id, queueItemId=queue_item_id, removedBy=F.LOCAL_PEER, reason="unqueued")
        )
        self._changed()

    def edit_queued(self, queue_item_id: str, text: str) -> None:
        if not any(q.id == queue_item_id for q in self.state.queue):
            raise RoomError(f"no queued prompt {queue_item_id}")
        self._gate(F.amux_frame(F.QUEUE_ITEM_EDITED, self.id, queueItemId=queue_item_id, text=text))
        self._changed()

    @property
    def queue_held(self) -> bool:
        return any(q.held for q in self.state.queue)

    def release_queue(self) -> None:
        """Let held items (restored after a restart) run again, starting with the head."""
        for item in self.state.queue:
            item.held = False
        self.meta.queue_held = False
        self._save_meta_soon()
        if self.lifecycle == READY and not self.busy:
            self._submit_next()
        elif self.lifecycle in (NOT_STARTED, EXITED):
            self.ensure_started()
        self._changed()

    def _start_turn(self, text: str, *, queue_item_id: str | None = None, supersedes: str | None = None) -> None:
        assert self.proc is not None and self.state.acp_session_id
        turn_id = F.format_id("at", self.state.next_turn)
        content = [{"type": "text", "text": text}]
        self._gate(
            F.amux_frame(
                F.TURN_STARTED, self.id, amuxTurnId=turn_id, peerId=F.LOCAL_PEER, content=content,
                queueItemId=queue_item_id, supersedesTurnId=supersedes,
            )
        )
        if queue_item_id is not None:
            self._gate(F.amux_frame(F.QUEUE_ITEM_SUBMITTED, self.id, queueItemId=queue_item_id, amuxTurnId=turn_id))
        self.cancel_requested_at = None
        self.meta.last_active = now_rfc3339()
        self.proc.send_request(
            F.SESSION_PROMPT,
            {"sessionId": self.state.acp_session_id, "prompt": content},
            on_response=lambda resp: self._settle(turn_id, queue_item_id, resp),
        ).add_done_callback(_ignore_future)
        self._changed()

    def _settle(self, turn_id: str, queue_item_id: str | None, response: Frame) -> None:
        """Turn settlement in exactly the order of SPEC §4.2."""
        if self.state.active_turn_id != turn_id:
            return
        self._sweep_requests(answer=True)  # (1)
        self.state.compaction.active = False  # (2) the stranded-compaction bound, no frame
        result, error = response.result, response.error
        stop = result.get("stopReason") if isinstance(result, dict) else None
        self._gate(F.turn_complete(self.id, turn_id, stop if isinstance(stop, str) else None, error))  # (3)
        if queue_item_id is not None:  # (4)
            self._gate(
                F.amux_frame(
                    F.QUEUE_ITEM_COMPLETED, self.id, queueItemId=queue_item_id, amuxTurnId=turn_id,
                    stopReason=stop if isinstance(stop, str) else None,
                )
            )
        self.cancel_requested_at = None
        self._sync_log()
        self._submit_next()  # (5)
        self._save_meta_soon()
        self._changed()

    def _submit_next(self) -> None:
        if self.busy or self.lifecycle != READY or not self.state.queue or self._closing:
            return
        head = self.state.queue[0]
        if head.held:
            return
        if head.id is None:
            self._start_turn(head.text, supersedes=head.supersedes)
        else:
            self._start_turn(head.text, queue_item_id=head.id)

    def _sweep_requests(self, *, answer: bool) -> None:
        for pending in list(self.state.pending_requests.values()):
            if answer and self.proc is not None and pending.method == F.REQUEST_PERMISSION:
                self.proc.respond(pending.request_id, {"outcome": {"outcome": "cancelled"}})
            self._gate(
                F.amux_frame(F.AGENT_REQUEST_RESOLVED, self.id, requestId=pending.request_id, resolvedBy=F.RESOLVED_TURN_ENDED)
            )

    def cancel(self, *, reason: str | None = None) -> bool:
        """Cancel the active turn (SPEC §4.2); False when there is none."""
        turn_id = self.state.active_turn_id
        if turn_id is None or self.proc is None:
            return False
        self._gate(F.amux_frame(F.TURN_CANCELLED, self.id, amuxTurnId=turn_id, cancelledBy=F.LOCAL_PEER, reason=reason))
        self._cancel_on_agent()
        return True

    def _cancel_on_agent(self) -> None:
        assert self.proc is not None
        self.proc.notify(F.SESSION_CANCEL, {"sessionId": self.state.acp_session_id})
        for pending in self.pending_permissions:
            result = {"outcome": {"outcome": "cancelled"}}
            self.proc.respond(pending.request_id, result)
            self._gate(
                F.amux_frame(F.AGENT_REQUEST_RESOLVED, self.id, requestId=pending.request_id, resolvedBy=F.RESOLVED_LOCAL, result=result)
            )
        if self.cancel_requested_at is None:
            self.cancel_requested_at = time.monotonic()
        self._changed()

    def steer(self, text: str) -> str:
        """Hard-steer the active turn, or submit ``text`` as a prompt when idle (SPEC §4.4)."""
        text = text.strip()
        if not text:
            raise RoomError("nothing to steer with")
        self.meta.remember_prompt(text)
        turn_id = self.state.active_turn_id
        if turn_id is None:
            if self.lifecycle != READY:
                raise RoomError(f"the agent is {self.lifecycle}")
            predicted = F.format_id("at", self.state.next_turn)
            self._gate(F.amux_frame(F.CONTROL_SUBMITTED, self.id, kind="steer", mode="prompt", peerId=F.LOCAL_PEER, amuxTurnId=predicted, text=text))
            self._start_turn(text)
            return "sent"
        if any(q.supersedes is not None for q in self.state.queue):
            raise RoomError("a steer is already pending for this turn")
        original = self.state.active_turn_text or "(unavailable/non-text)"
        replacement = (
            f"[amux] The user steered turn {turn_id} while it was running. Redo the original "
            f"request, taking the steer into account.\n\nOriginal prompt:\n{original}\n\nSteer:\n{text}"
        )
        self._gate(
            F.amux_frame(
                F.CONTROL_SUBMITTED, self.id, kind="steer", mode="hard", peerId=F.LOCAL_PEER, amuxTurnId=turn_id,
                text=text, replacementText=replacement,
            )
        )
        self._gate(F.amux_frame(F.TURN_CANCELLED, self.id, amuxTurnId=turn_id, cancelledBy=F.LOCAL_PEER, reason="hard_steer"))
        self._cancel_on_agent()
        return "steered"

    def answer_permission(self, request_id: Any, option_id: str | None) -> None:
        """Answer a pending permission: an option id, or None for ``cancelled``."""
        pending = self.state.pending_requests.get(request_key(request_id))
        if pending is None:
            raise RoomError("that permission request is no longer pending")
        outcome: dict[str, Any] = {"outcome": "cancelled"} if option_id is None else {"outcome": "selected", "optionId": option_id}
        result = {"outcome": outcome}
        if self.proc is not None:
            self.proc.respond(pending.request_id, result)
        self._gate(
            F.amux_frame(F.AGENT_REQUEST_RESOLVED, self.id, requestId=pending.request_id, resolvedBy=F.RESOLVED_LOCAL, result=result)
        )
        self._changed()

    def rename(self, title: str) -> None:
        title = " ".join(title.split())  # no control characters or newlines in titles
        title = "".join(ch for ch in title if ch.isprintable())[:120]
        if not title:
            raise RoomError("a title cannot be empty")
        self.meta.title = title
        self._gate(F.amux_frame(F.ROOM_RENAMED, self.id, title=title))
        self._save_meta_soon()
        self._changed()

    def set_draft(self, text: str) -> None:
        if text != self.meta.draft:
            self.meta.draft = text
            self._save_meta_soon()

    # ---- persistence ---------------------------------------------------------------------------
    def _sync_log(self) -> None:
        """Turn settlement: everything reaches the OS now, and the disk soon (fsync off-loop)."""
        self.log.flush()
        self._spawn(asyncio.to_thread(self.log.sync))

    def _save_meta_soon(self) -> None:
        if self.meta_path is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.save_meta()
            return
        if self._meta_timer is None:
            self._meta_timer = loop.call_later(0.3, self._save_meta_async)

    def _save_meta_async(self) -> None:
        self._meta_timer = None
        self._spawn(asyncio.to_thread(self.save_meta))

    def save_meta(self) -> None:
        if self.meta_path is None:
            return
        self.meta.queue_held = self.queue_held
        self.meta.title = self.title
        try:
            write_json_atomic(self.meta_path, self.meta.to_json())
        except OSError as exc:
            self._on_write_error(exc)

    async def close(self) -> None:
        """Clean quit: cancel an active turn, stop the agent, sync log and metadata.

        Queued prompts stay queued and come back held: nothing new starts while quitting.
        """
        self._closing = True
        for item in self.state.queue:
            item.held = True
        start = self._start_task
        if start is not None and not start.done():
            start.cancel()  # quitting during a handshake must not leave an agent behind
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await start
        if self.busy and self.proc is not None and self.proc.running:
            self.cancel(reason="app_exit")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait_idle(), 2.0)
        await self.stop()
        if self._meta_timer is not None:
            self._meta_timer.cancel()
            self._meta_timer = None
        for task in list(self._bg):
            try:
                await task
            except Exception:
                log.exception("background task failed")
        self.save_meta()
        self.log.close()

    async def _wait_idle(self) -> None:
        while self.busy:
            await asyncio.sleep(0.02)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    return _running_loop() is loop


class HandshakeFailed(Exception):
    """The agent answered, but not in a way amux can work with."""


def _ignore_future(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()  # consumed: settlement happens in on_response; exits in _on_exit


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


SubscriberCallback = Callable[[Room], None]
