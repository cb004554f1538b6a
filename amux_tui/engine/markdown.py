"""How amux reads Markdown: one parser, and single newlines as line breaks.

Agents write plain text where a newline is a line break (fast-agent's command list,
Codex's ``Context compacted\\nHeads up…``, Hermes' two-line notes), while CommonMark joins
the lines of a paragraph. amux reads them the way GitHub comments do: a single newline
inside a paragraph is a line break; everything else is CommonMark. The transcript view
turns the parser's soft breaks into hard ones (:func:`hard_breaks`); the Markdown export
writes them as CommonMark hard breaks (:func:`with_hard_breaks`) so any viewer shows the
same lines.

One line of plain prose (the streaming tail of a long paragraph, most often) gets the
tokens the parser would make without running it (:func:`parse`): the parse was about half
the cost of rendering such a piece.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

__all__ = ["hard_breaks", "parse", "parser", "plain_line_tokens", "with_hard_breaks"]

_PLAIN_LINE = re.compile(
    r"[^\s\\`*_\[\]<>!#~|&0-9+=-][^\x00-\x1f\x7f\x85\u2028\u2029\\`*_\[\]<>!#~|&]*"
)
"""One line no Markdown rule can apply to: no character any inline or block rule starts
from (escapes, code, emphasis, links, images, autolinks, entities, tables, strikethrough,
headings, quotes), and a first character that cannot begin a list, a thematic break or an
indented code block."""


@cache
def parser() -> MarkdownIt:
    """The one Markdown parser (raw HTML off: tags stay text; tables and ~~strike~~ on).

    Made (and markdown-it imported) on first use: nothing on amux's first screen parses
    Markdown, so starting does not pay for it."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("strikethrough").enable("table")


def parse(text: str) -> list[Token]:
    """The parser's tokens for ``text``, soft breaks made hard (see the module docstring)."""
    tokens = plain_line_tokens(text)
    if tokens is None:
        tokens = parser().parse(text)
        hard_breaks(tokens)
    return tokens


def plain_line_tokens(text: str) -> list[Token] | None:
    """What the parser makes of ``text`` when it is one line of plain prose (one
    paragraph of one text, trimmed); None for anything else."""
    if _PLAIN_LINE.fullmatch(text) is None:
        return None
    from markdown_it.token import Token

    content = text.strip()
    return [
        Token("paragraph_open", "p", 1, map=[0, 1], block=True),
        Token(
            "inline",
            "",
            0,
            map=[0, 1],
            level=1,
            content=content,
            block=True,
            children=[Token("text", "", 0, content=content)],
        ),  # fmt: skip
        Token("paragraph_close", "p", -1, block=True),
    ]


def hard_breaks(tokens: Iterable[Token]) -> None:
    """Make every soft line break of a parsed document a hard one (in place)."""
    for token in tokens:
        children = token.children
        if children:
            for child in children:
                if child.type == "softbreak":
                    child.type = "hardbreak"
                    child.tag = "br"


def with_hard_breaks(text: str) -> str:
    """``text`` with each line that continues a paragraph ending in a CommonMark hard
    break (two trailing spaces), so every Markdown viewer keeps the agent's lines."""
    if "\n" not in text.strip("\n"):
        return text
    lines = text.split("\n")
    ends: list[int] = []  # lines followed by another line of the same paragraph
    for token in parser().parse(text):
        if token.type == "paragraph_open" and token.map:
            first, last = token.map
            ends.extend(range(first, last - 1))
    for n in ends:
        line = lines[n]
        if n < len(lines) - 1 and not line.endswith(("  ", "\\")):
            lines[n] = line.rstrip(" ") + "  "
    return "\n".join(lines)
