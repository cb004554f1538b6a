"""Command palette (``ctrl+p``): every room action by name (SPEC §1.4).

One provider, so the order is amux's: the key table's commands that apply now (by the names
help uses, searchable by their descriptions too), "switch to" each room and "remove" each
queued prompt; then, apart and marked "Textual —", Textual's own commands (theme, keys,
maximize, screenshot).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import msgspec
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import FuzzySearch
from textual.markup import escape

from amux_tui.text import one_line
from amux_tui.ui.keys import Command, Scope

if TYPE_CHECKING:
    from amux_tui.ui.app import AmuxApp

DESCRIPTION_WEIGHT = 0.5
"""A query matching only a command's description ranks below one matching its name."""
TEXTUAL_WEIGHT = 1e-3
"""Textual sorts every hit by score: its own commands stay below amux's."""


class Entry(msgspec.Struct, frozen=True):
    """One palette line: its name, what it runs, its help line, and extra search text."""

    name: str
    run: Callable[[], Any]
    help: str
    more: str = ""
    weight: float = 1.0
    discover: bool = True  # listed before anything is typed


class AmuxCommands(Provider):
    """amux's commands first, then Textual's (the app leaves out Textual's "Quit")."""

    def _entries(self) -> list[Entry]:
        app = cast("AmuxApp", self.app)
        out = [
            Entry(
                command.title,
                partial(app.runner.run, command.id),
                _keys(app, command),
                command.description,
            )  # fmt: skip
            for command in app.runner.offered()
        ]
        for index, room in enumerate(app.engine.rooms.values()):
            out.append(
                Entry(
                    f"Switch to room {index + 1}: {one_line(room.title, 60)}",
                    partial(app.focus_room, room.id),
                    room.status,
                )
            )
        room = app.current_room
        if room is not None:
            for item in room.public_queue:
                if item.id is not None:  # always, for public items; narrows the type
                    out.append(
                        Entry(
                            f"Remove queued prompt {item.id}: {one_line(item.text, 50)}",
                            partial(app.turns.unqueue, item.id, room),
                            "queue",
                        )
                    )
        for command in sorted(app.get_system_commands(self.screen), key=lambda c: c.title):
            textual = f"Textual — {command.help}"  # Textual's own, apart from the room actions
            out.append(Entry(command.title, command.callback, textual, "", TEXTUAL_WEIGHT,
                             command.discover))  # fmt: skip
        return out

    async def discover(self) -> Hits:
        for entry in self._entries():
            if entry.discover:
                yield DiscoveryHit(
                    Content(entry.name), entry.run, text=entry.name, help=escape(entry.help)
                )

    async def search(self, query: str) -> Hits:
        from amux_tui.ui.screens.picker import highlight  # the palette is not on the first screen

        search = FuzzySearch(case_sensitive=False)
        for entry in self._entries():
            score, offsets = search.match(query, entry.name)
            if not score and entry.more:
                score, offsets = search.match(query, entry.more)
                score, offsets = score * DESCRIPTION_WEIGHT, ()
            if score > 0:
                yield Hit(
                    score * entry.weight,
                    highlight(entry.name, list(offsets)),
                    entry.run,
                    text=entry.name,
                    help=escape(entry.help),  # help is parsed as markup: keep ours literal
                )


def _keys(app: AmuxApp, command: Command) -> str:
    """``ctrl+b n, ctrl+pagedown — description``: the keys that run it, then its detail."""
    keymap = app.keymap
    keys = [keymap.prefix_display(command.id, first=True)]
    if command.scope is Scope.MAIN:
        keys.append(keymap.display(command.id))
    text = ", ".join(k for k in keys if k)
    return f"{text} — {command.description}" if command.description else text
