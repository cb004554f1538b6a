"""Desktop attention for rooms that are not on screen (SPEC §1.5): bell and OSC 9.

The sink is injectable (``AmuxApp(notifier=...)``) so tests can observe exactly what would
reach the terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from textual.app import App

from amux_tui.text import plain
from amux_tui.ui.textual_compat import write_to_terminal


class Notifier(Protocol):
    """Receives "room X needs attention because Y"."""

    def __call__(self, title: str, reason: str) -> None: ...


def osc9(title: str, reason: str) -> str:
    """The OSC 9 desktop notification sequence; control characters are removed first so a
    room title can never terminate the sequence early or smuggle in escapes."""
    clean = plain(f"amux: {title}: {reason}", limit=400)
    return f"\x1b]9;{clean}\x07"


class TerminalNotifier:
    """Rings the bell and writes OSC 9 through the app's driver (nothing when headless)."""

    def __init__(self, app: App[Any], write: Callable[[str], None] | None = None) -> None:
        self.app = app
        self._write = write

    def __call__(self, title: str, reason: str) -> None:
        self.app.bell()
        sequence = osc9(title, reason)
        if self._write is not None:
            self._write(sequence)
            return
        write_to_terminal(self.app, sequence)
