"""The new-room dialog (``ctrl+b c``): agent, working directory, title (SPEC §1.4).

Focus starts on the agent; tab goes agent → directory → title → Create → Cancel. In the
directory, the rest of a directory name is suggested as it is typed and tab takes it (a
directory typed in full lets tab move on).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.suggester import Suggester, SuggestionReady
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


def complete_directory(text: str) -> str | None:
    """``text`` with the directory name being typed completed (as far as it is unique:
    ``/wo`` → ``/work/``, ``/work/wt`` → ``/work/wt-`` when several match); None when there
    is nothing to add (no match, or a directory typed in full)."""
    parent, partial = os.path.split(text)
    if not partial:
        return None
    try:
        with os.scandir(Path(parent or ".").expanduser()) as entries:
            names = sorted(
                e.name
                for e in entries
                if e.name.startswith(partial)
                and (partial.startswith(".") or not e.name.startswith("."))
                and e.is_dir()
            )
    except OSError:
        return None
    if not names or names == [partial]:
        return None
    if len(names) == 1:
        return os.path.join(parent, names[0]) + os.sep
    common = os.path.commonprefix(names)
    return os.path.join(parent, common) if len(common) > len(partial) else None


class DirectorySuggester(Suggester):
    """The rest of the directory name being typed, shown after the cursor."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete_directory, value)


class DirectoryInput(Input):
    """A directory field whose tab takes the suggested completion (else moves on)."""

    def __init__(self, value: str, **kwargs: Any) -> None:
        super().__init__(value, suggester=DirectorySuggester(), **kwargs)
        self._offered: tuple[str, str] | None = None  # (value, its completion)

    def on_suggestion_ready(self, event: SuggestionReady) -> None:
        self._offered = (event.value, event.suggestion)

    def completion(self) -> str | None:
        if self._offered is not None and self._offered[0] == self.value:
            return self._offered[1]
        return complete_directory(self.value) if self.value else None

    def owns_key(self, key: str, character: str | None) -> bool:
        """Tab completes while there is something to complete (the app's key path asks)."""
        return key == "tab" and bool(self.completion())

    async def _on_key(self, event: events.Key) -> None:
        completed = self.completion() if event.key == "tab" else None
        if completed:
            event.prevent_default()
            event.stop()
            self.value = completed
            self.cursor_position = len(completed)


class NewRoomScreen(Dialog[dict[str, Any] | None]):
    """Dismisses with ``{"spec", "cwd", "title"}`` for ``Engine.create_room``, or None.

    With ``heading``/``confirm`` the same form asks for the agent of an existing room
    whose metadata could not tell it (``title`` prefills the title field)."""

    AUTO_FOCUS = "#new-agent"
    TYPING_TARGET = "#new-title"

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
            yield DirectoryInput(self.cwd, placeholder="/path/to/project", id="new-cwd")
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
