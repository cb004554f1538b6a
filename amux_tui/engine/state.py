"""Room facts folded from recorded frames (SPEC §4, §5.3).

``RoomState`` holds what frames determine about a room besides its transcript: ids,
turns, the queue, segments, compaction, titles and what the agent reported (usage,
commands, mode). It is fed by :class:`~amux_tui.engine.model.RoomModel`, the one fold
that the live gate and hydration both call. It is pure bookkeeping: it never emits
frames and never touches the agent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from amux_tui.engine import frames as F
from amux_tui.engine.transcript_blocks import as_str, dict_items, prompt_text


class Segment(msgspec.Struct):
    """An interval of the room during which one ACP session id is in force."""

    id: int
    acp_session_id: str | None
    opened_at: str
    opened_seq: int
    closed_at: str | None = None
    closed_seq: int | None = None
    end_reason: str | None = None
    provenance: dict[str, Any] | None = None

    def snapshot(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": F.format_id("seg", self.id),
            "acpSessionId": self.acp_session_id,
            "openedAt": self.opened_at,
            "openedSeq": self.opened_seq,
        }
        if self.closed_at is not None:
            out["closedAt"] = self.closed_at
        if self.closed_seq is not None:
            out["closedSeq"] = self.closed_seq
        if self.end_reason is not None:
            out["endReason"] = self.end_reason
        if self.provenance:
            out["provenance"] = self.provenance
        return out


class QueueItem(msgspec.Struct):
    """A prompt waiting in the room's queue (public ``q-N`` items and hard-steer replacements)."""

    id: str | None  # None for a hard-steer replacement (not a public queue item)
    text: str
    held: bool = False
    supersedes: str | None = None  # hard steer: the turn it replaces
    peer_id: str | None = None  # who queued it; its turn is attributed to them


class Compaction(msgspec.Struct):
    """Compaction tracking (SPEC §4.6)."""

    active: bool = False
    count: int = 0
    last_source: str | None = None
    last_started_at: str | None = None
    last_completed_at: str | None = None

    def snapshot(self) -> dict[str, Any]:
        out: dict[str, Any] = {"active": self.active, "count": self.count}
        for key, value in (
            ("lastSource", self.last_source),
            ("lastStartedAt", self.last_started_at),
            ("lastCompletedAt", self.last_completed_at),
        ):
            if value is not None:
                out[key] = value
        return out


class RoomState(msgspec.Struct):
    """Everything about a room that frames determine."""

    room_id: str
    user_title: str | None = None  # amux/room_renamed: the user named the room
    agent_title: str | None = None  # session_info_update: the agent's name for the session
    usage: tuple[int, int] | None = None  # (used, size) tokens of the context window
    cost: dict[str, Any] | None = None
    mode: str | None = None
    available_commands: list[dict[str, Any]] = msgspec.field(default_factory=list)
    frame_count: int = 0
    last_seq: int = 0
    last_recorded_at: str | None = None
    # When something last happened: like last_recorded_at, but a viewer attaching or
    # leaving (peer presence) is not activity, so quitting amux does not count as one.
    last_activity_at: str | None = None
    next_turn: int = 1
    next_queue_item: int = 1
    next_segment: int = 1
    active_turn_id: str | None = None
    active_turn_text: str | None = None
    active_turn_queue_item: str | None = None
    turns_started: int = 0
    last_turn_seq: int = 0  # seq of the latest turn_started (0: no turn yet)
    queue: list[QueueItem] = msgspec.field(default_factory=list)
    segments: list[Segment] = msgspec.field(default_factory=list)
    active_segment: Segment | None = None
    acp_session_id: str | None = None
    compaction: Compaction = msgspec.field(default_factory=Compaction)

    # ---- the fold ------------------------------------------------------------------------
    def count(self, seq: int, segment_id: int, recorded_at: str, *, activity: bool = True) -> None:
        """The part of ``apply`` every frame gets (all a streamed chunk needs)."""
        self.frame_count += 1
        if type(seq) is int and seq > self.last_seq:
            self.last_seq = seq
        self.last_recorded_at = recorded_at
        if activity:
            self.last_activity_at = recorded_at
        if segment_id >= self.next_segment:
            self.next_segment = segment_id + 1

    def apply(self, frame: Any, seq: int, segment_id: int, recorded_at: str) -> bool:
        """Fold one recorded frame; True when a fact the room's status shows changed."""
        method = frame.get("method") if isinstance(frame, dict) else None
        self.count(seq, segment_id, recorded_at, activity=not _bookkeeping(method, frame))
        if not isinstance(frame, dict):
            return False
        handler = _HANDLERS.get(method) if isinstance(method, str) else None
        if handler is None:
            return False
        params = frame.get("params")
        params = params if isinstance(params, dict) else {}
        if handler is _session_update:
            update = params.get("update")
            kind = update.get("sessionUpdate") if isinstance(update, dict) else None
            on_update = _UPDATES.get(kind) if isinstance(kind, str) else None
            return on_update is not None and on_update(self, update)  # type: ignore[arg-type]
        handler(self, params, seq, segment_id, recorded_at)
        return True

    def _turn_started(self, p: dict[str, Any], seq: int, segment_id: int, at: str) -> None:
        turn_id = p.get("amuxTurnId")
        n = F.parse_id(turn_id, "at")
        if n is not None and n >= self.next_turn:
            self.next_turn = n + 1
        self.active_turn_id = turn_id if isinstance(turn_id, str) else None
        self.active_turn_text = prompt_text(p.get("content"))
        qid = p.get("queueItemId")
        self.active_turn_queue_item = qid if isinstance(qid, str) else None
        self.turns_started += 1
        self.last_turn_seq = seq
        sup = p.get("supersedesTurnId")
        if sup is not None:
            # The hard-steer replacement left the queue when it started.
            self.queue = [q for q in self.queue if q.supersedes != sup]

    def _turn_settled(self, p: dict[str, Any], seq: int, segment_id: int, at: str) -> None:
        turn_id = p.get("amuxTurnId")
        if self.active_turn_id is None or turn_id == self.active_turn_id:
            self.active_turn_id = None
            self.active_turn_text = None
            self.active_turn_queue_item = None
        # The settlement bound (SPEC §4.6): a turn that settles ends any compaction it
        # started, so a lost `done` can never leave the badge stuck — live or rehydrated.
        self.compaction.active = False

    def process_ended(self) -> bool:
        """The process bound (SPEC §4.6): no compaction outlives the agent process that
        ran it. Applied when ``amux/agent_exited`` is recorded (live, and when rehydrating
        it) and at the end of hydration, since a restarted amux has no agent from before.
        Count and history are untouched, no frame is emitted. True if it changed."""
        changed = self.compaction.active
        self.compaction.active = False
        return changed

    def _agent_exited(self, p: dict[str, Any], seq: int, segment_id: int, at: str) -> None:
        self.process_ended()

    def _queue_added(self, p: dict[str, Any], seq: int, segment_id: int, at: str) -> None:
        qid = p.get("queueItemId")
        n = F.parse_id(qid, "q")
        if n is not None and n >= self.next_queue_item:
            self.next_queue_item = n + 1
        if isinstance(qid, str) and not any(q.id == qid for q in self.queue):
            text = p.get("text")
            item = QueueItem(
                qid, text if isinstance(text, str) else "", peer_id=as_str(p.get("peerId"))
            )
            self.queue.append(item)

    def _queue_gone(self, p: dict[str, Any], seq: int, segment_id: int, at: str) -> None:
        qid = p.get("queueItemId")
        self.queue = [q for q in self.queue if q.id != qid]

    def _queue_edited(self, p: dict[str, Any], seq: int, segment_id: int, at: str) -> None:
        qid, text = p.get("queueItemId"), p.get("text")
        for item in self.queue:
            if item.id == qid and isinstance(text, str):
                item.text = text

    def _control(self, p: dict[str, Any], seq: int, segment_id: int, at: str) -> None:
        if p.get("mode") == "hard" and isinstance(p.get("amuxTurnId"), str):
            text = as_str(p.get("replacementText")) or as_str(p.get("text")) or ""
            self.queue.insert(0, QueueItem(None, text, supersedes=p["amuxTurnId"]))

    def _segment_started(self, p: dict[str, Any], seq: int, segment_id: int, at: str) -> None:
        n = F.parse_id(p.get("segmentId"), "seg")
        if n is None:
            n = segment_id
        if any(s.id == n for s in self.segments):
            return
        if n >= self.next_segment:
            self.next_segment = n + 1
        sid = p.get("acpSessionId")
        opened = p.get("openedAt")
        prov = p.get("provenance")
        seg = Segment(
            n,
            sid if isinstance(sid, str) else None,
            opened if isinstance(opened, str) else at,
            seq,
            provenance=dict(prov) if isinstance(prov, dict) and prov else None,
        )
        self.segments.append(seg)
        self.active_segment = seg
        if seg.acp_session_id:
            self.acp_session_id = seg.acp_session_id

    def _segment_ended(self, p: dict[str, Any], seq: int, segment_id: int, at: str) -> None:
        n = F.parse_id(p.get("segmentId"), "seg")
        if n is None:
            n = segment_id
        for seg in self.segments:
            if seg.id == n:
                closed = p.get("closedAt")
                seg.closed_at = closed if isinstance(closed, str) else at
                seg.closed_seq = seq
                reason = p.get("endReason")
                if seg.end_reason is None and isinstance(reason, str):
                    seg.end_reason = reason
                if self.active_segment is seg:
                    self.active_segment = None
                break

    def _compaction_started(self, p: dict[str, Any], seq: int, segment_id: int, at: str) -> None:
        c = self.compaction
        c.active = True
        c.last_started_at = at
        src = p.get("source")
        c.last_source = src if isinstance(src, str) else F.SOURCE_HERMES

    def _compaction_done(self, p: dict[str, Any], seq: int, segment_id: int, at: str) -> None:
        c = self.compaction
        c.active = False
        c.last_completed_at = at
        src = p.get("source")
        c.last_source = src if isinstance(src, str) else (c.last_source or F.SOURCE_HERMES)
        count = p.get("compressionCount")
        # max, not a frame count: a lost done frame can never under-report (acp-mux §6.6)
        if isinstance(count, int) and not isinstance(count, bool):
            c.count = max(c.count, count)
        elif p.get("outcome", "completed") == "completed":
            c.count += 1

    def _renamed(self, p: dict[str, Any], seq: int, segment_id: int, at: str) -> None:
        title = p.get("title")
        if isinstance(title, str):
            self.user_title = title

    # ---- session/update kinds that are facts, not transcript -------------------------
    def _session_info(self, update: dict[str, Any]) -> bool:
        if "title" not in update:
            return False  # omitted = unchanged
        title = update["title"]
        if title is None or isinstance(title, str):  # null clears
            self.agent_title = title or None
            return True
        return False

    def _usage(self, update: dict[str, Any]) -> bool:
        used, size = update.get("used"), update.get("size")
        changed = False
        if type(used) is int and type(size) is int:
            self.usage = (used, size)
            changed = True
        cost = update.get("cost")
        if isinstance(cost, dict):
            self.cost = cost
            changed = True
        return changed

    def _commands(self, update: dict[str, Any]) -> bool:
        commands = dict_items(update.get("availableCommands"))
        if commands is None:
            return False
        self.available_commands = commands
        return True

    def _mode(self, update: dict[str, Any]) -> bool:
        # The schema says currentModeId; the ACP prose example (and some agents) say modeId.
        mode = as_str(update.get("currentModeId")) or as_str(update.get("modeId"))
        if mode is None:
            return False
        self.mode = mode
        return True

    # ---- derived views ---------------------------------------------------------------------
    @property
    def title(self) -> str | None:
        """The user's name for the room, else the agent's (None: neither named it)."""
        return self.user_title or self.agent_title

    @property
    def active_segment_id(self) -> int:
        """Number of the active segment (0 before the first one), recorded with each frame."""
        return self.active_segment.id if self.active_segment else 0

    @property
    def public_queue(self) -> list[QueueItem]:
        return [q for q in self.queue if q.id is not None]

    def snapshot(self) -> dict[str, Any]:
        """Turns, queue, segments and compaction for the debug snapshot (SPEC §5.5)."""
        active = self.active_segment
        return {
            "nextTurnId": F.format_id("at", self.next_turn),
            "nextQueueItemId": F.format_id("q", self.next_queue_item),
            "activeTurnId": self.active_turn_id,
            "queue": [
                {"queueItemId": q.id, "text": q.text, "held": q.held} for q in self.public_queue
            ],
            "segments": [s.snapshot() for s in self.segments],
            "activeSegmentId": F.format_id("seg", active.id) if active else None,
            "compaction": self.compaction.snapshot(),
        }


def _session_update(
    state: RoomState, p: dict[str, Any], seq: int, segment_id: int, at: str
) -> None:
    """Marker: ``apply`` dispatches session updates on their kind (see ``_UPDATES``)."""


_PRESENCE = frozenset({F.PEER_JOINED, F.PEER_LEFT})


def _bookkeeping(method: Any, frame: Any) -> bool:
    """Frames that are no activity in the room: viewers coming and going, and amux stopping
    the agent (quitting, restarting)."""
    if not isinstance(method, str):
        return False
    if method in _PRESENCE:
        return True
    if method == F.AGENT_EXITED:
        params = frame.get("params")
        return isinstance(params, dict) and params.get("requested") is True
    return False


_Handler = Callable[[RoomState, dict[str, Any], int, int, str], None]
_HANDLERS: dict[str, _Handler] = {
    F.SESSION_UPDATE: _session_update,
    F.TURN_STARTED: RoomState._turn_started,
    F.TURN_COMPLETE: RoomState._turn_settled,
    F.TURN_INTERRUPTED: RoomState._turn_settled,
    F.QUEUE_ITEM_ADDED: RoomState._queue_added,
    F.QUEUE_ITEM_SUBMITTED: RoomState._queue_gone,
    F.QUEUE_ITEM_REMOVED: RoomState._queue_gone,
    F.QUEUE_ITEM_EDITED: RoomState._queue_edited,
    F.CONTROL_SUBMITTED: RoomState._control,
    F.SEGMENT_STARTED: RoomState._segment_started,
    F.SEGMENT_ENDED: RoomState._segment_ended,
    F.COMPACTION_STARTED: RoomState._compaction_started,
    F.COMPACTION_DONE: RoomState._compaction_done,
    F.ROOM_RENAMED: RoomState._renamed,
    F.AGENT_EXITED: RoomState._agent_exited,
}
_UPDATES: dict[str, Callable[[RoomState, dict[str, Any]], bool]] = {
    F.SESSION_INFO_UPDATE: RoomState._session_info,
    F.USAGE_UPDATE: RoomState._usage,
    F.AVAILABLE_COMMANDS_UPDATE: RoomState._commands,
    F.CURRENT_MODE_UPDATE: RoomState._mode,
}
