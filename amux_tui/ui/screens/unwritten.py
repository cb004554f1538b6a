"""Quitting with data the disk would not take (SPEC §5.2: no silent loss at quit).

Shown by the quit path when :meth:`Engine.shutdown` returns something unwritten (a full
disk, say). It lists what, and offers: retry now, wait for space (retrying every
second), save it to a directory the user names, or quit and drop it. It dismisses with
the exit status: 0 when everything was written or saved, ``EXIT_UNWRITTEN`` when the
user dropped something. The logic lives in the engine; this is only the question.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from amux_tui.engine.engine import EXIT_UNWRITTEN, Engine, Unwritten
from amux_tui.text import one_line
from amux_tui.ui.motion import still_cursors
from amux_tui.ui.screens.dialog import Dialog, open_dialog

WAIT_RETRY = 1.0  # seconds between retries while waiting for space


async def finish_quit(app: App[Any], engine: Engine, *, ask: bool) -> None:
    """After ``engine.shutdown()``: exit, unless something could not be written. Then
    ask (``ask``) with :class:`UnwrittenScreen`, which exits with its answer; with nobody
    to ask (the terminal is gone) try once more and exit with ``EXIT_UNWRITTEN`` if that
    failed (the CLI prints what was not saved, the app log has it too)."""
    unwritten = engine.unwritten()
    if not unwritten:
        app.exit(return_code=0)
    elif ask:
        await open_dialog(
            app, UnwrittenScreen(engine, unwritten), lambda code: app.exit(return_code=code)
        )
    else:
        left = await engine.retry_unwritten()
        app.exit(return_code=EXIT_UNWRITTEN if left else 0)


def default_save_dir() -> str:
    """A suggestion for "save to…": a new directory in the user's home."""
    return str(Path.home() / f"amux-unwritten-{time.strftime('%Y%m%d-%H%M%S')}")


class UnwrittenScreen(Dialog[int]):
    """Retry (r), wait (w), save to… (s) or drop (d) what could not be written."""

    AUTO_FOCUS = "#unwritten-retry"
    DEFAULT_CSS = """
    #unwritten-dialog { max-width: 100%; }
    #unwritten-hint { color: $text-muted; margin: 1 0 0 0; }
    """

    BINDINGS = [
        Binding("r", "retry", "retry"),
        Binding("w", "wait", "wait for space"),
        Binding("s", "save", "save to…"),
        Binding("d", "drop", "quit and drop"),
        Binding("escape", "stop_waiting", "stop waiting", show=False),
    ]

    def __init__(self, engine: Engine, items: list[Unwritten]) -> None:
        super().__init__(classes="dialog-screen")
        self.engine = engine
        self.items = items
        self.waiting = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="unwritten-dialog"):
            yield Label("Not everything could be written to disk", classes="dialog-title")
            yield Static(self._listing(), id="unwritten-list", markup=False)
            yield Static(
                "Nothing is lost yet: it is still in memory. Free some space and retry, "
                "wait for space, or save it somewhere else.",
                id="unwritten-hint",
                markup=False,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Retry (r)", variant="primary", id="unwritten-retry")
                yield Button("Wait (w)", id="unwritten-wait")
                yield Button("Save to… (s)", id="unwritten-save")
                yield Button("Quit and drop (d)", variant="error", id="unwritten-drop")
            yield Input(default_save_dir(), placeholder="directory", id="unwritten-dir")
            yield Label("", id="unwritten-status", classes="dialog-error")

    def on_mount(self) -> None:
        still_cursors(self)
        self.query_one("#unwritten-dir", Input).display = False

    def _listing(self) -> str:
        return "\n".join(f"• {one_line(item.describe(), 150)}" for item in self.items)

    def _status(self, text: str) -> None:
        self.query_one("#unwritten-status", Label).update(one_line(text, 200))

    def _left(self, items: list[Unwritten]) -> bool:
        """Show what is still unwritten; dismiss with success when nothing is."""
        self.items = items
        if not items:
            self.close(0)
            return False
        self.query_one("#unwritten-list", Static).update(self._listing())
        return True

    # ---- actions ----------------------------------------------------------------------
    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        await self.run_action((event.button.id or "").removeprefix("unwritten-"))

    async def action_retry(self) -> None:
        self.waiting = False
        if self._left(await self.engine.retry_unwritten()):
            self._status("still cannot write it: " + (self.items[0].error or "unknown error"))

    def action_wait(self) -> None:
        if self.waiting:
            self.action_stop_waiting()
            return
        self.waiting = True
        self._status("waiting for space, retrying every second… (w or escape stops)")
        self._wait()

    def action_stop_waiting(self) -> None:
        if self.waiting:
            self.waiting = False
            self._status("stopped waiting")

    @work(exclusive=True, group="unwritten-wait")
    async def _wait(self) -> None:
        while self.waiting and self.is_attached:
            if not self._left(await self.engine.retry_unwritten()):
                return
            await asyncio.sleep(WAIT_RETRY)

    def action_save(self) -> None:
        self.waiting = False
        field = self.query_one("#unwritten-dir", Input)
        field.display = True
        field.focus()
        self._status("a directory for the unwritten data, then enter")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            self.engine.save_unwritten(Path(event.value.strip()))
        except OSError as exc:
            self._status(f"cannot save there: {exc.strerror or exc}")
            self._left(self.engine.unwritten())
            return
        self._left(self.engine.unwritten())

    def action_drop(self) -> None:
        self.waiting = False
        self.engine.drop_unwritten()
        self.close(EXIT_UNWRITTEN)
