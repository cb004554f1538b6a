"""What is drawn over the transcript's rendered lines: find hits, the copy-mode cursor and
selection, and the mouse selection.

Marks are kept apart from the rendered-lines cache: a line is rendered once, and its marks
are painted on each repaint (only the lines on screen), so typing in the find bar or moving
the copy cursor never re-renders Markdown. Positions are :data:`Anchor`\\ s plus a character
column, so they stay on the same text when heights above them are re-measured.
"""

from __future__ import annotations

import re

import msgspec
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from amux_tui.ui.render_text import Line
from amux_tui.ui.widgets.transcript_layout import Anchor

__all__ = ["Marks", "Point", "line_text", "paint"]

Point = tuple[Anchor, int]
"""A place in the transcript: the rendered line (as an anchor) and a character column."""


def line_text(line: Line | None) -> str:
    """The characters of a rendered line (no styles)."""
    return "".join(segment.text for segment in line) if line else ""


class Marks(msgspec.Struct):
    """Everything painted over one transcript view's lines."""

    pattern: re.Pattern[str] | None = None  # find: every match on screen is highlighted
    current: tuple[Anchor, int, int] | None = None  # find: the current hit (line, span)
    cursor: Point | None = None  # copy mode: the cursor
    mark: Point | None = None  # copy mode: where the selection started (v / V)
    linewise: bool = False  # copy mode: V selects whole lines

    @property
    def copying(self) -> bool:
        return self.cursor is not None

    def clear_find(self) -> None:
        self.pattern = None
        self.current = None


def paint(strip: Strip, text: str, spans: list[tuple[int, int, Style]]) -> Strip:
    """``strip`` with ``style`` over the characters ``[start, end)`` of each span.

    ``text`` is the strip's characters; spans are in characters (wide characters take
    two cells) and may run past the end (the cursor on an empty line).
    """
    if not spans:
        return strip
    length = len(text)
    pad = max(end for _, end, _ in spans) - length
    if pad > 0 and strip.cell_length <= cell_len(text):
        strip = Strip([*strip, Segment(" " * pad)], strip.cell_length + pad)
        text += " " * pad
    for start, end, style in sorted(spans, key=lambda s: s[0]):
        start, end = max(0, start), min(len(text), end)
        if end <= start:
            continue
        a, b = cell_len(text[:start]), cell_len(text[:end])
        cuts = [a, b, strip.cell_length]
        parts = list(strip.divide(cuts))
        while len(parts) < 3:
            parts.append(Strip([], 0))
        # A post-style: it must win over the line's own colours (Strip.apply_style loses).
        marked = Strip(Segment.apply_style(list(parts[1]), post_style=style), parts[1].cell_length)
        strip = Strip.join([parts[0], marked, parts[2]])
    return strip
