"""The transcript view model (SPEC §1.3): recorded frames folded into display blocks.

Part of :class:`~amux_tui.engine.model.RoomModel`, the one fold that runs live (one frame
at a time, as the room broadcasts it) and during rehydration (every record of the log, in
order), which is what makes a transcript look identical before and after a restart. The
model folds each frame into :class:`~amux_tui.engine.state.RoomState` first; the
transcript reads the facts it needs (the active turn) from there rather than keeping a
copy. It owns the permission blocks, including which of them are still pending. The
Textual UI and the Markdown export both read ``Transcript.blocks``; the UI re-renders a
block when its ``version`` changes.

Frames are untrusted: every field may be missing or of the wrong type, so each access is
type-checked and anything unexpected is ignored (it stays in the log, never in the view).
Dispatch is two dict lookups (method, then ``sessionUpdate``) because this runs per
streamed chunk and per record of logs holding up to a million frames.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

from amux_tui.engine import frames as F
from amux_tui.engine.state import RoomState
from amux_tui.engine.transcript_blocks import (
    AgentText,
    Block,
    Divider,
    Notice,
    Permission,
    Plan,
    TextBlock,
    Thought,
    ToolCall,
    TurnEnd,
    TurnInfo,
    UserPrompt,
    as_str,
    content_placeholder,
    content_text,
    dict_items,
    error_message,
    message_id_of,
    permission_outcome,
    prompt_text,
)
from amux_tui.text import one_line

__all__ = [
    "AgentText", "Block", "Divider", "Notice", "Permission", "Plan", "TextBlock", "Thought",
    "ToolCall", "Transcript", "TurnEnd", "UserPrompt", "content_placeholder", "prompt_text",
]  # fmt: skip

Seq: TypeAlias = "int | None"  # the record's seq
At: TypeAlias = "str | None"  # the record's recorded_at
_Handler = Callable[[dict, Seq, At], list[Block]]

_INTERRUPT_REASONS = {
    F.INTERRUPTED_AGENT_EXIT: "agent exited",
    F.INTERRUPTED_APP_EXIT: "amux quit or crashed",
}
_CANCEL_REASONS = {F.INTERRUPTED_APP_EXIT: "amux is quitting"}


def _words(code: str) -> str:
    """A reason code said in words (``resume_unavailable`` → ``resume unavailable``): the
    transcript speaks to people; the codes stay in the log, the inspector and ``show``."""
    return one_line(code.replace("_", " ").replace("/", " "), 80)


_NEW_SESSION_TEXT = "new session — earlier history is not in the agent's context"


def _tool_id(value: Any) -> str | int | None:
    return value if isinstance(value, (str, int)) and not isinstance(value, bool) else None


class Transcript:
    """Folds frames into :attr:`blocks` (fed by :class:`~amux_tui.engine.model.RoomModel`).

    Args:
        state: the room's facts, folded before each frame reaches the transcript.
    """

    def __init__(self, state: RoomState) -> None:
        self.blocks: list[Block] = []
        self._state = state
        self._turns: dict[str, TurnInfo] = {}
        self._open: TextBlock | None = None  # the one block that may be streaming
        self._echo = 0  # chars of the active prompt already echoed back by the agent
        self._tools: dict[str | int, ToolCall] = {}
        # Waiting permission requests by request key, oldest first (agents may reuse an id
        # once it is resolved).
        self._pending: dict[Any, Permission] = {}
        self._plan: Plan | None = None
        self._steer_turns: set[str] = set()
        self._segments_started = 0
        self._segment_end_reason: str | None = None
        self._compacting = False  # a compaction started and has not been reported done
        self._methods: dict[str, _Handler] = {
            F.SESSION_UPDATE: self._on_session_update,
            F.TURN_STARTED: self._on_turn_started,
            F.TURN_COMPLETE: self._on_turn_complete,
            F.TURN_CANCELLED: self._on_turn_cancelled,
            F.TURN_INTERRUPTED: self._on_turn_interrupted,
            F.CONTROL_SUBMITTED: self._on_control_submitted,
            F.QUEUE_ITEM_REMOVED: self._on_queue_item_removed,
            F.AGENT_REQUEST_OPENED: self._on_request_opened,
            F.AGENT_REQUEST_RESOLVED: self._on_request_resolved,
            F.SEGMENT_STARTED: self._on_segment_started,
            F.SEGMENT_ENDED: self._on_segment_ended,
            F.COMPACTION_STARTED: self._on_compaction_started,
            F.COMPACTION_DONE: self._on_compaction_done,
            F.ROOM_RENAMED: self._on_room_renamed,
            F.SESSION_RESUMED: self._on_session_resumed,
            F.NOTICE: self._on_notice,
        }
        self._updates: dict[str, _Handler] = {
            F.AGENT_MESSAGE_CHUNK: self._on_agent_message_chunk,
            F.AGENT_THOUGHT_CHUNK: self._on_agent_thought_chunk,
            F.USER_MESSAGE_CHUNK: self._on_user_message_chunk,
            F.TOOL_CALL: self._on_tool_call,
            F.TOOL_CALL_UPDATE: self._on_tool_call_update,
            F.PLAN: self._on_plan,
        }

    # --- public API ---------------------------------------------------------------------

    def apply(self, frame: dict, seq: Seq = None, recorded_at: At = None) -> list[Block]:
        """Fold one frame; returns the blocks it added or changed, in index order.

        Streamed plain text should come through :meth:`text_chunk` (the model's fast path).
        """
        if not isinstance(frame, dict):
            return []
        method = frame.get("method")
        if type(method) is not str:  # unhashable garbage must not reach the dict lookup
            return []
        handler = self._methods.get(method)
        if handler is None:
            return []
        params = frame.get("params")
        if not isinstance(params, dict):
            return []
        changed = handler(params, seq, recorded_at)
        if len(changed) > 1:
            changed = sorted({id(b): b for b in changed}.values(), key=_index)
        return changed

    def text_chunk(self, message_id: str | int | None, text: str, seq: Seq) -> list[Block]:
        """An ``agent_message_chunk`` of plain text: the overwhelmingly common frame, live
        and when rehydrating (the model's fast path skips the generic dispatch)."""
        blocks = self.blocks
        last = blocks[-1] if blocks else None
        # Appending to the block being streamed, inlined: this runs per chunk and per
        # record of logs holding a million frames.
        if (
            text
            and type(last) is AgentText
            and last.message_id == message_id
            and last.turn_id == self._state.active_turn_id
        ):
            last.append(text)
            last.version += 1
            return [last]
        return self._chunk_text(AgentText, message_id, text, seq)

    def find_tool(self, tool_call_id: Any) -> ToolCall | None:
        """The latest tool call with this id, if any."""
        key = _tool_id(tool_call_id)
        return None if key is None else self._tools.get(key)

    def pending_permissions(self) -> list[Permission]:
        """Permission requests still waiting for an answer, oldest first."""
        return list(self._pending.values())

    @property
    def pending_count(self) -> int:
        """How many permission requests are waiting."""
        return len(self._pending)

    def pending_permission(self, request_id: Any) -> Permission | None:
        """The waiting permission request with this id, if any."""
        return self._pending.get(F.request_key(request_id))

    @property
    def _turn_id(self) -> str | None:
        return self._state.active_turn_id

    # --- helpers --------------------------------------------------------------------------

    def _add(self, block: Block, changed: list[Block] | None = None) -> list[Block]:
        """Append a block (a new block ends the streaming of the previous one)."""
        if changed is None:
            changed = []
        self._close_open(changed)
        block.index = len(self.blocks)
        self.blocks.append(block)
        changed.append(block)
        return changed

    def _close_open(
        self, changed: list[Block], turn_id: str | None = None, *, any_turn: bool = True
    ) -> None:
        block = self._open
        if block is not None and (any_turn or block.turn_id == turn_id):
            self._open = None
            block.streaming = False
            block.version += 1
            block.compact()  # one join now instead of keeping thousands of chunk strings
            changed.append(block)

    def _turn(self, turn_id: str) -> TurnInfo:
        turn = self._turns.get(turn_id)
        if turn is None:
            turn = self._turns[turn_id] = TurnInfo()
        return turn

    def _turn_param(self, params: dict) -> str | None:
        return as_str(params.get("amuxTurnId")) or self._turn_id

    # --- session/update -------------------------------------------------------------------

    def _on_session_update(self, params: dict, seq: Seq, at: At) -> list[Block]:
        update = params.get("update")
        if not isinstance(update, dict):
            return []
        kind = update.get("sessionUpdate")
        if type(kind) is not str:
            return []
        handler = self._updates.get(kind)
        return [] if handler is None else handler(update, seq, at)

    def _chunk(self, cls: type[TextBlock], update: dict, seq: Seq) -> list[Block]:
        text = content_text(update.get("content"))
        return self._chunk_text(cls, message_id_of(update), text, seq) if text else []

    def _chunk_text(
        self, cls: type[TextBlock], mid: str | int | None, text: str, seq: Seq
    ) -> list[Block]:
        if not text:  # empty keepalive chunks change nothing
            return []
        last = self.blocks[-1] if self.blocks else None
        if isinstance(last, cls) and last.message_id == mid and last.turn_id == self._turn_id:
            last.append(text)
            last.version += 1
            return [last]
        # Only blocks inside a turn stream: nothing would ever end the streaming of others.
        block = cls(seq, self._turn_id, text, mid, self._turn_id is not None)
        changed = self._add(block)
        if block.streaming:
            self._open = block
        return changed

    def _on_agent_message_chunk(self, update: dict, seq: Seq, at: At) -> list[Block]:
        return self._chunk(AgentText, update, seq)

    def _on_agent_thought_chunk(self, update: dict, seq: Seq, at: At) -> list[Block]:
        return self._chunk(Thought, update, seq)

    def _on_user_message_chunk(self, update: dict, seq: Seq, at: At) -> list[Block]:
        text = content_text(update.get("content"))
        if not text:
            return []
        mid = message_id_of(update)
        last = self.blocks[-1] if self.blocks else None
        if isinstance(last, UserPrompt):
            # Some agents echo the prompt back during the turn: absorb it, don't show it twice.
            if (self._turn_id is not None and last.turn_id == self._turn_id
                    and last.text.startswith(text, self._echo)):  # fmt: skip
                self._echo += len(text)
                return []
            if last.turn_id is None and last.message_id == mid:
                last.append(text)
                last.version += 1
                return [last]
        return self._add(UserPrompt(seq, None, text, at=at, message_id=mid))

    def _on_tool_call(self, update: dict, seq: Seq, at: At) -> list[Block]:
        tid = _tool_id(update.get("toolCallId"))
        if tid is None:
            return []
        existing = self._tools.get(tid)
        if existing is not None and existing.turn_id == self._turn_id:
            existing.patch(update)  # usually an early tool_call_update made a placeholder
            return [existing]
        return self._new_tool(tid, update, seq)  # new, or an id reused by a later turn

    def _on_tool_call_update(self, update: dict, seq: Seq, at: At) -> list[Block]:
        tid = _tool_id(update.get("toolCallId"))
        if tid is None:
            return []
        existing = self._tools.get(tid)
        if existing is None:
            return self._new_tool(tid, update, seq)
        existing.patch(update)
        return [existing]

    def _new_tool(self, tid: str | int, update: dict, seq: Seq) -> list[Block]:
        block = ToolCall(seq, self._turn_id, str(tid))
        block.patch(update)
        block.version = 0
        self._tools[tid] = block
        if self._turn_id is not None:
            self._turn(self._turn_id).tools.append(block)
        return self._add(block)

    def _on_plan(self, update: dict, seq: Seq, at: At) -> list[Block]:
        entries = dict_items(update.get("entries"))
        if entries is None:
            return []
        plan = self._plan
        if plan is not None:  # ACP: each plan update is the complete plan
            plan.entries = entries
            plan.version += 1
            return [plan]
        self._plan = Plan(seq, self._turn_id, entries)
        return self._add(self._plan)

    # --- turns ----------------------------------------------------------------------------

    def _on_turn_started(self, params: dict, seq: Seq, at: At) -> list[Block]:
        tid = as_str(params.get("amuxTurnId"))
        supersedes = as_str(params.get("supersedesTurnId"))
        steer = supersedes is not None or tid in self._steer_turns
        self._steer_turns.discard(tid)  # type: ignore[arg-type]
        block = UserPrompt(
            seq, tid, prompt_text(params.get("content")), peer_id=as_str(params.get("peerId")),
            at=at, queue_item_id=as_str(params.get("queueItemId")), supersedes=supersedes,
            steer=steer,
        )  # fmt: skip
        self._echo = 0
        self._plan = None  # one plan block per turn
        return self._add(block)

    def _end_turn(
        self, tid: str | None, tool_status: str | None, changed: list[Block], seq: Seq
    ) -> bool:
        """Shared end of a turn; False if that turn already ended (a duplicate end frame)."""
        turn = self._turns.get(tid) if tid is not None else None
        if turn is not None and turn.ended:
            return False
        self._close_open(changed, tid, any_turn=False)
        if tid is not None:
            turn = self._turn(tid)
            turn.ended = True
            turn.finish_tools(tool_status, changed)
        # The engine resolves these before settling; a log cut short may not have them.
        for perm in [p for p in self._pending.values() if p.turn_id == tid]:
            self._resolve(perm, "turn ended", F.RESOLVED_TURN_ENDED, changed)
        self._compaction_unconfirmed(seq, tid, changed)
        return True

    def _on_turn_complete(self, params: dict, seq: Seq, at: At) -> list[Block]:
        tid = self._turn_param(params)
        stop = params.get("stopReason")
        changed: list[Block] = []
        if isinstance(stop, str):
            tool_status = "cancelled" if stop == "cancelled" else None
        else:
            stop, tool_status = None, "failed"  # null stopReason: the prompt got an error
        if not self._end_turn(tid, tool_status, changed, seq) or stop == "end_turn":
            return changed  # a plain end_turn shows no marker (SPEC §1.3)
        if stop is None:
            error = params.get("error")
            block = TurnEnd(seq, tid, None, "error", error_message(error), error)
        else:
            turn = self._turns.get(tid) if tid is not None else None
            steered = (
                stop == "cancelled" and turn is not None and turn.cancel_reason == "hard_steer"
            )
            block = TurnEnd(seq, tid, stop, stop, "steered" if steered else None)
        return self._add(block, changed)

    def _on_turn_cancelled(self, params: dict, seq: Seq, at: At) -> list[Block]:
        tid = self._turn_param(params)
        reason = as_str(params.get("reason"))
        changed: list[Block] = []
        if tid is not None:
            turn = self._turn(tid)
            turn.cancel_reason = reason
            # ACP: the client marks the turn's unfinished tool calls cancelled right away.
            turn.finish_tools("cancelled", changed)
        last = self.blocks[-1] if self.blocks else None
        if reason == "hard_steer":
            if isinstance(last, Notice) and last.turn_id == tid and last.text.startswith("steered"):
                return changed  # the control_submitted notice already says it
            text = "steered"
        else:
            by = as_str(params.get("cancelledBy"))
            # The agent confirms later (TurnEnd "turn cancelled"); this marks the request.
            text = "cancel requested" if by in (None, F.LOCAL_PEER) else f"cancel requested by {by}"
            if reason:
                text += f" ({_CANCEL_REASONS.get(reason) or _words(reason)})"
        return self._add(Notice(seq, tid, text, "warning"), changed)

    def _on_turn_interrupted(self, params: dict, seq: Seq, at: At) -> list[Block]:
        tid = self._turn_param(params)
        changed: list[Block] = []
        if not self._end_turn(tid, "failed", changed, seq):
            return changed
        raw = as_str(params.get("reason"))
        reason = (_INTERRUPT_REASONS.get(raw) or _words(raw)) if raw is not None else None
        return self._add(TurnEnd(seq, tid, None, "interrupted", reason), changed)

    def _on_control_submitted(self, params: dict, seq: Seq, at: At) -> list[Block]:
        tid = as_str(params.get("amuxTurnId"))
        if params.get("mode") == "prompt":
            if tid is not None:  # idle steer: amuxTurnId is the id the new turn will get
                self._steer_turns.add(tid)
            return []
        text = as_str(params.get("text"))
        return self._add(Notice(seq, tid, f"steered: {one_line(text)}" if text else "steered"))

    def _on_queue_item_removed(self, params: dict, seq: Seq, at: At) -> list[Block]:
        text = as_str(params.get("text"))
        msg = f"queued prompt removed: {one_line(text, 80)}" if text else "queued prompt removed"
        return self._add(Notice(seq, None, msg))

    # --- agent requests -------------------------------------------------------------------

    def _on_request_opened(self, params: dict, seq: Seq, at: At) -> list[Block]:
        method = as_str(params.get("requestMethod"))
        tid = self._turn_param(params)
        if method != F.REQUEST_PERMISSION:
            return self._add(Notice(seq, tid, f"agent request: {method or 'unknown'}"))
        req = params.get("requestParams")
        req = req if isinstance(req, dict) else {}
        tool_call = req.get("toolCall")
        tool_call = tool_call if isinstance(tool_call, dict) else None
        title = kind = None
        if tool_call is not None:
            title, kind = as_str(tool_call.get("title")), as_str(tool_call.get("kind"))
            known = self.find_tool(tool_call.get("toolCallId"))
            if known is not None:  # a permission update often names only the tool call
                title, kind = title or known.title, kind or known.tool_kind
        options = dict_items(req.get("options")) or []
        block = Permission(seq, tid, params.get("requestId"), title or "permission requested",
                           kind, options, tool_call)  # fmt: skip
        self._pending[F.request_key(block.request_id)] = block
        return self._add(block)

    def _on_request_resolved(self, params: dict, seq: Seq, at: At) -> list[Block]:
        perm = self._pending.get(F.request_key(params.get("requestId")))
        if perm is None:
            return []
        by = as_str(params.get("resolvedBy"))
        if by == F.RESOLVED_AGENT_CANCELLED:
            outcome = "withdrawn by agent"
        elif by == F.RESOLVED_TURN_ENDED:
            outcome = "turn ended"
        else:
            outcome = permission_outcome(perm, params.get("result"))
        changed: list[Block] = []
        self._resolve(perm, outcome, by, changed)
        return changed

    def _resolve(
        self, perm: Permission, outcome: str, by: str | None, changed: list[Block]
    ) -> None:
        self._pending.pop(F.request_key(perm.request_id), None)
        perm.outcome = outcome
        perm.resolved_by = by
        perm.version += 1
        changed.append(perm)

    # --- segments, compaction, room -------------------------------------------------------

    def _on_segment_ended(self, params: dict, seq: Seq, at: At) -> list[Block]:
        self._segment_end_reason = as_str(params.get("endReason")) or "segment"
        return []

    def _on_segment_started(self, params: dict, seq: Seq, at: At) -> list[Block]:
        first = self._segments_started == 0
        self._segments_started += 1
        reason, self._segment_end_reason = self._segment_end_reason, None
        resumed = params.get("resumed") is True or params.get("kind") == "resumed"
        if resumed or reason == F.END_SESSION_LOAD:
            text, kind = "session resumed", "resumed"
        elif first or reason == F.END_HERMES_COMPRESSION:
            return []  # the first segment needs no marker; compaction done covers Hermes
        elif reason in (F.END_RESUME_UNAVAILABLE, F.END_ACP_SESSION_ID_CHANGED):
            text, kind = _NEW_SESSION_TEXT, "new_session"
        else:
            text, kind = "new session segment", "segment"
            if reason not in (None, "segment"):
                text += f" ({_words(reason)})"
        return self._add(Divider(seq, self._turn_id, text, kind))

    def _on_session_resumed(self, params: dict, seq: Seq, at: At) -> list[Block]:
        last = self.blocks[-1] if self.blocks else None
        if isinstance(last, Divider) and last.divider_kind == "resumed":
            return []  # a load that rotated the segment already drew this divider
        return self._add(Divider(seq, self._turn_id, "session resumed", "resumed"))

    def _on_notice(self, params: dict, seq: Seq, at: At) -> list[Block]:
        text = as_str(params.get("text"))
        if not text:
            return []
        level = params.get("level")
        level = level if level in ("info", "warning", "error") else "info"
        return self._add(Notice(seq, self._turn_id, text, level))

    def _on_compaction_started(self, params: dict, seq: Seq, at: At) -> list[Block]:
        self._compacting = True  # which detector saw it is for the inspector, not here
        return self._add(Notice(seq, self._turn_id, "compacting context…"))

    def _on_compaction_done(self, params: dict, seq: Seq, at: At) -> list[Block]:
        self._compacting = False
        outcome = params.get("outcome")
        before, after = params.get("messagesBefore"), params.get("messagesAfter")
        dropped = before - after if type(before) is int and type(after) is int else None
        if outcome == "failed" and dropped is not None and dropped > 0:
            # Hermes: the summary failed but the messages were dropped anyway.
            text = (
                f"context compaction failed — {dropped} earlier "
                f"message{'s' if dropped != 1 else ''} dropped without a summary"
            )
            return self._add(Divider(seq, self._turn_id, text, "compaction"))
        if outcome in ("failed", "cancelled"):
            text = f"context compaction {outcome}; the context is as it was"
            return self._add(Notice(seq, self._turn_id, text, "warning"))
        count = params.get("compressionCount")
        text = f"context compacted (#{count})" if type(count) is int else "context compacted"
        return self._add(Divider(seq, self._turn_id, text, "compaction"))

    def _compaction_unconfirmed(self, seq: Seq, tid: str | None, changed: list[Block]) -> None:
        """A compaction still under way when its turn settles ended, but the agent never
        said how (SPEC §4.6): derived from the settlement, live and hydrated alike."""
        if self._compacting:
            self._compacting = False
            text = "context compaction ended with the turn, unconfirmed: the agent never said it finished"
            self._add(Notice(seq, tid, text, "warning"), changed)

    def _on_room_renamed(self, params: dict, seq: Seq, at: At) -> list[Block]:
        title = as_str(params.get("title"))
        if title is None or params.get("initial") is True:
            return []  # a title given when the room was created is no event
        return self._add(Notice(seq, None, f"room renamed to “{one_line(title, 80)}”"))


def _index(block: Block) -> int:
    return block.index
