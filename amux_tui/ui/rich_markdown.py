"""Rich's Markdown as amux shows agent text: literal, one shared parser, pieces of a text.

Apart from :mod:`amux_tui.ui.render_text` so that Rich's Markdown and Syntax (and with
them markdown-it and Pygments) are imported when the first Markdown is rendered, not
before amux's first screen.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Markdown
from rich.syntax import Syntax

from amux_tui.engine.markdown import parse

__all__ = ["LiteralMarkdown"]


class _PieceCodeBlock(CodeBlock):
    """A fenced code block that may continue in the previous/next piece (no padding there)."""

    @classmethod
    def create(cls, markdown: Markdown, token: object) -> _PieceCodeBlock:
        block = super().create(markdown, token)  # type: ignore[arg-type]
        top = bottom = 1
        line_map = getattr(token, "map", None) or (0, 0)
        if isinstance(markdown, LiteralMarkdown):
            if markdown.continued and line_map[0] == 0:
                top = 0
            if markdown.open_end and line_map[0] == markdown.open_fence_line:
                bottom = 0
        block.padding = (top, 1, bottom, 1)  # type: ignore[attr-defined]
        return block  # type: ignore[return-value]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip()
        yield Syntax(code, self.lexer_name, theme=self.theme, word_wrap=True,
                     padding=getattr(self, "padding", 1))  # fmt: skip


class LiteralMarkdown(Markdown):
    """Rich :class:`~rich.markdown.Markdown` with HTML shown as text and a shared parser.

    Rich's Markdown never interprets console markup or emoji codes in the text, which is
    what "agent text is shown literally" needs; HTML is the one thing it would hide. It
    parses with the shared :func:`~amux_tui.engine.markdown.parser` (Rich would build a
    parser per instance, ~0.3 ms, with raw HTML on) and reads a single newline as a line
    break, as agents mean it.
    """

    elements = {**Markdown.elements, "fence": _PieceCodeBlock, "code_block": _PieceCodeBlock}

    def __init__(
        self, markup: str, code_theme: str = "monokai", *, continued: bool = False,
        open_end: bool = False,
    ) -> None:  # fmt: skip
        # Not calling super().__init__: it would build (and pay for) a parser per instance.
        self.markup = markup
        self.parsed = parse(markup)
        self.code_theme = code_theme
        self.justify = None
        self.style = "none"
        self.hyperlinks = False  # show "text (url)": visible, and no OSC 8 from agent data
        self.inline_code_lexer = None
        self.inline_code_theme = code_theme
        self.continued = continued
        self.open_end = open_end
        # The piece ends inside a code block: that is its last fence (it runs to the end).
        fences = [t.map[0] for t in self.parsed if t.type == "fence" and t.map]
        self.open_fence_line = fences[-1] if open_end and fences else -1
