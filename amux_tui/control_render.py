"""``amux watch`` as readable text: a room's frames, folded and printed as they come.

The frames go through the engine's own fold (:class:`~amux_tui.engine.model.RoomModel`),
the one that builds the TUI's transcript, and the blocks each frame adds or changes are
printed: streamed text as it grows, a line per tool call status, plan, permission, turn
ending, divider or notice. So watch shows what the TUI shows, in plain text. Everything
from the agent passes through :mod:`amux_tui.text` first: control characters are made
visible and never act on the terminal.
"""

from __future__ import annotations

from typing import Any, TextIO

from amux_tui.engine import transcript_blocks as TB
from amux_tui.engine.export import turn_end_text
from amux_tui.engine.model import RoomModel
from amux_tui.engine.snapshot import state_label
from amux_tui.text import one_line, visible


class WatchRenderer:
    """Prints the events of a ``watch`` stream to ``out`` as text."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.model = RoomModel("")
        self._printed: dict[int, Any] = {}  # block index → chars printed / status / version
        self._streaming: TB.Block | None = None  # the text block the last line belongs to
        self._at_line_start = True
        self._queue: set[str] = set()

    # ---- events ------------------------------------------------------------------------------
    def event(self, event: dict[str, Any]) -> None:
        """Print one protocol event (``snapshot``, ``frame``, ``live``, ``closed``)."""
        kind = event.get("event")
        if kind == "snapshot":
            self._snapshot(event.get("room") or {})
        elif kind == "frame":
            self._frame(event)
        elif kind == "closed":
            self._line(f"── watch ended: {one_line(str(event.get('reason')), 80)} ──")
        self.out.flush()

    def _snapshot(self, room: dict[str, Any]) -> None:
        self.model = RoomModel(str(room.get("roomId") or ""))
        title = one_line(str(room.get("title") or room.get("roomId")), 60)
        self._line(f"── {title} ({room.get('roomId')}) · {state_label(room)} ──")
        queue = room.get("queue")
        self._queue = (
            {str(q.get("queueItemId")) for q in queue if isinstance(q, dict)}
            if isinstance(queue, list)
            else set()
        )

    def _frame(self, event: dict[str, Any]) -> None:
        frame = event.get("frame")
        seq = event.get("seq")
        recorded_at = event.get("recordedAt")
        blocks = self.model.apply(
            frame,
            seq if isinstance(seq, int) else 0,
            self.model.state.active_segment_id,
            recorded_at if isinstance(recorded_at, str) else "",
        )
        for block in blocks:
            self._block(block)
        for item in self.model.state.public_queue:
            if item.id not in self._queue:
                self._queue.add(item.id or "")
                self._line(f"+ queued {item.id}: {one_line(item.text, 100)}")

    # ---- blocks ------------------------------------------------------------------------------
    def _block(self, block: TB.Block) -> None:
        if isinstance(block, TB.TextBlock):
            self._text(block)
        elif isinstance(block, TB.ToolCall):
            if self._printed.get(block.index) != block.status:
                self._printed[block.index] = block.status
                status = block.status.replace("_", " ")
                self._line(f"⚙ {one_line(block.title, 100)} — {status}")
        elif isinstance(block, TB.Plan):
            if self._printed.get(block.index) != block.version:
                self._printed[block.index] = block.version
                self._line("☰ plan: " + " · ".join(_plan_entry(e) for e in block.entries))
        elif isinstance(block, TB.Permission):
            state = block.outcome or "pending"
            if self._printed.get(block.index) != state:
                self._printed[block.index] = state
                title = one_line(block.title, 100)
                if block.outcome is None:
                    self._line(f"⚠ needs you: permission for {title}")
                else:
                    self._line(f"⚠ permission for {title} → {one_line(block.outcome, 60)}")
        elif isinstance(block, TB.TurnEnd):
            self._once(block, f"■ {one_line(turn_end_text(block), 200)}")
        elif isinstance(block, TB.Divider):
            self._once(block, f"── {one_line(block.text, 100)} ──")
        elif isinstance(block, TB.Notice):
            mark = "⚠" if block.level in ("warning", "error") else "·"
            self._once(block, f"{mark} {one_line(block.text, 200)}")

    def _text(self, block: TB.TextBlock) -> None:
        done = self._printed.get(block.index)
        if done is None:
            done = 0
            if isinstance(block, TB.UserPrompt):
                who = block.peer_id if block.peer_id and block.peer_id != "local" else "you"
                turn = f" · {block.turn_id}" if block.turn_id else ""
                self._line(f"▶ {one_line(who, 40)}{turn}")
            elif isinstance(block, TB.Thought):
                self._start_line()
                self._write("(thinking) ")
            elif isinstance(block, TB.AgentText):
                self._start_line()
            self._streaming = block
        text = block.text
        if len(text) <= done:
            return
        if self._streaming is not block:  # another block was printed in between
            self._start_line()
            self._streaming = block
        self._printed[block.index] = len(text)
        self._write(visible(text[done:]))
        if isinstance(block, TB.UserPrompt):
            self._start_line()

    def _once(self, block: TB.Block, line: str) -> None:
        if block.index not in self._printed:
            self._printed[block.index] = True
            self._line(line)

    # ---- output ------------------------------------------------------------------------------
    def _write(self, text: str) -> None:
        if text:
            self.out.write(text)
            self._at_line_start = text.endswith("\n")

    def _start_line(self) -> None:
        if not self._at_line_start:
            self._write("\n")

    def _line(self, text: str) -> None:
        self._start_line()
        self._streaming = None
        self._write(text + "\n")


def _plan_entry(entry: dict[str, Any]) -> str:
    box = "[x]" if entry.get("status") == "completed" else "[ ]"
    content = entry.get("content")
    return f"{box} {one_line(content, 60) if isinstance(content, str) else ''}"
