"""Command palette (``ctrl+p``): every room action by name (SPEC §1.4)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import FuzzySearch

from amux_tui.text import one_line
from amux_tui.ui.screens.picker import highlight

if TYPE_CHECKING:
    from amux_tui.ui.app import AmuxApp

# (name, app action, help). Names are what users type; the keys appear in the help text.
ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("New room", "new_room", "ctrl+b c — choose agent, working directory and title"),
    ("Next room", "next_room", "ctrl+b n, ctrl+pagedown"),
    ("Previous room", "prev_room", "ctrl+b p, ctrl+pageup"),
    ("Last room", "last_room", "ctrl+b l — the previously focused room"),
    ("Pick room", "pick_room", "ctrl+b w — fuzzy room picker"),
    ("Next room that needs you", "attention", "ctrl+b a — permission waiting, else unread"),
    ("Rename room", "rename_room", "ctrl+b ,"),
    ("Close room", "close_room", "ctrl+b & — stops the agent, archives the log"),
    ("Toggle layout (single / tiled)", "toggle_layout", "ctrl+b z"),
    ("Restart agent", "restart_room", "ctrl+b r — restart and resume the session"),
    ("Cancel turn", "cancel_turn", "escape twice"),
    ("Force stop agent", "force_stop", "ctrl+b k — when the agent ignores cancel"),
    ("Release held queue", "release_queue", "ctrl+r — run prompts held after a restart"),
    ("Remove last queued prompt", "unqueue_last", "ctrl+b q"),
    ("Toggle thoughts", "toggle_thoughts", "ctrl+b t — show or hide agent thoughts"),
    ("Jump to end of transcript", "jump_to_end", "ctrl+b e — follow new output again"),
    ("Inspect room", "inspect", "ctrl+b i — debug snapshot, stderr tail, agent log"),
    ("Help", "help", "ctrl+b ? — every key"),
    ("Quit", "quit", "ctrl+q"),
)


class RoomCommands(Provider):
    """Room actions, "switch to" each room and "remove" each queued prompt."""

    def _commands(self) -> list[tuple[str, Callable[[], Any], str]]:
        app: AmuxApp = self.app  # type: ignore[assignment]
        out: list[tuple[str, Callable[[], Any], str]] = [
            (name, partial(app.run_action, action), help_) for name, action, help_ in ACTIONS
        ]
        for index, room in enumerate(app.engine.rooms.values()):
            title = one_line(room.title, 60)
            out.append(
                (
                    f"Switch to room {index + 1}: {title}",
                    partial(app.focus_room, room.id),
                    room.status,
                )
            )
        room = app.current_room
        if room is not None:
            for item in room.queue:
                if item.id is not None:
                    text = one_line(item.text, 50)
                    out.append(
                        (
                            f"Remove queued prompt {item.id}: {text}",
                            partial(app.unqueue, item.id),
                            "queue",
                        )
                    )
        return out

    async def discover(self) -> Hits:
        for name, callback, help_ in self._commands():
            yield DiscoveryHit(Content(name), callback, text=name, help=_escape(help_))

    async def search(self, query: str) -> Hits:
        search = FuzzySearch(case_sensitive=False)
        for name, callback, help_ in self._commands():
            score, offsets = search.match(query, name)
            if score > 0:
                yield Hit(score, highlight(name, offsets), callback, text=name, help=_escape(help_))


def _escape(text: str) -> str:
    # Palette help text is parsed as markup; ours is fixed text, but stay literal anyway.
    from textual.markup import escape

    return escape(text)
