"""A room pane's header (title, agent, cwd, state, usage, flags) and its failure banner."""

from __future__ import annotations

from dataclasses import dataclass

from textual.containers import Horizontal
from textual.content import Content
from textual.css.query import NoMatches
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Static

from amux_tui.engine.lifecycle import Lifecycle
from amux_tui.engine.room import Room
from amux_tui.text import one_line
from amux_tui.ui.footer import usable_key
from amux_tui.ui.format import (
    Flags,
    agent_name,
    join,
    short_path,
    state_glyph,
    state_label,
    usage_text,
)
from amux_tui.ui.keymap import Keymap
from amux_tui.ui.keys import BY_ID, Scope


class RoomHeader(Widget):
    """Two lines: who and where, then state and flags (each flag with glyph and label)."""

    def __init__(self, room: Room, keymap: Keymap, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.room = room
        self.keys = (
            usable_key(keymap, BY_ID["restart_room"], Scope.PROMPT),
            usable_key(keymap, BY_ID["cancel_turn"], Scope.PROMPT),
        )
        self.unread = False
        self.tick: int | None = 0
        self.index = 0

    def update_state(self, *, unread: bool, tick: int | None, index: int) -> None:
        self.unread, self.tick, self.index = unread, tick, index
        self.refresh()

    def render(self) -> Content:
        room = self.room
        status = room.status
        glyph, style = state_glyph(status, self.tick)
        first = Content.assemble(
            (f"{self.index} ", "$text-muted"),
            (glyph + " ", style),
            (one_line(room.title, 80), "bold"),
            ("  ", ""),
            (agent_name(room), "$secondary"),
            ("  ", ""),
            (short_path(room.meta.cwd or "", 50), "$text-muted"),
        )
        parts: list[tuple[str, str]] = [
            (state_label(room, *self.keys), style if status != Lifecycle.READY else "")
        ]
        usage = usage_text(room)
        if usage:
            parts.append((usage, "$text-muted"))
        parts.extend(Flags.of(room, self.unread).parts(long=True))
        if room.write_error:
            parts.append((one_line(room.write_error, 80), "bold $error"))
        return Content("\n").join([first, join(parts)])


class FailureBanner(Widget):
    """Why an exited or failed room stopped, its stderr tail, and a restart button."""

    @dataclass
    class RestartPressed(Message):
        room_id: str

    def __init__(self, room: Room, keymap: Keymap, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.room = room
        self.restart_key = usable_key(keymap, BY_ID["restart_room"], Scope.PROMPT)

    def on_mount(self) -> None:
        self.update_state()

    def _build(self) -> Static | None:
        """The banner's text and button, made the first time it is shown (None before the
        banner is mounted): most rooms never fail, and a Button's styles (the largest of
        Textual's) would be parsed at start."""
        try:
            return self.query_one("#banner-text", Static)
        except NoMatches:
            if not self.is_mounted:
                return None
            text = Static(id="banner-text")
            button = Button(
                f"Restart ({self.restart_key})", id="banner-restart", variant="warning",
                compact=True,
            )  # fmt: skip
            self.mount(Horizontal(text, button, classes="banner-row"))
            return text

    def update_state(self) -> None:
        room = self.room
        show = room.stopped
        self.display = show
        if not show:
            return
        text = self._build()
        if text is None:
            return
        lines: list[Content] = []
        if room.status == Lifecycle.FAILED:
            lines.append(
                Content.assemble(
                    ("failed: ", "bold $error"), one_line(room.failure or "unknown reason", 300)
                )
            )
        else:
            code = room.exit_code if room.exit_code is not None else "?"
            lines.append(Content.assemble((f"the agent exited with code {code}", "bold $error")))
        for line in room.stderr_tail[-3:]:
            lines.append(Content.styled(one_line(line, 200), "$text-muted"))
        text.update(Content("\n").join(lines))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.RestartPressed(self.room.id))
