"""The help screen (``ctrl+b ?``): every key, generated from the binding tables."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Label, Static

from amux_tui.ui.screens.dialog import Dialog

Section = tuple[str, list[tuple[str, str]]]


def render_sections(sections: list[Section]) -> Content:
    """Sections of ``key  description`` rows, keys aligned per section."""
    lines: list[Content] = []
    for title, rows in sections:
        if lines:
            lines.append(Content(""))
        lines.append(Content.styled(title, "bold $accent"))
        width = max((len(key) for key, _ in rows), default=0)
        for key, description in rows:
            lines.append(Content.assemble(("  " + key.ljust(width), "bold"), "   ", description))
    return Content("\n").join(lines)


class HelpScreen(Dialog[None]):
    """Read-only list of keys; any of escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark,enter", "close", "close")]

    def __init__(self, sections: list[Section]) -> None:
        super().__init__(classes="dialog-screen")
        self.sections = sections

    def compose(self) -> ComposeResult:
        # Two columns so everything fits a normal terminal: prefix commands on the left.
        left, right = self.sections[:1], self.sections[1:]
        with Vertical(classes="dialog", id="help-dialog"):
            yield Label("amux keys", classes="dialog-title")
            with VerticalScroll(id="help-body"), Horizontal(id="help-columns"):
                yield Static(render_sections(left), id="help-left")
                yield Static(render_sections(right), id="help-right")
            yield Label("escape closes", classes="dialog-hint")

    def action_close(self) -> None:
        self.close(None)
