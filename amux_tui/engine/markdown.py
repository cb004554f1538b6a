"""How amux reads Markdown: one parser, and single newlines as line breaks.

Agents write plain text where a newline is a line break (fast-agent's command list,
Codex's ``Context compacted\\nHeads up…``, Hermes' two-line notes), while CommonMark joins
the lines of a paragraph. amux reads them the way GitHub comments do: a single newline
inside a paragraph is a line break; everything else is CommonMark. The transcript view
turns the parser's soft breaks into hard ones (:func:`hard_breaks`); the Markdown export
writes them as CommonMark hard breaks (:func:`with_hard_breaks`) so any viewer shows the
same lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

__all__ = ["hard_breaks", "parser", "with_hard_breaks"]


@cache
def parser() -> MarkdownIt:
    """The one Markdown parser (raw HTML off: tags stay text; tables and ~~strike~~ on).

    Made (and markdown-it imported) on first use: nothing on amux's first screen parses
    Markdown, so starting does not pay for it."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("strikethrough").enable("table")


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
