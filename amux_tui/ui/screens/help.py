"""The help screen (``ctrl+b ?``): every key, generated from the key table."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Label, Static

from amux_tui.ui.keymap import Keymap
from amux_tui.ui.keys import COMMANDS, HELP_SECTIONS, Command
from amux_tui.ui.screens.dialog import Dialog

Row = tuple[str, Command]
Section = tuple[str, list[Row]]


def help_sections(keymap: Keymap) -> list[Section]:
    """The prefix commands, then the direct keys of each scope: every key of the table."""
    prefix = [(keymap.prefix_display(c.id), c) for c in COMMANDS if keymap.prefix_keys_of(c.id)]
    sections: list[Section] = [(f"Prefix commands ({keymap.prefix}, then the key)", prefix)]
    for title, scope in HELP_SECTIONS:
        rows = [
            (_keys(keymap, c), c) for c in COMMANDS if c.scope is scope and keymap.keys_of(c.id)
        ]
        sections.append((title, rows))
    return sections


def _keys(keymap: Keymap, command: Command) -> str:
    keys = keymap.display(command.id)
    return f"{keys} ({command.keys_note})" if command.keys_note else keys


def render_sections(sections: list[Section]) -> Content:
    """Sections of ``key  name — description`` rows, keys aligned per section."""
    lines: list[Content] = []
    for title, rows in sections:
        if lines:
            lines.append(Content(""))
        lines.append(Content.styled(title, "bold $accent"))
        width = max((len(key) for key, _ in rows), default=0)
        for key, command in rows:
            detail = (f" — {command.description}", "$text-muted") if command.description else ""
            lines.append(
                Content.assemble(("  " + key.ljust(width), "bold"), "   ", command.name, detail)
            )
    return Content("\n").join(lines)


COLUMN_WIDTH = 46  # characters of one help column (three in the 150-column dialog)


def _height(section: Section) -> int:
    """Lines a section takes in a column: its title, a gap, and its rows as they wrap."""
    _title, rows = section
    width = max((len(key) for key, _ in rows), default=0)
    lines = 0
    for _key, command in rows:
        length = 2 + width + 3 + len(command.name)
        length += len(command.description) + 3 if command.description else 0
        lines += -(-length // COLUMN_WIDTH)
    return lines + 2


def columns(sections: list[Section], count: int) -> list[list[Section]]:
    """Split the sections, in order, into ``count`` columns as even as they come."""
    heights = [_height(section) for section in sections]
    if count <= 1 or len(sections) <= 1:
        return [sections]
    best: tuple[int, list[list[Section]]] | None = None
    for split in range(1, len(sections)):
        rest = columns(sections[split:], count - 1)
        tallest = max(sum(heights[:split]), *(sum(map(_height, c)) for c in rest))
        if best is None or tallest < best[0]:
            best = (tallest, [sections[:split], *rest])
    assert best is not None
    return best[1]


class HelpScreen(Dialog[None]):
    """Read-only list of keys; any of escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark,enter", "close", "close")]

    def __init__(self, sections: list[Section]) -> None:
        super().__init__(classes="dialog-screen")
        self.sections = sections

    def compose(self) -> ComposeResult:
        # Three columns so everything fits a normal terminal.
        with Vertical(classes="dialog", id="help-dialog"):
            yield Label("amux keys", classes="dialog-title")
            with VerticalScroll(id="help-body"), Horizontal(id="help-columns"):
                for column in columns(self.sections, 3):
                    yield Static(render_sections(column), classes="help-column")
            yield Label("↑ ↓ pageup pagedown scroll · escape closes", classes="dialog-hint")

    def on_mount(self) -> None:
        self._fit(self.app.size.height)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.height)

    def _fit(self, height: int) -> None:
        # The keys scroll inside the dialog; its title and hint stay on screen at any height.
        self.query_one("#help-body").styles.max_height = max(3, height - 8)

    def action_close(self) -> None:
        self.close(None)
