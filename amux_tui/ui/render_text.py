"""Text of agent messages, thoughts and prompts → rendered lines, in bounded pieces.

Agent text can be enormous (a 32 MiB single line, 100,000 streamed chunks without a
newline) and arrives a few characters at a time, so it is never rendered as one unit.
:class:`TextSplitter` cuts a growing text into *pieces* whose boundaries depend only on the
text (never on how it was chunked), so a transcript looks the same live and after a
restart. Committed pieces are rendered once and cached; only the last piece (the *tail*)
is re-rendered while the text streams. Markdown pieces are cut at blank lines outside code
fences; any piece that grows past :data:`PIECE_LIMIT` characters is cut at a line end (or,
for a line longer than :data:`HARD_LIMIT`, where one of its wrapped lines begins: see
:mod:`amux_tui.ui.wrap_points`), which bounds the work per flush. A cut never shows: a
single newline is a line break (:mod:`amux_tui.engine.markdown`), and a long line is cut
where the whole line would wrap anyway, so a paragraph reads as one at any chunking.

Everything here is shown literally: console markup (``[bold]``) is never interpreted, HTML
stays text, and control characters (ANSI escapes included) are replaced by visible symbols
before anything reaches Rich.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.console import Console, RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from amux_tui.text import visible
from amux_tui.ui.wrap_points import line_start_cut

__all__ = [
    "HARD_LIMIT", "PIECE_LIMIT", "Line", "Piece", "TextSplitter",
    "estimate_lines", "render_lines", "render_markdown", "render_plain",
]  # fmt: skip

PIECE_LIMIT = 2048
"""A piece longer than this is cut at the next line end (bounds the streaming tail)."""
HARD_LIMIT = 4096
"""A single line longer than this is cut at a space (or anywhere) into several pieces."""
SLOW_CUTS_LIMIT = 256 * 1024
"""How far into one line cuts may be found word by word (wide characters, inline Markdown;
~0.5 ms a piece); further on only text of one-cell characters is cut where it wraps."""
_TABLE_LIMIT = 4 * PIECE_LIMIT  # tables are only cut when huge (a cut loses the header)

Line = list[Segment]
"""One rendered line. Plain segment lists, not Strips: a Strip carries seven small caches
(~1.2 KiB per line), a segment list ~0.2 KiB, and the view keeps thousands of lines."""


class Piece(NamedTuple):
    """A slice ``text[start:end]`` of a block's text, rendered as one unit.

    ``sep``: a blank line separates it from the previous piece (it began after a blank
    line). ``fence``: the opening fence line to prepend because the piece starts inside a
    code block; ``open_end``: the piece ends inside a code block (the next one continues it).
    """

    start: int
    end: int
    sep: bool = False
    fence: str = ""
    open_end: bool = False
    newlines: int = 0


class TextSplitter:
    """Cuts an append-only text into :class:`Piece`\\ s, incrementally and deterministically.

    :meth:`feed` scans only the complete lines added since the last call; :attr:`pieces` are
    the committed pieces and :meth:`tail` the piece still growing. Feeding a text in one go
    or chunk by chunk yields the same pieces. ``width`` is the width the pieces render at:
    a line too long for one piece is cut where a wrapped line begins (0: at a space).
    """

    __slots__ = ("markdown", "width", "pieces", "_pos", "_start", "_sep", "_fence",
                 "_start_fence", "_blank", "_seen", "_check")  # fmt: skip

    def __init__(self, markdown: bool, width: int = 0) -> None:
        self.markdown = markdown
        self.width = width
        self.pieces: list[Piece] = []
        self._pos = 0  # scanned up to here (always a line start)
        self._start = 0  # start of the tail piece
        self._sep = False  # the tail piece starts after a blank line
        self._fence: tuple[str, int, str] | None = None  # (char, length, opening line)
        self._start_fence = ""  # the tail piece starts inside this fence
        self._blank = False  # blank line(s) seen since the last non-blank line
        self._seen = 0  # length of the text at the last feed
        self._check = ""  # its last characters, to notice a text that was replaced

    @property
    def size(self) -> int:
        """Characters of the text scanned so far."""
        return self._seen

    def accepts(self, text: str) -> bool:
        """True if ``text`` extends the text fed so far (texts only grow by appending)."""
        seen = self._seen
        return len(text) >= seen and text.startswith(self._check, seen - len(self._check))

    def feed(self, text: str) -> None:
        """Scan what was appended to ``text`` since the last call."""
        n = len(text)
        pos = self._pos
        find = text.find
        while True:
            nl = find("\n", pos)
            line_end = n if nl < 0 else nl
            if line_end - self._start > HARD_LIMIT:
                self._cut_long_line(text, pos, line_end)
            if nl < 0:
                break
            self._line(text, pos, nl)
            pos = nl + 1
        self._pos = pos
        self._seen = n
        self._check = text[max(0, n - 16) :]

    def tail(self, text: str) -> Piece | None:
        """The growing last piece (``None`` if the text ends exactly at a cut)."""
        start = self._start
        if start >= len(text):
            return None
        return Piece(start, len(text), self._sep, self._start_fence, False,
                     _newlines(text, start, len(text)))  # fmt: skip

    def all_pieces(self, text: str) -> list[Piece]:
        """Committed pieces plus the tail."""
        tail = self.tail(text)
        return self.pieces if tail is None else [*self.pieces, tail]

    # --- scanning -------------------------------------------------------------------------

    def _commit(self, text: str, at: int, sep_next: bool) -> None:
        fence = self._fence
        self.pieces.append(
            Piece(
                self._start,
                at,
                self._sep,
                self._start_fence,
                fence is not None,
                _newlines(text, self._start, at),
            )
        )
        self._start = at
        self._sep = sep_next
        self._start_fence = fence[2] if fence is not None else ""

    def _cut_long_line(self, text: str, line_start: int, line_end: int) -> None:
        """Bound a piece holding a very long line: end the piece before it, then slice it."""
        if line_start > self._start:
            sep = self._blank and self._fence is None and text[line_start] not in " \t"
            self._blank = False if sep else self._blank
            self._commit(text, line_start, sep)
        while line_end - self._start > HARD_LIMIT:
            start = self._start
            lo, hi = start + PIECE_LIMIT, start + HARD_LIMIT
            kind = "plain" if not self.markdown else "markdown" if self._fence is None else "code"
            slow = start - line_start < SLOW_CUTS_LIMIT
            cut = (
                line_start_cut(text, start, lo, hi, self.width, kind=kind, slow=slow)
                if self.width
                else None
            )
            if cut is None:  # no wrapped line can be found to begin here: cut at a space
                cut = text.rfind(" ", lo, hi) + 1 or hi
            self._commit(text, cut, False)

    def _line(self, text: str, start: int, end: int) -> None:
        """Process the complete line ``text[start:end]`` (``end`` is its ``\\n``)."""
        if not self.markdown:
            if end + 1 - self._start > PIECE_LIMIT:
                self._commit(text, end + 1, False)
            return
        line = text[start:end]
        stripped = line.strip()
        fence = self._fence
        opened = False
        if fence is None:
            if not stripped:
                self._blank = True
                return
            if self._blank:
                self._blank = False
                # A line indented after a blank line continues a list item or is indented
                # code: cutting there would change its meaning, so only cut before col 0.
                if start > self._start and line[0] not in " \t":
                    self._commit(text, start, True)
            if stripped.startswith(("```", "~~~")):
                char = stripped[0]
                k = len(stripped) - len(stripped.lstrip(char))
                if k >= 3 and not (char == "`" and "`" in stripped[k:]):
                    self._fence = (char, k, line.strip())
                    opened = True
        elif stripped.startswith(fence[0] * fence[1]) and not stripped.strip(fence[0]):
            self._fence = None
        size = end + 1 - self._start
        if size > PIECE_LIMIT and not opened:
            in_table = self._fence is None and stripped.startswith("|")
            if not in_table or size > _TABLE_LIMIT:
                self._commit(text, end + 1, False)


def _newlines(text: str, start: int, end: int) -> int:
    """Newlines in ``text[start:end]`` that make lines (trailing ones are not rendered)."""
    while end > start and text[end - 1] == "\n":
        end -= 1
    return text.count("\n", start, end)


# --- rendering ------------------------------------------------------------------------------


def render_lines(
    renderable: RenderableType, console: Console, width: int, base: Style | None = None
) -> list[Line]:
    """Render to ``width``-wide lines padded with ``base`` (the widget's colours)."""
    options = console.options.update(width=max(1, width), height=None, highlight=False,
                                     markup=False, no_wrap=False)  # fmt: skip
    return console.render_lines(renderable, options, style=base, pad=True)


def render_markdown(
    text: str, piece: Piece, console: Console, width: int, *, base: Style | None = None,
    code_theme: str = "monokai",
) -> list[Line]:  # fmt: skip
    """Render one Markdown piece of ``text``: a blank line first if ``piece.sep``."""
    from amux_tui.ui.rich_markdown import LiteralMarkdown  # Rich's Markdown: on first use

    body = text[piece.start : piece.end]
    if piece.fence:
        body = f"{piece.fence}\n{body}"
    md = LiteralMarkdown(visible(body), code_theme, continued=bool(piece.fence),
                         open_end=piece.open_end)  # fmt: skip
    lines = render_lines(md, console, width, base)
    # Rich puts blank lines around some elements (lists); pieces manage their own spacing.
    first, last = 0, len(lines)
    while first < last and _blank_plain(lines[first], base):
        first += 1
    while last > first and _blank_plain(lines[last - 1], base):
        last -= 1
    lines = lines[first:last]
    if piece.sep and lines:
        lines.insert(0, render_lines(Text(""), console, width, base)[0])
    return lines


def _blank_plain(line: Line, base: Style | None) -> bool:
    """A line with no text and no background of its own (so not a code block's padding)."""
    base_bg = base.bgcolor if base is not None else None
    for seg in line:
        if seg.text.strip():
            return False
        style = seg.style
        if style is not None and style.bgcolor is not None and style.bgcolor != base_bg:
            return False
    return True


def render_plain(
    text: str, piece: Piece, console: Console, width: int, *, style: Style | None = None,
    base: Style | None = None,
) -> list[Line]:  # fmt: skip
    """Render one plain-text piece of ``text`` literally, wrapped to ``width``."""
    body = text[piece.start : piece.end]
    if body.endswith("\n"):
        body = body[:-1]  # the next piece starts on a new line anyway
    rich_text = Text(visible(body), style=style or "", overflow="fold", no_wrap=False)
    return render_lines(rich_text, console, width, base)


def estimate_lines(length: int, newlines: int, width: int) -> int:
    """A cheap guess of how many lines ``length`` characters with ``newlines`` will take."""
    return newlines + 1 + length // max(8, width)
