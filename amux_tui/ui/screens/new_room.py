"""The new-room dialog (``ctrl+b c``): agent, working directory, title (SPEC §1.4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Label, Select

from amux_tui.engine.config import AgentSpec
from amux_tui.text import one_line
from amux_tui.ui.motion import still_cursors
from amux_tui.ui.screens.dialog import Dialog


def check_cwd(text: str) -> tuple[str | None, str | None]:
    """(absolute directory, None) or (None, why it cannot be used)."""
    text = text.strip()
    if not text:
        return None, "a working directory is required"
    path = Path(text).expanduser()
    if not path.exists():
        return None, f"no such directory: {one_line(text, 80)}"
    if not path.is_dir():
        return None, f"not a directory: {one_line(text, 80)}"
    return str(path.absolute()), None


class NewRoomScreen(Dialog[dict[str, Any] | None]):
    """Dismisses with ``{"spec", "cwd", "title"}`` for ``Engine.create_room``, or None.

    With ``heading``/``confirm`` the same form asks for the agent of an existing room
    whose metadata could not tell it (``title`` prefills the title field)."""

    AUTO_FOCUS = "#new-cwd"

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(
        self,
        agents: list[AgentSpec],
        default_agent: str,
        cwd: str,
        *,
        heading: str = "New room",
        confirm: str = "Create",
        title: str = "",
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.heading, self.confirm, self.title_value = heading, confirm, title
        self.agents = agents
        self.default_agent = (
            default_agent if any(a.name == default_agent for a in agents) else agents[0].name
        )
        self.cwd = cwd

    def compose(self) -> ComposeResult:
        options = []
        for spec in self.agents:
            missing = "" if spec.found() else "  (command not found)"
            label = Content.assemble(
                (one_line(spec.name, 30), "bold"),
                (f"  {one_line(spec.description, 60)}" if spec.description else "", "$text-muted"),
                (missing, "$error"),
            )
            options.append((label, spec.name))
        with Vertical(classes="dialog", id="new-room-dialog"):
            yield Label(self.heading, classes="dialog-title", markup=False)
            yield Label("Agent", classes="field-label")
            yield Select(options, value=self.default_agent, allow_blank=False, id="new-agent")
            yield Label("Working directory", classes="field-label")
            yield Input(self.cwd, placeholder="/path/to/project", id="new-cwd")
            yield Label("Title (optional)", classes="field-label")
            yield Input(self.title_value, placeholder="e.g. fix-the-tests", id="new-title")
            yield Label("", id="new-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.confirm, variant="primary", id="new-create")
                yield Button("Cancel", id="new-cancel")

    def on_mount(self) -> None:
        still_cursors(self)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "new-create":
            self.submit()
        else:
            self.close(None)

    def submit(self) -> None:
        cwd, problem = check_cwd(self.query_one("#new-cwd", Input).value)
        error = self.query_one("#new-error", Label)
        if problem is not None:
            error.update(Content(problem))
            self.query_one("#new-cwd", Input).focus()
            return
        name = self.query_one("#new-agent", Select).value
        spec = next((a for a in self.agents if a.name == name), None)
        if spec is None:
            error.update(Content("choose an agent"))
            return
        if not spec.found():
            error.update(Content(f"agent command not found: {one_line(spec.command, 60)}"))
            return
        title = self.query_one("#new-title", Input).value.strip() or None
        self.close({"spec": spec, "cwd": cwd, "title": title})

    def action_cancel(self) -> None:
        self.close(None)
