"""Rename a room (``ctrl+b ,``)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label

from amux_tui.ui.motion import still_cursors
from amux_tui.ui.screens.dialog import Dialog


class RenameScreen(Dialog[str | None]):
    """Dismisses with the new title, or None when cancelled."""

    AUTO_FOCUS = "#rename-input"

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str) -> None:
        super().__init__(classes="dialog-screen")
        self.current = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="rename-dialog"):
            yield Label("Rename room", classes="dialog-title")
            yield Input(self.current, placeholder="title", id="rename-input", select_on_focus=True)
            yield Label("enter to rename, escape to cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        still_cursors(self)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.close(event.value)

    def action_cancel(self) -> None:
        self.close(None)
