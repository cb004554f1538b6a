"""The agent's slash commands, offered while a ``/command`` is being typed in the prompt.

Agents announce their commands with ``available_commands_update`` (kept in the room's
model). Typing ``/`` at the start of the prompt lists them with their descriptions,
filtered by what follows; the prompt's ``tab`` (or ``enter``) completes the highlighted one.
The menu never takes the focus: the prompt keeps it and drives the menu.
"""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from amux_tui.engine.transcript_blocks import as_str
from amux_tui.text import one_line


def typed_command(text: str) -> str | None:
    """The command name being typed (``/pe`` → ``pe``), or None when the text is not one."""
    if not text.startswith("/") or any(ch.isspace() for ch in text):
        return None
    return text[1:]


def matching(commands: list[dict[str, Any]], typed: str) -> list[dict[str, Any]]:
    """Commands whose name starts with ``typed`` (case-insensitive), in the agent's order."""
    typed = typed.lower()
    return [c for c in commands if (as_str(c.get("name")) or "").lower().startswith(typed)]


class CommandMenu(OptionList, can_focus=False):
    """Slash commands matching the prompt's text; hidden when nothing matches."""

    DEFAULT_CSS = """
    CommandMenu {
        height: auto;
        max-height: 10;
        border: none;
        padding: 0 1;
        background: $panel;
        display: none;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands: list[dict[str, Any]] = []
        """The agent's commands (its last ``available_commands_update``)."""
        self._names: list[str] = []
        self._found: list[dict[str, Any]] = []

    @property
    def open(self) -> bool:
        return bool(self.display and self._names)

    @property
    def chosen(self) -> str | None:
        """The highlighted command as the prompt should read: ``/name``, and a space after
        it when the command takes input (None when the menu is closed)."""
        if not self.open:
            return None
        index = self.highlighted if self.highlighted is not None else 0
        takes_input = isinstance(self._found[index].get("input"), dict)
        return f"/{self._names[index]}" + (" " if takes_input else "")

    def sync(self, text: str) -> None:
        """Offer the commands matching ``text`` (the prompt's whole text), or hide.

        The prompt calls this with its text before it acts on a key, so a key typed right
        after others sees the menu as that text makes it (the text area's ``Changed``
        message arrives later).
        """
        typed = typed_command(text)
        found = matching(self.commands, typed) if typed is not None else []
        names = [as_str(c.get("name")) or "" for c in found]
        if typed is not None and names == [typed]:
            found, names = [], []  # typed in full: nothing left to complete
        if names != self._names:
            self._names, self._found = names, found
            self.set_options([_option(c) for c in found])
            if names:
                self.highlighted = 0
        self.display = bool(names)

    def move(self, step: int) -> None:
        """Highlight the next (``1``) or previous (``-1``) command, wrapping around."""
        if self._names:
            index = self.highlighted if self.highlighted is not None else 0
            self.highlighted = (index + step) % len(self._names)


def _option(command: dict[str, Any]) -> Option:
    name = one_line(as_str(command.get("name")) or "", 40)
    description = one_line(as_str(command.get("description")) or "", 100)
    inp = command.get("input")
    hint = as_str(inp.get("hint")) if isinstance(inp, dict) else None
    return Option(
        Content.assemble(
            (f"/{name}", "bold"),
            (f" {one_line(hint, 40)}" if hint else "", "$text-muted italic"),
            (f"  {description}" if description else "", "$text-muted"),
        )
    )
