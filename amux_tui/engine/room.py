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
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from amux_tui.acp.framing import Frame
from amux_tui.acp.process import AgentProcess
from amux_tui.engine import frames as F
from amux_tui.engine.lifecycle import Lifecycle
from amux_tui.engine.meta import RoomMeta
from amux_tui.engine.room_session import (  # noqa: F401 - the lifecycle names are part of this API
    BUSY,
    EXITED,
    FAILED,
    FORCE_STOP_AFTER,
    HANDSHAKE_TIMEOUT,
    NOT_STARTED,
    READY,
    STARTING,
    AgentSession,
    HandshakeFailed,
)
from amux_tui.engine.state import QueueItem, RoomState, request_key
from amux_tui.engine.store import ReplayLog, write_json_atomic
from amux_tui.engine.timeutil import now_rfc3339
from amux_tui.engine.transcript import Block, Transcript
from amux_tui.text import plain

log = logging.getLogger("amux.room")


class RoomSubscriber(Protocol):
    """Something attached to a room: the Textual UI, later a socket client."""

    def room_frame(
        self, room: Room, frame: dict[str, Any], seq: int, blocks: list[Block]
    ) -> None: ...

    def room_status(self, room: Room) -> None: ...


class RoomError(Exception):
    """A room action that cannot be done now; the message is shown to the user."""


class Room(AgentSession):
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
        self.lifecycle: Lifecycle = NOT_STARTED
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
            log_.on_recover = self._on_write_recovered

    def install(
        self, state: RoomState, transcript: Transcript, log_: ReplayLog, load: Any = None
    ) -> None:
        """Give the room its hydrated state and its open log (rooms load lazily)."""
        self.state, self.transcript, self.log, self.load_result = state, transcript, log_, load
        self._loop = _running_loop()
        log_.on_error = self._on_write_error
        log_.on_recover = self._on_write_recovered
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
    def status(self) -> Lifecycle:
        """Exactly one lifecycle state (SPEC §1.2); ``busy`` while a turn is in flight."""
        if self.lifecycle == READY and self.state.active_turn_id is not None:
            return BUSY
        return self.lifecycle

    @property
    def stopped(self) -> bool:
        """The agent exited or failed to start (restart is the user's call)."""
        return self.lifecycle.stopped

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
    def public_queue(self) -> list[QueueItem]:
        """Queued prompts the user sees (not a hard steer's replacement)."""
        return self.state.public_queue

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
        self._emit(F.PEER_JOINED, peerId=peer_id)

    def unsubscribe(self, sub: RoomSubscriber, *, peer_id: str = F.LOCAL_PEER) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)
            self._emit(F.PEER_LEFT, peerId=peer_id)

    # ---- the broadcast gate --------------------------------------------------------------------
    def _gate(self, frame: dict[str, Any], raw: bytes | None = None) -> None:
        """Record → state → subscribers. ``raw`` is the agent's line, recorded verbatim."""
        if frame.get("method") == F.SEGMENT_STARTED:
            tag = (
                F.parse_id(frame["params"].get("segmentId"), "seg") or self.state.active_segment_id
            )
        else:
            tag = self.state.active_segment_id
        try:
            record = self.log.append(raw if raw is not None else frame, tag)
        except (ValueError, TypeError) as exc:
            # JSON the wire accepts but the log's decoder would refuse on reload (e.g. a
            # lone surrogate escape): record amux's own re-encoding rather than lose it.
            if raw is None:
                raise
            log.warning("room %s: recording a re-encoded frame (%s)", self.id, exc)
            record = self.log.append(frame, tag)
        self.state.apply(frame, record.seq, tag, record.recorded_at)
        blocks = self.transcript.apply(frame, record.seq, record.recorded_at)
        for sub in tuple(self._subscribers):
            try:
                sub.room_frame(self, frame, record.seq, blocks)
            except Exception:  # a broken view must not break the room
                log.exception("subscriber failed on %s", frame.get("method"))

    def _emit(self, method: str, **fields: Any) -> None:
        """Broadcast an ``amux/*`` frame of this room through the gate."""
        self._gate(F.amux_frame(method, self.id, **fields))

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

    def _on_write_recovered(self) -> None:
        loop = self._loop
        if loop is not None and not _on_loop(loop):
            loop.call_soon_threadsafe(self._on_write_recovered)
            return
        if self.write_error is not None:
            log.warning("room %s: log writes work again", self.id)
        self.write_error = None
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
        self._emit(
            F.QUEUE_ITEM_ADDED, queueItemId=qid, peerId=F.LOCAL_PEER, text=text, status="queued"
        )
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
        self._emit(
            F.QUEUE_ITEM_REMOVED,
            queueItemId=queue_item_id,
            removedBy=F.LOCAL_PEER,
            reason="unqueued",
        )
        self._changed()

    def edit_queued(self, queue_item_id: str, text: str) -> None:
        if not any(q.id == queue_item_id for q in self.state.queue):
            raise RoomError(f"no queued prompt {queue_item_id}")
        self._emit(F.QUEUE_ITEM_EDITED, queueItemId=queue_item_id, text=text)
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

    def _start_turn(
        self, text: str, *, queue_item_id: str | None = None, supersedes: str | None = None
    ) -> None:
        assert self.proc is not None and self.state.acp_session_id
        turn_id = F.format_id("at", self.state.next_turn)
        content = [{"type": "text", "text": text}]
        self._emit(
            F.TURN_STARTED,
            amuxTurnId=turn_id,
            peerId=F.LOCAL_PEER,
            content=content,
            queueItemId=queue_item_id,
            supersedesTurnId=supersedes,
        )
        if queue_item_id is not None:
            self._emit(F.QUEUE_ITEM_SUBMITTED, queueItemId=queue_item_id, amuxTurnId=turn_id)
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
        self._gate(
            F.turn_complete(self.id, turn_id, stop if isinstance(stop, str) else None, error)
        )  # (3)
        if queue_item_id is not None:  # (4)
            self._emit(
                F.QUEUE_ITEM_COMPLETED,
                queueItemId=queue_item_id,
                amuxTurnId=turn_id,
                stopReason=stop if isinstance(stop, str) else None,
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
            self._emit(
                F.AGENT_REQUEST_RESOLVED,
                requestId=pending.request_id,
                resolvedBy=F.RESOLVED_TURN_ENDED,
            )

    def cancel(self, *, reason: str | None = None) -> bool:
        """Cancel the active turn (SPEC §4.2); False when there is none."""
        turn_id = self.state.active_turn_id
        if turn_id is None or self.proc is None:
            return False
        self._emit(F.TURN_CANCELLED, amuxTurnId=turn_id, cancelledBy=F.LOCAL_PEER, reason=reason)
        self._cancel_on_agent()
        return True

    def _cancel_on_agent(self) -> None:
        assert self.proc is not None
        self.proc.notify(F.SESSION_CANCEL, {"sessionId": self.state.acp_session_id})
        for pending in self.pending_permissions:
            result = {"outcome": {"outcome": "cancelled"}}
            self.proc.respond(pending.request_id, result)
            self._emit(
                F.AGENT_REQUEST_RESOLVED,
                requestId=pending.request_id,
                resolvedBy=F.RESOLVED_LOCAL,
                result=result,
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
            self._emit(
                F.CONTROL_SUBMITTED,
                kind="steer",
                mode="prompt",
                peerId=F.LOCAL_PEER,
                amuxTurnId=predicted,
                text=text,
            )
            self._start_turn(text)
            return "sent"
        if any(q.supersedes is not None for q in self.state.queue):
            raise RoomError("a steer is already pending for this turn")
        original = self.state.active_turn_text or "(unavailable/non-text)"
        replacement = (
            f"[amux] The user steered turn {turn_id} while it was running. Redo the original "
            f"request, taking the steer into account.\n\nOriginal prompt:\n{original}\n\nSteer:\n{text}"
        )
        self._emit(
            F.CONTROL_SUBMITTED,
            kind="steer",
            mode="hard",
            peerId=F.LOCAL_PEER,
            amuxTurnId=turn_id,
            text=text,
            replacementText=replacement,
        )
        self._emit(
            F.TURN_CANCELLED, amuxTurnId=turn_id, cancelledBy=F.LOCAL_PEER, reason="hard_steer"
        )
        self._cancel_on_agent()
        return "steered"

    def answer_permission(self, request_id: Any, option_id: str | None) -> None:
        """Answer a pending permission: an option id, or None for ``cancelled``."""
        pending = self.state.pending_requests.get(request_key(request_id))
        if pending is None:
            raise RoomError("that permission request is no longer pending")
        outcome: dict[str, Any] = (
            {"outcome": "cancelled"}
            if option_id is None
            else {"outcome": "selected", "optionId": option_id}
        )
        result = {"outcome": outcome}
        if self.proc is not None:
            self.proc.respond(pending.request_id, result)
        self._emit(
            F.AGENT_REQUEST_RESOLVED,
            requestId=pending.request_id,
            resolvedBy=F.RESOLVED_LOCAL,
            result=result,
        )
        self._changed()

    def rename(self, title: str) -> None:
        title = plain(title)  # no control characters or newlines in titles
        if not title:
            raise RoomError("a title cannot be empty")
        self.meta.title = title
        self._emit(F.ROOM_RENAMED, title=title)
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


def _ignore_future(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()  # consumed: settlement happens in on_response; exits in _on_exit


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    return _running_loop() is loop


SubscriberCallback = Callable[[Room], None]
