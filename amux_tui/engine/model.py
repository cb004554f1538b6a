"""The room model: the one fold from recorded frames to everything amux knows of a room.

``RoomModel.apply`` is called by the room's broadcast gate for every frame it records and
by hydration for every record of the log, with the same arguments, so a restarted amux
cannot drift from what it showed live. It feeds :class:`~amux_tui.engine.state.RoomState`
(facts: ids, turns, queue, segments, compaction, titles, usage) and then
:class:`~amux_tui.engine.transcript.Transcript` (display blocks, pending permissions).

Besides the changed blocks, each ``apply`` leaves two answers for the gate:
``status_changed`` (something the room list or a pane header shows changed) and
``attention`` (why a person may want to look at this room now, or None).

Streamed agent text is by far the most common frame (hundreds of thousands per log), so
it has a fast path here, taken live and during hydration alike: hydration hands it over
as a :class:`TextChunk` decoded without building dicts, live frames are recognised below.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from amux_tui.engine import frames as F
from amux_tui.engine.state import RoomState
from amux_tui.engine.transcript import Transcript
from amux_tui.engine.transcript_blocks import Block, Permission, ToolCall, message_id_of
from amux_tui.text import one_line


class TextChunk(NamedTuple):
    """An ``agent_message_chunk`` whose content is plain text (the fast path)."""

    message_id: str | int | None
    text: str


def text_chunk_of(frame: Any) -> TextChunk | None:
    """The frame as a :class:`TextChunk` when it is a plain-text agent message chunk."""
    if type(frame) is not dict or frame.get("method") != F.SESSION_UPDATE:
        return None
    params = frame.get("params")
    update = params.get("update") if type(params) is dict else None
    if type(update) is not dict or update.get("sessionUpdate") != F.AGENT_MESSAGE_CHUNK:
        return None
    content = update.get("content")
    if type(content) is not dict or content.get("type") != "text":
        return None
    text = content.get("text")
    if type(text) is not str:
        return None
    return TextChunk(message_id_of(update), text)


class RoomModel:
    """Facts and transcript of one room, folded from its frames in record order."""

    __slots__ = (
        "state", "transcript", "status_changed", "attention", "foreign_amux_frames", "log_room_id",
    )  # fmt: skip

    def __init__(self, room_id: str) -> None:
        self.state = RoomState(room_id)
        self.transcript = Transcript(self.state)
        self.status_changed = False
        self.attention: str | None = None
        # Recorded amux/* frames not made by amux for this room (F.made_by_amux): an old
        # log's verbatim agent lines. Counted and kept in the log, never applied.
        self.foreign_amux_frames = 0
        # The roomId of the log's first amux/* record: the id the log was written under.
        # It differs from the room's id only for a room reopened from the archive under a
        # new id (its earlier frames keep the old one). The first amux/* record is amux's
        # own (a room's first frames are made before its agent runs).
        self.log_room_id: str | None = None

    def apply(
        self, frame: Any, seq: int = 0, segment_id: int = 0, recorded_at: str = ""
    ) -> list[Block]:
        """Fold one recorded frame (a dict as recorded, or a :class:`TextChunk`); returns
        the transcript blocks it added or changed, in index order."""
        self.attention = None
        chunk = frame if type(frame) is TextChunk else text_chunk_of(frame)
        if chunk is not None:
            self.status_changed = False
            return self.apply_text(chunk.message_id, chunk.text, seq, segment_id, recorded_at)
        if self.log_room_id is None:
            first = F.amux_room_id(frame)
            if type(first) is str:
                self.log_room_id = first
        if not F.made_by_amux(frame, self.state.room_id, self.log_room_id):
            self.status_changed = False
            self.state.count(seq, segment_id, recorded_at, activity=False)  # nobody real
            self.foreign_amux_frames += 1
            return []
        pending = self.transcript.pending_count
        self.status_changed = self.state.apply(frame, seq, segment_id, recorded_at)
        if not isinstance(frame, dict):
            return []
        blocks = self.transcript.apply(frame, seq, recorded_at)
        if self.transcript.pending_count != pending:
            self.status_changed = True  # "needs you" appeared, grew or went away
        self.attention = _attention(frame)
        return blocks

    def apply_text(
        self, message_id: str | int | None, text: str, seq: int, segment_id: int, at: str
    ) -> list[Block]:
        """Fold a plain-text ``agent_message_chunk`` (what :meth:`apply` does for one):
        hydration calls it directly for chunks it decoded without building dicts. A chunk
        changes no status and asks for no attention (``apply`` says so to the gate)."""
        self.state.count(seq, segment_id, at)
        return self.transcript.text_chunk(message_id, text, seq)

    def process_ended(self) -> bool:
        """No compaction outlives its agent process (:meth:`RoomState.process_ended`)."""
        changed = self.state.process_ended()
        self.status_changed = changed
        return changed

    # ---- what the room and its views read ---------------------------------------------
    @property
    def blocks(self) -> list[Block]:
        return self.transcript.blocks

    @property
    def title(self) -> str | None:
        """The user's name for the room, else the agent's (None: neither named it)."""
        return self.state.title

    @property
    def active_turn_id(self) -> str | None:
        return self.state.active_turn_id

    def pending_permissions(self) -> list[Permission]:
        """Permission requests still waiting for an answer, oldest first."""
        return self.transcript.pending_permissions()

    def pending_permission(self, request_id: Any) -> Permission | None:
        return self.transcript.pending_permission(request_id)

    def find_tool(self, tool_call_id: Any) -> ToolCall | None:
        return self.transcript.find_tool(tool_call_id)

    @property
    def usage(self) -> tuple[int, int] | None:
        return self.state.usage

    @property
    def cost(self) -> dict[str, Any] | None:
        return self.state.cost

    @property
    def mode(self) -> str | None:
        return self.state.mode

    @property
    def available_commands(self) -> list[dict[str, Any]]:
        return self.state.available_commands


def _attention(frame: dict[str, Any]) -> str | None:
    """Why a frame may deserve a look from someone not watching the room (SPEC §1.5)."""
    method = frame.get("method")
    if type(method) is not str or method not in _ATTENTION_METHODS:
        return None
    params = frame.get("params")
    params = params if isinstance(params, dict) else {}
    if method == F.TURN_COMPLETE:
        if params.get("error") is not None:
            return "turn failed"
        stop = params.get("stopReason")
        if stop in ("end_turn", None) or not isinstance(stop, str):
            return "finished a turn"
        return f"finished a turn ({one_line(stop.replace('_', ' '), 40)})"
    if method == F.TURN_INTERRUPTED:
        return "agent exited" if params.get("reason") == F.INTERRUPTED_AGENT_EXIT else None
    if params.get("requestMethod") == F.REQUEST_PERMISSION:
        return "needs permission"
    return None


_ATTENTION_METHODS = frozenset({F.TURN_COMPLETE, F.TURN_INTERRUPTED, F.AGENT_REQUEST_OPENED})
