"""A room: one agent, its conversation and its log (SPEC §4).

Every frame the room broadcasts goes through ``Room._gate``: (1) record it in the replay
log, (2) fold it into the :class:`~amux_tui.engine.model.RoomModel`, (3) fan it out to
subscribers, and (4) tell them when the room's status changed. The agent side lives in
:class:`~amux_tui.engine.connection.AgentConnection`, which reports what the agent says
through the :class:`~amux_tui.engine.connection.AgentLink` methods below, synchronously
and in stdout order, so recorded order is the order the agent spoke in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from amux_tui.acp.framing import Frame
from amux_tui.acp.pacing import Pacer
from amux_tui.acp.process import AgentProcess
from amux_tui.engine import frames as F
from amux_tui.engine.compaction import (
    CompactionSignal,
    CompactionTracker,
    parse_hermes_line,
    signal_from_update,
)
from amux_tui.engine.connection import AgentConnection, AgentLaunch, StartFailed
from amux_tui.engine.hydrate import hydrate
from amux_tui.engine.lifecycle import Lifecycle
from amux_tui.engine.meta import RoomMeta
from amux_tui.engine.meta_saver import MetaSaver
from amux_tui.engine.model import RoomModel
from amux_tui.engine.state import QueueItem, RoomState
from amux_tui.engine.store import LoadResult, ReplayLog
from amux_tui.engine.summary import summarize
from amux_tui.engine.timeutil import now_rfc3339
from amux_tui.engine.transcript import Transcript
from amux_tui.engine.transcript_blocks import Block, Permission, UserPrompt
from amux_tui.text import plain

logger = logging.getLogger("amux.room")

FORCE_STOP_AFTER = 10.0  # seconds after cancel before force stop is offered (SPEC §4.2)


class RoomSubscriber:
    """Something attached to a room (the Textual UI, a control-socket client).

    Subclasses override what they need; every call happens on the room's event loop.
    """

    def room_frame(self, room: Room, frame: dict[str, Any], seq: int, blocks: list[Block]) -> None:
        """A frame was recorded; ``blocks`` are the transcript blocks it added or changed."""

    def room_status(self, room: Room) -> None:
        """Something the room's status shows changed (lifecycle, flags, title, queue…)."""

    def room_attention(self, room: Room, reason: str) -> None:
        """Something happened that a person not watching the room may want to know."""


class RoomError(Exception):
    """A room action that cannot be done now; the message is shown to the user."""


class Room:
    """One agent session: lifecycle, turns, queue, steer, permissions, segments, compaction.

    Args:
        meta: the room's metadata (read from ``<roomId>.json`` or made for a new room).
        launch: how to run its agent; None when the room's agent is unknown.
        log_path: its replay log; read by :meth:`load`, appended to afterwards.
        meta_path: where :meth:`save_meta` writes the metadata (None: never saved).
        pacer: how its agent's output shares the event loop (the engine's, shared by all).
    """

    def __init__(
        self,
        meta: RoomMeta,
        launch: AgentLaunch | None,
        log_path: Path,
        meta_path: Path | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.meta = meta
        self.id = meta.room_id
        self.log_path = log_path
        self.meta_path = meta_path
        self.model = RoomModel(meta.room_id)
        self.agent = AgentConnection(launch, self, pacer)
        self.load_result: LoadResult | None = None
        self.load_error: str | None = None  # why the log could not be loaded (retry: restart)
        self.meta_problem: str | None = None  # what was wrong with <roomId>.json at startup
        self.failure: str | None = None
        self.exit_code: int | None = meta.exit_code
        self.log_error: str | None = None  # the log's current write failure
        self.cancel_requested_at: float | None = None
        self.force_stop_after = FORCE_STOP_AFTER
        self._log: ReplayLog | None = None
        self._compactions = CompactionTracker()
        self._lifecycle = Lifecycle.NOT_STARTED
        self._subscribers: list[RoomSubscriber] = []
        self._closing = False
        self._load_task: asyncio.Task[None] | None = None
        self._start_task: asyncio.Task[None] | None = None
        self._unannounced: list[str] = []  # peers that subscribed before the log was loaded
        self._meta = MetaSaver(
            meta_path, self._meta_payload, self._on_meta_error, self._on_write_recovered
        )
        self._bg: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    # ---- loading -------------------------------------------------------------------------------
    async def load(self) -> None:
        """Hydrate the room from its log (in a worker thread) and open the log for appends.

        Idempotent; concurrent callers share one load. A turn the log shows unsettled
        (amux died mid-turn) is recorded as interrupted. A log that cannot or must not be
        read (a directory or FIFO in its place, a symlink, another user's file, a log at
        the largest seq) does not raise: the room becomes ``failed`` with the reason and
        the fix, and the next :meth:`load` (a restart) tries again.
        """
        if self._log is not None:
            return
        if self._load_task is None:
            self._load_task = asyncio.get_running_loop().create_task(self._load())
        await asyncio.shield(self._load_task)

    async def _load(self) -> None:
        try:
            hydrated = await asyncio.to_thread(hydrate, self.log_path, self.id)
            log = ReplayLog.open(self.log_path, hydrated.load)
        except OSError as exc:
            self._load_task = None  # the next load (a restart) tries again
            self.load_error = str(exc)
            logger.error("room %s: cannot load its log: %s", self.id, exc)
            self._fail(f"cannot load the room's log: {exc}")
            return
        if self.load_error is not None:  # a retried load worked: not failed any more
            self.load_error = None
            if self._lifecycle is Lifecycle.FAILED:
                self._lifecycle, self.failure = Lifecycle.NOT_STARTED, None
        self.open_log(hydrated.model, log, hydrated.load)
        for frame in hydrated.closing:
            self._gate(frame)
        if hydrated.closing:
            self.log.flush()
        if self.meta_problem is not None:
            self._rebuild_meta()
        if self.meta.summary != self._summary():  # so `amux ls` need not read this log
            self._save_meta_soon()

    def open_log(self, model: RoomModel, log: ReplayLog, load: LoadResult) -> None:
        """Take over ``model`` (folded from ``log``'s file) and append to ``log`` from now on."""
        self.model, self._log, self.load_result = model, log, load
        self._loop = _running_loop()  # None: made before the app's loop runs (tests, scripts)
        log.on_error = self._on_log_error
        log.on_recover = self._on_log_recovered
        self._idle_check()
        self._changed()
        for peer_id in self._unannounced:
            self._emit(F.PEER_JOINED, peerId=peer_id)
        self._unannounced.clear()

    @property
    def loaded(self) -> bool:
        return self._log is not None

    @property
    def log(self) -> ReplayLog:
        """The room's replay log (only once :meth:`load` has run)."""
        if self._log is None:
            if self.load_error is not None:
                raise RoomError(f"the room's log could not be loaded ({self.load_error})")
            raise RoomError("the room is still loading; try again in a moment")
        return self._log

    @property
    def write_error(self) -> str | None:
        """What could not be written (the log, else the metadata), for the room's header."""
        if self.log_error is not None:
            return f"log write failed: {self.log_error}"
        if self._meta.error is not None:
            return f"metadata write failed: {self._meta.error}"
        return None

    def record(self, frame: dict[str, Any]) -> None:
        """Record an amux frame through the gate (a notice, a repair)."""
        self._gate(frame)

    # ---- what the room shows ----------------------------------------------------------------
    @property
    def state(self) -> RoomState:
        """The facts folded from the room's frames."""
        return self.model.state

    @property
    def transcript(self) -> Transcript:
        return self.model.transcript

    @property
    def title(self) -> str:
        return self.model.title or self.meta.title

    @property
    def status(self) -> Lifecycle:
        """Exactly one lifecycle state (SPEC §1.2); ``busy`` while a turn is in flight."""
        if self._lifecycle is Lifecycle.READY and self.model.active_turn_id is not None:
            return Lifecycle.BUSY
        return self._lifecycle

    @property
    def stopped(self) -> bool:
        """The agent exited or failed to start (restarting is the user's call)."""
        return self._lifecycle.stopped

    @property
    def busy(self) -> bool:
        return self.model.active_turn_id is not None

    @property
    def compacting(self) -> bool:
        return self.model.state.compaction.active

    @property
    def pending_permissions(self) -> list[Permission]:
        return self.model.pending_permissions()

    @property
    def queue(self) -> list[QueueItem]:
        return self.model.state.queue

    @property
    def public_queue(self) -> list[QueueItem]:
        """Queued prompts the user sees (not a hard steer's replacement)."""
        return self.model.state.public_queue

    @property
    def queue_held(self) -> bool:
        return any(q.held for q in self.model.state.queue)

    @property
    def force_stop_available(self) -> bool:
        return (
            self.busy
            and self.cancel_requested_at is not None
            and time.monotonic() - self.cancel_requested_at >= self.force_stop_after
        )

    @property
    def proc(self) -> AgentProcess | None:
        return self.agent.proc

    @property
    def stderr_tail(self) -> list[str]:
        return self.agent.stderr_tail

    def subscribe(
        self,
        sub: RoomSubscriber,
        *,
        peer_id: str | None = F.LOCAL_PEER,
        peer_name: str | None = None,
    ) -> None:
        """Attach ``sub``; a peer (``peer_id``) is announced with ``amux/peer_joined``.

        ``peer_id=None`` attaches silently: an observer inside amux (a control-socket
        client following its own prompt), not a viewer of the room. A room whose log could
        not be loaded (yet) still reports its status to ``sub``, and records the join once
        the log loads.
        """
        self._subscribers.append(sub)
        if peer_id is None:
            return
        if self.loaded:
            self._emit(F.PEER_JOINED, peerId=peer_id, peerName=peer_name)
        else:
            self._unannounced.append(peer_id)

    def unsubscribe(self, sub: RoomSubscriber, *, peer_id: str | None = F.LOCAL_PEER) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)
            if peer_id is None:
                return
            if peer_id in self._unannounced:
                self._unannounced.remove(peer_id)
            elif self._log is not None and not self._log.closed:
                self._emit(F.PEER_LEFT, peerId=peer_id)

    # ---- the broadcast gate ---------------------------------------------------------------------
    def _gate(
        self, frame: dict[str, Any], raw: bytes | None = None, *, strict: bool = False
    ) -> None:
        """Record → model → subscribers. ``raw`` is the agent's line, recorded verbatim
        (``strict``: already known to be what the log can read back, see ``Frame``)."""
        if raw is not None and F.is_amux_method(frame.get("method")):
            # SPEC §4.1: the namespace is amux's. The connection refuses such agent lines
            # before they get here; this keeps the gate itself from ever recording one.
            logger.error("room %s: refused an agent frame in the amux/ namespace", self.id)
            return
        model = self.model
        if frame.get("method") == F.SEGMENT_STARTED:
            segment_id = F.parse_id(frame["params"].get("segmentId"), "seg")
            if segment_id is None:
                segment_id = model.state.active_segment_id
        else:
            segment_id = model.state.active_segment_id
        log = self.log
        try:
            record = log.append(raw if raw is not None else frame, segment_id, checked=strict)
        except (ValueError, TypeError) as exc:
            # JSON the wire accepts but the log's decoder would refuse on reload (e.g. a
            # lone surrogate escape): record amux's own re-encoding rather than lose it.
            if raw is None:
                raise
            logger.warning("room %s: recording a re-encoded frame (%s)", self.id, exc)
            record = log.append(frame, segment_id)
        blocks = model.apply(frame, record.seq, segment_id, record.recorded_at)
        status_changed, attention = model.status_changed, model.attention
        for sub in tuple(self._subscribers):
            try:
                sub.room_frame(self, frame, record.seq, blocks)
                if attention is not None:
                    sub.room_attention(self, attention)
            except Exception:  # a broken view must not break the room
                logger.exception("subscriber failed on %s", frame.get("method"))
        if status_changed:
            self._idle_check()
            self._changed()

    def _emit(self, method: str, **fields: Any) -> None:
        """Broadcast an ``amux/*`` frame of this room through the gate."""
        self._gate(F.amux_frame(method, self.id, **fields))

    def _changed(self) -> None:
        """The room's status (lifecycle, flags, queue…) changed: tell the subscribers."""
        self.meta.status = self.status.value
        if self.title != self.meta.title:  # the agent named its session: ls/show/ROOM see it
            self._save_meta_soon()
        for sub in tuple(self._subscribers):
            try:
                sub.room_status(self)
            except Exception:
                logger.exception("subscriber failed on status")

    def _idle_check(self) -> None:
        if self.model.active_turn_id is None:
            self._idle.set()
        else:
            self._idle.clear()

    def _on_log_error(self, exc: Exception) -> None:
        # The store reports from its flusher or fsync thread: hop back to the room's loop.
        if not self._on_own_loop(lambda: self._on_log_error(exc)):
            return
        self.log_error = str(exc)
        logger.error("room %s: log write failed: %s", self.id, exc)
        self._changed()

    def _on_log_recovered(self) -> None:
        if not self._on_own_loop(self._on_log_recovered):
            return
        if self.log_error is not None:
            logger.warning("room %s: log writes work again", self.id)
        self.log_error = None
        if self._meta.error is not None:
            self._save_meta_soon()  # there is space again: the metadata too
        self._changed()

    def _on_meta_error(self, exc: Exception) -> None:
        if self._on_own_loop(lambda: self._on_meta_error(exc)):
            self._changed()

    def _on_write_recovered(self) -> None:
        if self._on_own_loop(self._on_write_recovered):
            self._changed()

    def _on_own_loop(self, again: Any) -> bool:
        """True when called on the room's loop; otherwise schedule ``again`` there."""
        loop = self._loop
        if loop is None or _running_loop() is loop:
            return True
        loop.call_soon_threadsafe(again)
        return False

    # ---- turns ------------------------------------------------------------------------------------
    def prompt(self, text: str, *, peer_id: str = F.LOCAL_PEER) -> str:
        """Send a prompt; while busy it is queued instead (SPEC §4.2). Returns what happened.

        ``peer_id`` says who sent it (the UI is ``local``); the turn is attributed to them.
        """
        text = text.strip("\n")
        if not text.strip():
            raise RoomError("nothing to send")
        self.meta.remember_prompt(text)
        if self.busy or self._lifecycle is not Lifecycle.READY or self.model.state.queue:
            return self.enqueue(text, remember=False, peer_id=peer_id)
        self._start_turn(text, peer_id=peer_id)
        self._save_meta_soon()
        return "sent"

    def enqueue(self, text: str, *, remember: bool = True, peer_id: str = F.LOCAL_PEER) -> str:
        """Add to the queue (cap 6); submitted at once when the room is idle and ready."""
        if remember:
            self.meta.remember_prompt(text)
        if len(self.public_queue) >= F.QUEUE_CAP:
            raise RoomError(f"queue is full ({F.QUEUE_CAP} prompts waiting); remove one first")
        qid = F.format_id("q", self.model.state.next_queue_item)
        self._emit(F.QUEUE_ITEM_ADDED, queueItemId=qid, peerId=peer_id, text=text, status="queued")
        self._save_meta_soon()
        if self._lifecycle in (Lifecycle.NOT_STARTED, Lifecycle.EXITED):
            self.ensure_started()
        self._submit_next()
        return "queued" if any(q.id == qid for q in self.model.state.queue) else "sent"

    def unqueue(self, queue_item_id: str) -> None:
        if not any(q.id == queue_item_id for q in self.model.state.queue):
            raise RoomError(f"no queued prompt {queue_item_id}")
        self._emit(
            F.QUEUE_ITEM_REMOVED,
            queueItemId=queue_item_id,
            removedBy=F.LOCAL_PEER,
            reason="unqueued",
        )

    def edit_queued(self, queue_item_id: str, text: str) -> None:
        if not any(q.id == queue_item_id for q in self.model.state.queue):
            raise RoomError(f"no queued prompt {queue_item_id}")
        self._emit(F.QUEUE_ITEM_EDITED, queueItemId=queue_item_id, text=text)

    def release_queue(self) -> None:
        """Let held items (restored after a restart) run again, starting with the head."""
        for item in self.model.state.queue:
            item.held = False
        self.meta.queue_held = False
        self._save_meta_soon()
        if self._lifecycle in (Lifecycle.NOT_STARTED, Lifecycle.EXITED):
            self.ensure_started()
        self._submit_next()
        self._changed()

    def _start_turn(
        self,
        text: str,
        *,
        queue_item_id: str | None = None,
        supersedes: str | None = None,
        peer_id: str | None = None,
    ) -> None:
        session_id = self.model.state.acp_session_id
        assert session_id is not None
        turn_id = F.format_id("at", self.model.state.next_turn)
        content = [{"type": "text", "text": text}]
        self._emit(
            F.TURN_STARTED,
            amuxTurnId=turn_id,
            peerId=peer_id or F.LOCAL_PEER,
            content=content,
            queueItemId=queue_item_id,
            supersedesTurnId=supersedes,
        )
        if queue_item_id is not None:
            self._emit(F.QUEUE_ITEM_SUBMITTED, queueItemId=queue_item_id, amuxTurnId=turn_id)
        self.cancel_requested_at = None
        self.meta.last_active = now_rfc3339()
        self.agent.prompt(
            session_id, content, lambda resp: self._settle(turn_id, queue_item_id, resp)
        )

    def _settle(self, turn_id: str, queue_item_id: str | None, response: Frame) -> None:
        """Turn settlement in exactly the order of SPEC §4.2 ((2), the stranded-compaction
        bound, is part of the fold of ``turn_complete``)."""
        if self.model.active_turn_id != turn_id:
            return
        self._sweep_requests(answer=True)  # (1)
        result, error = response.result, response.error
        stop = result.get("stopReason") if isinstance(result, dict) else None
        stop = stop if isinstance(stop, str) else None
        self._gate(F.turn_complete(self.id, turn_id, stop, error))  # (2) and (3)
        if queue_item_id is not None:  # (4)
            self._emit(
                F.QUEUE_ITEM_COMPLETED,
                queueItemId=queue_item_id,
                amuxTurnId=turn_id,
                stopReason=stop,
            )
        self.cancel_requested_at = None
        self._sync_log()
        self._submit_next()  # (5)
        self._save_meta_soon()

    def _submit_next(self) -> None:
        queue = self.model.state.queue
        if self.busy or self._lifecycle is not Lifecycle.READY or not queue or self._closing:
            return
        head = queue[0]
        if head.held:
            return
        if head.id is None:
            self._start_turn(head.text, supersedes=head.supersedes)
        else:
            self._start_turn(head.text, queue_item_id=head.id, peer_id=head.peer_id)

    def _sweep_requests(self, *, answer: bool) -> None:
        """Resolve every pending request as ended with its turn (answering the agent)."""
        for pending in self.pending_permissions:
            if answer:
                self.agent.respond(pending.request_id, {"outcome": {"outcome": "cancelled"}})
            self._emit(
                F.AGENT_REQUEST_RESOLVED,
                requestId=pending.request_id,
                resolvedBy=F.RESOLVED_TURN_ENDED,
            )

    def cancel(self, *, reason: str | None = None, by: str = F.LOCAL_PEER) -> bool:
        """Cancel the active turn (SPEC §4.2); False when there is none. ``by``: who asked."""
        turn_id = self.model.active_turn_id
        if turn_id is None or not self.agent.running:
            return False
        self._emit(F.TURN_CANCELLED, amuxTurnId=turn_id, cancelledBy=by, reason=reason)
        self._cancel_on_agent()
        return True

    def _cancel_on_agent(self) -> None:
        self.agent.cancel(self.model.state.acp_session_id)
        for pending in self.pending_permissions:
            self._answer(pending, {"outcome": {"outcome": "cancelled"}})
        if self.cancel_requested_at is None:
            self.cancel_requested_at = time.monotonic()
        self._changed()

    def steer(self, text: str) -> str:
        """Hard-steer the active turn, or submit ``text`` as a prompt when idle (SPEC §4.4)."""
        text = text.strip()
        if not text:
            raise RoomError("nothing to steer with")
        self.meta.remember_prompt(text)
        turn_id = self.model.active_turn_id
        if turn_id is None:
            if self._lifecycle is not Lifecycle.READY:
                raise RoomError(f"the agent is {self.status}")
            predicted = F.format_id("at", self.model.state.next_turn)
            self._emit_steer("prompt", predicted, text)
            self._start_turn(text)
            return "sent"
        if any(q.supersedes is not None for q in self.model.state.queue):
            raise RoomError("a steer is already pending for this turn")
        original = self.model.state.active_turn_text or "(no text)"
        replacement = (
            "[amux] The user steered the previous turn while it was running. Redo the "
            "original request, taking the steer into account."
            f"\n\nOriginal prompt:\n{original}\n\nSteer:\n{text}"
        )
        self._emit_steer("hard", turn_id, text, replacementText=replacement)
        self._emit(
            F.TURN_CANCELLED, amuxTurnId=turn_id, cancelledBy=F.LOCAL_PEER, reason="hard_steer"
        )
        self._cancel_on_agent()
        return "steered"

    def _emit_steer(self, mode: str, turn_id: str, text: str, **extra: Any) -> None:
        self._emit(
            F.CONTROL_SUBMITTED,
            kind="steer",
            mode=mode,
            peerId=F.LOCAL_PEER,
            amuxTurnId=turn_id,
            text=text,
            **extra,
        )

    def answer_permission(self, request_id: Any, option_id: str | None) -> None:
        """Answer a pending permission: an option id, or None for ``cancelled``."""
        pending = self.model.pending_permission(request_id)
        if pending is None:
            raise RoomError("that permission request is no longer pending")
        outcome: dict[str, Any] = (
            {"outcome": "cancelled"}
            if option_id is None
            else {"outcome": "selected", "optionId": option_id}
        )
        self._answer(pending, {"outcome": outcome})

    def _answer(self, pending: Permission, result: dict[str, Any]) -> None:
        """Answer the agent and record that the user (``local``) resolved the request."""
        self.agent.respond(pending.request_id, result)
        self._emit(
            F.AGENT_REQUEST_RESOLVED,
            requestId=pending.request_id,
            resolvedBy=F.RESOLVED_LOCAL,
            result=result,
        )

    def rename(self, title: str) -> None:
        title = plain(title)  # one line, no control characters
        if not title:
            raise RoomError("a title cannot be empty")
        self.meta.title = title
        self._emit(F.ROOM_RENAMED, title=title)
        self._save_meta_soon()

    def set_draft(self, text: str) -> None:
        if text != self.meta.draft:
            self.meta.draft = text
            self._save_meta_soon()

    # ---- the agent's lifecycle -----------------------------------------------------------------
    def ensure_started(self) -> asyncio.Task[None] | None:
        """Start the agent if it is not running (lazy start); returns the start task.

        Idempotent within a tick: a start already under way is returned, never doubled.
        """
        if self._closing:
            return None
        if self._start_task is not None and not self._start_task.done():
            return self._start_task
        if self._lifecycle in (Lifecycle.STARTING, Lifecycle.READY):
            return self._start_task
        self._start_task = asyncio.get_running_loop().create_task(self.start())
        return self._start_task

    async def start(self) -> None:
        """Spawn, handshake and open or resume the ACP session (SPEC §3.3–3.4)."""
        await self.load()
        if not self.loaded or self._closing:
            return  # the log could not be loaded: the room shows why (failed)
        if self.agent.launch is None:
            self._fail(self.agent_unknown_reason())
            return
        self._lifecycle, self.failure, self.exit_code = Lifecycle.STARTING, None, None
        self._changed()
        recorded = self.model.state.acp_session_id or self.meta.acp_session_id
        try:
            await self.agent.connect(recorded)
        except StartFailed as exc:
            self._fail(str(exc))
            return
        if self._lifecycle is Lifecycle.STARTING:
            self._lifecycle = Lifecycle.READY
            self._changed()
            self._submit_next()

    async def wait_started(self) -> None:
        """Until a start under way has finished (at once when none is)."""
        task = self._start_task
        if task is not None and not task.done():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.shield(task)

    def _fail(self, reason: str) -> None:
        self._lifecycle, self.failure = Lifecycle.FAILED, reason
        self.agent.agent_log.append(f"failed: {reason}")
        self._changed()

    async def stop(self) -> None:
        """Stop the agent (close stdin → TERM → KILL); an active turn is interrupted."""
        await self.agent.stop()

    async def restart(self) -> None:
        """Stop if running, then start again and resume the same ACP session."""
        await self.stop()
        self._lifecycle = Lifecycle.NOT_STARTED
        await self.start()

    def force_stop(self) -> None:
        """Kill an agent that ignores cancel; its exit interrupts the turn, then restart."""
        if self.agent.proc is None:
            return
        self.agent.kill()
        self._spawn(self._restart_after_exit())

    async def _restart_after_exit(self) -> None:
        await self.agent.wait_exit()
        await self.start()

    # ---- AgentLink: what the agent says ----------------------------------------------------------
    def session_opened(self, session_id: str, reason: str) -> None:
        self._set_session(session_id, reason)

    def session_resumed(self, session_id: str, via: str, replayed: int) -> None:
        if self.model.state.active_segment is None or self.model.state.acp_session_id != session_id:
            self._set_session(session_id, F.END_SESSION_LOAD)
        self._emit(F.SESSION_RESUMED, acpSessionId=session_id, via=via, replayedUpdates=replayed)
        self._save_meta_soon()

    def agent_notification(self, msg: dict[str, Any], raw: bytes, *, strict: bool = False) -> None:
        params = msg.get("params")
        if isinstance(params, dict):
            sid = params.get("sessionId")
            current = self.model.state.acp_session_id
            if isinstance(sid, str) and current and sid != current:
                self._set_session(sid, F.END_ACP_SESSION_ID_CHANGED)
        self._gate(msg, raw, strict=strict)
        method = msg.get("method")
        if method == F.SESSION_UPDATE and isinstance(params, dict):
            signal = signal_from_update(params.get("update"))
            if signal is not None:
                self._compaction(signal)
        elif method == F.CANCEL_REQUEST and isinstance(params, dict):
            pending = self.model.pending_permission(params.get("requestId"))
            if pending is not None:
                self._emit(
                    F.AGENT_REQUEST_RESOLVED,
                    requestId=pending.request_id,
                    resolvedBy=F.RESOLVED_AGENT_CANCELLED,
                )

    def permission_requested(self, frame: Frame) -> None:
        self._emit(
            F.AGENT_REQUEST_OPENED,
            requestId=frame.id,
            requestMethod=frame.method,
            requestParams=frame.params or None,
            amuxTurnId=self.model.active_turn_id,
        )

    def agent_stderr(self, line: str) -> None:
        signal = parse_hermes_line(line)
        if signal is not None:
            self._compaction(signal)

    def agent_exited(self, code: int, *, requested: bool) -> None:
        self.exit_code = code
        self.meta.exit_code = code
        turn_id = self.model.active_turn_id
        if turn_id is not None:
            self._sweep_requests(answer=False)
            self._emit(F.TURN_INTERRUPTED, amuxTurnId=turn_id, reason=F.INTERRUPTED_AGENT_EXIT)
            self.cancel_requested_at = None
            self._sync_log()
        if self.loaded and not self.log.closed:
            # The process bound of SPEC §4.6 is part of this frame's fold: no compaction
            # outlives its agent, live and after a restart alike.
            self._emit(F.AGENT_EXITED, exitCode=code, requested=requested)
        for item in self.model.state.queue:  # nothing runs on its own against a dead agent
            item.held = True
        if requested:
            self._lifecycle = Lifecycle.NOT_STARTED
        elif self._lifecycle is not Lifecycle.FAILED:
            self._lifecycle = Lifecycle.EXITED
        self._save_meta_soon()
        self._changed()

    # ---- segments and compaction ---------------------------------------------------------------
    def _set_session(
        self, session_id: str, reason: str, provenance: dict[str, Any] | None = None
    ) -> None:
        """Open the first segment or rotate to a new one (SPEC §4.7)."""
        state = self.model.state
        seg = state.active_segment
        if (
            seg is not None
            and seg.acp_session_id == session_id
            and reason != F.END_HERMES_COMPRESSION
        ):
            return
        new = state.next_segment
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
            acpSessionId=session_id,
            openedAt=now,
            provenance=provenance or None,
        )
        self.meta.acp_session_id = session_id
        self._save_meta_soon()

    def _compaction(self, signal: CompactionSignal) -> None:
        """Apply a detected compaction start/end (SPEC §4.6); one compaction reported by
        two detectors counts once (see :class:`CompactionTracker`)."""
        event = self._compactions.signal(signal, self.model.active_turn_id)
        if event is None:
            return
        if not event.done:
            self._emit(F.COMPACTION_STARTED, source=event.source, **event.fields)
            return
        state = self.model.state
        extra: dict[str, Any] = {}
        previous = state.active_segment
        if event.provenance is not None and previous is not None:
            self._set_session(
                previous.acp_session_id or "", F.END_HERMES_COMPRESSION, event.provenance
            )
            extra = {
                "previousSegmentId": F.format_id("seg", previous.id),
                "successorSegmentId": F.format_id("seg", state.active_segment_id),
            }
        if not event.record:
            return
        completed = event.outcome == "completed"
        self._emit(
            F.COMPACTION_DONE,
            source=event.source,
            **event.fields,
            **extra,
            compressionCount=state.compaction.count + (1 if completed else 0),
            outcome=None if completed else event.outcome,
        )

    # ---- persistence ---------------------------------------------------------------------------
    def _sync_log(self) -> None:
        """Turn settlement: everything reaches the OS now, and the disk soon (fsync off-loop)."""
        log = self.log
        log.flush()
        self._spawn(asyncio.to_thread(log.sync))

    def _save_meta_soon(self) -> None:
        self._meta.soon()

    def _meta_payload(self) -> dict[str, Any]:
        self.meta.queue_held = self.queue_held
        self.meta.title = self.title
        loop = self._loop
        if self._log is not None and (loop is None or _running_loop() is loop):
            # Taken with the log's end on the thread that appends, so both describe the
            # same records. Not loaded (the log is untouched) or another thread (an
            # emergency save): the last summary stands; readers check it against the log.
            self.meta.summary = self._summary()
        return self.meta.to_json()

    def _summary(self) -> dict[str, Any] | None:
        """The log summary ``ls``/``show`` read instead of the log (engine/summary.py)."""
        load = self.load_result
        return summarize(self.model, self.log.end_offset, load.bad_lines if load is not None else 0)

    def save_meta(self) -> bool:
        """Write the metadata now; False (reported on the room, retried) if it failed."""
        return self._meta.now()

    def forget_unsaved_meta(self) -> None:
        """The user saved the metadata elsewhere, or gave it up: stop retrying it."""
        self._meta.forget()

    @property
    def meta_error(self) -> str | None:
        """Why the last metadata write failed (None: it worked)."""
        return self._meta.error

    @property
    def meta_unsaved(self) -> bool:
        """A metadata change that is not on disk (the last write failed)."""
        return self._meta.error is not None and self._meta.dirty

    def _rebuild_meta(self) -> None:
        """The metadata file was missing or corrupt: take back what the log can tell
        (title and session id come from the model; the prompt history from the turns).
        The agent and working directory it cannot tell: the room asks for them."""
        if not self.meta.history:
            prompts = [b.text for b in self.model.blocks if isinstance(b, UserPrompt) and b.text]
            self.meta.history = prompts[-200:]
        if self.model.title:
            self.meta.title = self.model.title
        if self.model.state.acp_session_id:
            self.meta.acp_session_id = self.model.state.acp_session_id

    def agent_unknown_reason(self) -> str:
        """Why the room has no agent to start, and what to do (a failure message)."""
        if self.meta_problem is not None and self.meta_path is not None:
            return (
                f"its metadata {self.meta_path.name} {self.meta_problem}, so its agent is "
                "unknown; restart the room to choose it"
            )
        return "no agent is recorded for this room; restart the room to choose it"

    async def close(self) -> None:
        """Clean quit: cancel an active turn, stop the agent, sync log and metadata.

        Queued prompts stay queued and come back held: nothing new starts while quitting.
        """
        self._closing = True
        load = self._load_task
        if load is not None and not load.done():
            with contextlib.suppress(Exception):
                await load  # finish reading the log: its torn tail and closing frames
        for item in self.model.state.queue:
            item.held = True
        start = self._start_task
        if start is not None and not start.done():
            start.cancel()  # quitting during a handshake must not leave an agent behind
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await start
        if self.busy and self.agent.running:
            self.cancel(reason="app_exit")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), 2.0)
        await self.stop()
        for task in list(self._bg):
            try:
                await task
            except Exception:
                logger.exception("background task failed")
        await self._meta.stop()  # unsaved metadata stays listed by meta_unsaved
        if self._log is not None:
            await self._log.close_async()  # unwritten bytes stay in the log, never dropped

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
