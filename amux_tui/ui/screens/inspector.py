"""The inspector (``ctrl+b i``): a room's debug snapshot, stderr tail and agent log."""

from __future__ import annotations

import json

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, Log, TabbedContent, TabPane

from amux_tui.engine.room import Room
from amux_tui.engine.snapshot import room_snapshot
from amux_tui.text import one_line
from amux_tui.ui.screens.dialog import Dialog


class InspectorScreen(Dialog[None]):
    """Three tabs of plain text; nothing here is interpreted as markup."""

    BINDINGS = [Binding("escape,q", "close", "close")]

    def __init__(self, room: Room) -> None:
        super().__init__(classes="dialog-screen")
        self.room = room

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="inspector-dialog"):
            yield Label(
                f"Inspector — {one_line(self.room.title, 60)} ({self.room.id})",
                classes="dialog-title",
                markup=False,
            )
            with TabbedContent():
                with TabPane("Snapshot", id="tab-snapshot"):
                    yield Log(id="inspector-snapshot", highlight=False, auto_scroll=False)
                with TabPane("Stderr", id="tab-stderr"):
                    yield Log(id="inspector-stderr", highlight=False)
                with TabPane("Agent log", id="tab-agent-log"):
                    yield Log(id="inspector-agent-log", highlight=False)
            yield Label("escape closes", classes="dialog-hint")

    def on_mount(self) -> None:
        snapshot = json.dumps(room_snapshot(self.room), indent=2, default=str)
        self.query_one("#inspector-snapshot", Log).write_lines(snapshot.splitlines())
        stderr = self.room.stderr_tail or ["(no stderr output)"]
        self.query_one("#inspector-stderr", Log).write_lines(one_line(line) for line in stderr)
        agent_log = list(self.room.agent.agent_log) or ["(nothing logged)"]
        self.query_one("#inspector-agent-log", Log).write_lines(
            one_line(line) for line in agent_log
        )

    def action_close(self) -> None:
        self.close(None)
