"""Where the wrapped lines of a long text line begin: cuts that keep one paragraph whole.

:mod:`amux_tui.ui.render_text` cuts a text line longer than ``HARD_LIMIT`` into pieces
that are rendered on their own (a 32 MiB line cannot be wrapped in one go). A cut that is
not where a wrapped line begins shows a line break the text does not contain. Rich wraps
greedily (``rich._wrap.divide_line``): a line takes each next word while the word, without
its trailing spaces, still fits. So the wrapped lines that follow a known line start
depend only on the text from there: stepping line by line from the piece's start (a line
start: the start of the text line, or an earlier cut) finds a cut that is a line start of
the whole line, and each piece renders exactly the lines the whole line would.

The step is one ``rfind`` per wrapped line for ASCII text (the common case); other text
goes word by word with Rich's cell widths. What Rich wraps is the text as shown: for
Markdown with inline syntax (``**bold**``, links, code spans) that is computed from the
parsed paragraph and mapped back to the source, and a cut is only made outside inline
spans. Whatever cannot be mapped (tabs, images, width-changing control characters, a
long line inside a list or quote) gets no cut here; the caller falls back to a plain cut.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from rich.cells import cell_len, chop_cells

from amux_tui.engine.markdown import parser
from amux_tui.text import visible

__all__ = ["line_start_cut"]

_WORD = re.compile(r"\s*\S+\s*")  # Rich's notion of a word: trailing spaces belong to it
_NON_SPACE = re.compile(r"[^ ]")
_INLINE = "\\`*_~[]<>&!"  # characters of inline Markdown that change what is shown
_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")  # what a backslash escapes
# A piece that starts like this would be read as a block (list, heading, quote, rule,
# fence, table, link definition), so a line never gets cut just before it.
# Anything but printable ASCII, Latin, Greek and Cyrillic (one cell each, never a space
# to Rich) takes the word-by-word path: wide, zero-width, control and space characters.
_WIDE = re.compile("[^ !-~\u00a1-\u02ff\u0370-\u0482\u048a-\u052f]")
_BLOCK_START = re.compile(r"[-+*>#=~`|_\[]|\d{1,9}[.)]")
_INDENTED_BLOCK = re.compile(r" {0,3}(?:[-+*>#=~`|_\[]|\d{1,9}[.)])| {4}")


def line_start_cut(
    text: str, start: int, lo: int, hi: int, width: int, *, kind: str, slow: bool = True
) -> int | None:
    """A cut in ``[lo, hi)`` where a wrapped line of ``text`` begins, or None.

    ``text[start:]`` begins a wrapped line and continues one text line past ``hi``;
    ``kind`` is how it renders: ``"markdown"`` (a paragraph), ``"code"`` (a fenced code
    block line: two columns of padding) or ``"plain"``. The answer depends only on
    ``text[start:hi]``, so it is the same however the text was chunked. ``slow=False``
    skips text that needs the word-by-word path (wide characters, inline Markdown), which
    costs ~0.5 ms per piece: callers bound how much of one line may take it.
    """
    if kind == "code":
        width -= 2
    if width < 1 or hi - start < 2:
        return None
    window = text[start:hi]
    if "\t" in window:
        return None  # Rich expands tabs from the start of the text line, not of the piece
    markdown = kind == "markdown"
    if markdown:
        if _INDENTED_BLOCK.match(window):
            return None  # a list item, quote, heading or code: not a plain paragraph
        first = _NON_SPACE.search(window)
        if first is None:
            return None
        start += first.start()  # a paragraph drops the spaces its line begins with
        window = window[first.start() :]
    last_word = text.rfind(" ", start, hi) + 1  # may continue past hi: breaks after it may move
    if (window.isascii() or not _WIDE.search(window)) and not (markdown and _has_inline(window)):
        cut = _ascii_cut(text, start, lo, last_word, width, markdown)
        if cut != _FOLD:
            return cut
        starts: Iterator[int] = (start + b for b in _greedy_starts(window, width))
    elif not slow:
        return None
    else:
        shown = visible(window)
        if len(shown) != len(window):
            return None
        if markdown and _has_inline(shown):
            return _markdown_cut(shown, start, lo, width)
        starts = (start + b for b in _greedy_starts(shown, width))
    for cut in starts:
        if cut > last_word:
            return None
        if cut >= lo and not (markdown and _BLOCK_START.match(text, cut)):
            return cut
    return None


def _has_inline(text: str) -> bool:
    # One memchr-fast scan per character: several times faster than a regex class.
    return any(char in text for char in _INLINE)


def _greedy_starts(text: str, width: int) -> Iterator[int]:
    """Offsets where Rich begins a new wrapped line of ``text`` (one text line), lazily."""
    offset = 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group()
        length = cell_len(word.rstrip())
        if width - offset >= length:
            offset += cell_len(word)
        elif length > width:  # wider than a line: Rich folds it
            chunks = chop_cells(word, width)
            for n, chunk in enumerate(chunks):
                if start:
                    yield start
                if n == len(chunks) - 1:
                    offset = cell_len(chunk)
                else:
                    start += len(chunk)
        elif offset and start:
            yield start
            offset = cell_len(word)


_FOLD = -1  # _ascii_cut's answer when a word is wider than a line (Rich folds it)


def _ascii_cut(text: str, line: int, lo: int, last: int, width: int, markdown: bool) -> int | None:
    """:func:`_greedy_starts` for one-cell characters (ASCII, Latin…), one ``rfind`` per
    wrapped line (a 32 MiB line has ~400,000): the first line start in ``[lo, last]``."""
    rfind, search = text.rfind, _NON_SPACE.search
    if text[line] == " ":  # only a text line's first wrapped line can begin with spaces
        m = search(text, line, last)
        if m is None or m.start() - line >= width:
            return _FOLD if m is not None else None
        first = m.start()
    else:
        first = line
    while True:
        limit = line + width
        if limit >= last:
            return None
        if text[limit] == " ":  # every word ending by ``limit`` fits; the next one begins
            m = search(text, limit, last + 1)
            if m is None:
                return None
            line = m.start()
        else:
            space = rfind(" ", first, limit)
            if space < 0:
                return _FOLD
            line = space + 1
        if line >= lo and not (markdown and _BLOCK_START.match(text, line)):
            return line
        first = line


def _markdown_cut(shown: str, start: int, lo: int, width: int) -> int | None:
    """A cut for a Markdown paragraph with inline syntax. Rich wraps the text it shows
    (emphasis markers gone, entities decoded, links followed by their address), so that
    is what gets wrapped; a wrapped line's start is mapped back to the source through the
    plain text outside any span, and taken once the piece before it is checked to show
    exactly the wrapped lines before it."""
    parsed = _shown_text(shown)
    if parsed is None:
        return None
    rendered, runs = parsed
    last_word = shown.rfind(" ") + 1
    k = 0
    for b in _greedy_starts(rendered, width):
        while k < len(runs) and runs[k][0] + runs[k][2] <= b:
            k += 1
        if k == len(runs):
            return None
        at, src, _ = runs[k]
        if b < at:
            continue  # inside a span: cutting there would change how both halves render
        cut = src + (b - at)
        if cut > last_word:
            return None
        if start + cut >= lo and shown[cut - 1] == " " and not _BLOCK_START.match(shown, cut):
            before = _shown_text(shown[:cut])
            return start + cut if before and before[0] == rendered[:b].rstrip(" ") else None
    return None


def _shown_text(source: str) -> tuple[str, list[tuple[int, int, int]]] | None:
    """The text Rich shows for a one-paragraph Markdown line, and where its plain text
    outside any span comes from: runs ``(offset shown, offset in source, length)``. None
    if the line is not one simple paragraph (images and breaks are laid out apart)."""
    tokens = parser().parse(source)
    if [t.type for t in tokens] != ["paragraph_open", "inline", "paragraph_close"]:
        return None
    out: list[str] = []
    runs: list[tuple[int, int, int]] = []
    size = 0
    cursor: int | None = 0  # where the next text is looked for; None once lost
    depth = 0
    link: list[str] | None = None
    href = ""
    for token in tokens[1].children or ():
        kind = token.type
        if kind in ("text", "code_inline"):
            content = token.content
            if cursor is not None:
                cursor = _align(source, cursor, content, runs if kind == "text" and
                                depth == 0 and link is None else None, size)  # fmt: skip
            if link is not None:
                link.append(content)
                continue
            out.append(content)
            size += len(content)
        elif kind == "link_open" and link is None:
            link, href = [], str(token.attrs.get("href", ""))
        elif kind == "link_close" and link is not None:
            shown = f"{''.join(link)} ({href})"  # Rich without hyperlinks: "text (url)"
            out.append(shown)
            size += len(shown)
            link = None
            if cursor is not None and token.markup != "autolink":
                cursor = _after_destination(source, cursor)
        elif kind.endswith("_open") and not kind.startswith("image"):
            depth += 1
        elif kind.endswith("_close"):
            depth -= 1
        else:
            return None
    return "".join(out), runs


def _align(
    source: str, cursor: int, content: str, runs: list[tuple[int, int, int]] | None, at: int
) -> int | None:
    """Find ``content`` in ``source`` from ``cursor`` (backslash escapes and entities are
    what they decode to); add its runs of verbatim characters; where it ends, or None."""
    if not content:
        return cursor
    first = content[0]
    pos = cursor
    while pos < len(source):
        hits = [i for i in (source.find(first, pos), source.find("\\", pos),
                            source.find("&", pos)) if i >= 0]  # fmt: skip
        if not hits:
            return None
        pos = min(hits)
        matched = _match(source, pos, content)
        if matched is not None:
            end, pieces = matched
            if runs is not None:
                runs.extend((at + i, j, n) for i, j, n in pieces)
            return end
        pos += 1
    return None


def _match(source: str, pos: int, content: str) -> tuple[int, list[tuple[int, int, int]]] | None:
    """``content`` read from ``source[pos:]``: the end and the verbatim runs, or None."""
    pieces: list[tuple[int, int, int]] = []
    i, n = 0, len(content)
    while i < n:
        special = [q for q in (source.find("\\", pos), source.find("&", pos)) if q >= 0]
        q = min(special) if special else len(source)
        size = min(q - pos, n - i)
        if size and not content.startswith(source[pos : pos + size], i):
            return None
        if size:
            pieces.append((i, pos, size))
            i, pos = i + size, pos + size
            continue
        # at a backslash or an ampersand: an escape, an entity, or the character itself
        char = source[q]
        semi = source.find(";", q, q + 33) if char == "&" else -1
        decoded = html.unescape(source[q : semi + 1]) if semi > 0 else ""
        if char == "\\" and source[q + 1 : q + 2] == content[i] and content[i] in _PUNCT:
            i, pos = i + 1, q + 2
        elif decoded and decoded != source[q : semi + 1] and content.startswith(decoded, i):
            i, pos = i + len(decoded), semi + 1
        elif content[i] == char:
            pieces.append((i, pos, 1))
            i, pos = i + 1, pos + 1
        else:
            return None
    return pos, pieces


def _after_destination(source: str, cursor: int) -> int | None:
    """Past the ``](destination "title")`` that ends an inline link."""
    pos = source.find("](", cursor)
    if pos < 0:
        return None
    depth = 0
    for i in range(pos + 2, len(source)):
        char = source[i]
        if char == "\\":
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                return i + 1
            depth -= 1
    return None
