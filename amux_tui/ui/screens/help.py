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


DIALOG_WIDTH = 150  # as #help-dialog in app.tcss
DIALOG_CHROME = 8  # its border and padding, and the scroll bar
MIN_COLUMN = 44  # narrower help columns would wrap most rows
KEY_COLUMN = 18  # widest key column; longer keys get a line of their own
GAP = 2  # between the help columns


def _section_lines(section: Section, width: int) -> list[Content]:
    """A section as lines of at most ``width`` cells, one per command: the keys on the
    left, the name and as much of the description as fits (the palette has it all)."""
    title, rows = section
    lines = [Content.styled(title, "bold $accent")]
    key_width = min(KEY_COLUMN, max((len(key) for key, _ in rows), default=0))
    text_width = max(8, width - 2 - key_width - 2)
    for key, command in rows:
        if len(key) > key_width:  # the key alone, the text on the line below
            lines.append(Content.styled("  " + key, "bold"))
            key = ""
        name = _cut(command.name, text_width)
        room = text_width - len(name) - 3
        detail = _cut(command.description, room) if command.description and room >= 8 else ""
        lines.append(
            Content.assemble(
                ("  " + key.ljust(key_width) + "  ", "bold"),
                name,
                (" — " + detail, "$text-muted") if detail else "",
            )
        )
    return lines


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)].rstrip() + "…"


def render_sections(sections: list[Section], width: int = 46) -> Content:
    """Sections of ``key  name — description`` rows, one blank line between sections."""
    lines: list[Content] = []
    for section in sections:
        if lines:
            lines.append(Content(""))
        lines.extend(_section_lines(section, width))
    return Content("\n").join(lines)


def columns(sections: list[Section], count: int, width: int) -> list[list[Section]]:
    """Split the sections, in order, into ``count`` columns of ``width`` cells, as even in
    height as they come (heights are exact: the lines :func:`render_sections` makes)."""
    heights = [len(_section_lines(section, width)) + 1 for section in sections]
    return [sections[a:b] for a, b in _balanced(heights, count)]


def _balanced(heights: list[int], count: int, start: int = 0) -> list[tuple[int, int]]:
    """Cut ``heights[start:]`` into ``count`` runs minimising the tallest run."""
    n = len(heights)
    if count <= 1 or n - start <= 1:
        return [(start, n)]
    best: tuple[int, list[tuple[int, int]]] | None = None
    for cut in range(start + 1, n):
        rest = _balanced(heights, count - 1, cut)
        tallest = max(sum(heights[start:cut]), *(sum(heights[a:b]) for a, b in rest))
        if best is None or tallest < best[0]:
            best = (tallest, [(start, cut), *rest])
    assert best is not None
    return best[1]


class HelpScreen(Dialog[None]):
    """Read-only list of keys; any of escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark,enter", "close", "close")]

    def __init__(self, sections: list[Section]) -> None:
        super().__init__(classes="dialog-screen")
        self.sections = sections
        self._layout = (0, 0)  # (columns, width of one)

    def compose(self) -> ComposeResult:
        # As many columns as the terminal's width allows (the dialog is 150 cells at most).
        inner = min(DIALOG_WIDTH, self.app.size.width) - DIALOG_CHROME
        count = max(1, min(3, (inner + GAP) // (MIN_COLUMN + GAP)))
        width = (inner - GAP * (count - 1)) // count
        self._layout = (count, width)
        with Vertical(classes="dialog", id="help-dialog"):
            yield Label("amux keys", classes="dialog-title")
            with VerticalScroll(id="help-body"), Horizontal(id="help-columns"):
                for column in columns(self.sections, count, width):
                    static = Static(render_sections(column, width), classes="help-column")
                    static.styles.width = width
                    yield static
            yield Label("↑ ↓ pageup pagedown scroll · escape closes", classes="dialog-hint")

    def on_mount(self) -> None:
        self._fit(self.app.size.height)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.height)
        if self._layout[0] != max(
            1,
            min(
                3, (min(DIALOG_WIDTH, event.size.width) - DIALOG_CHROME + GAP) // (MIN_COLUMN + GAP)
            ),
        ):
            self.refresh(recompose=True)

    def _fit(self, height: int) -> None:
        # The keys scroll inside the dialog; its title and hint stay on screen at any height.
        self.query_one("#help-body").styles.max_height = max(3, height - 8)

    def action_close(self) -> None:
        self.close(None)
