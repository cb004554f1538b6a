"""A yes/no question (closing a room, quitting while agents are busy)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Static

from amux_tui.ui.motion import still_cursors
from amux_tui.ui.screens.dialog import Dialog


class ConfirmScreen(Dialog[bool]):
    """Dismisses with True (``y``/enter on the confirm button) or False (``n``/escape)."""

    AUTO_FOCUS = "#confirm-no"

    BINDINGS = [
        Binding("y", "answer(True)", "yes"),
        Binding("n,escape", "answer(False)", "no"),
    ]

    def __init__(self, question: Content | str, confirm: str = "Yes", cancel: str = "No") -> None:
        super().__init__(classes="dialog-screen")
        # A plain str is literal text (it may hold a room title): never parsed as markup.
        self.question = question if isinstance(question, Content) else Content(question)
        self.confirm_label = confirm
        self.cancel_label = cancel

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm-dialog"):
            yield Static(self.question, id="confirm-question")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.confirm_label} (y)", variant="error", id="confirm-yes")
                yield Button(f"{self.cancel_label} (n)", id="confirm-no")

    def on_mount(self) -> None:
        still_cursors(self)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.close(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        self.close(yes)
