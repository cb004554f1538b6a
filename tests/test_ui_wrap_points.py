"""A long line cut into pieces renders exactly as the whole line (no line break the text
does not contain), and single newlines are line breaks (amux_tui.ui.wrap_points,
render_text, engine.markdown)."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from amux_tui.engine.markdown import with_hard_breaks
from amux_tui.text import visible
from amux_tui.ui.render_text import (
    HARD_LIMIT,
    TextSplitter,
    render_lines,
    render_markdown,
    render_plain,
)
from amux_tui.ui.rich_markdown import LiteralMarkdown


def plain(lines: list) -> list[str]:
    return ["".join(seg.text for seg in line).rstrip() for line in lines]


def piecewise(text: str, width: int, markdown: bool) -> tuple[list[str], int]:
    """The lines the view shows: the splitter's pieces rendered one by one."""
    console = Console(width=width, color_system=None)
    splitter = TextSplitter(markdown, width)
    splitter.feed(text)
    render = render_markdown if markdown else render_plain
    out: list[str] = []
    pieces = splitter.all_pieces(text)
    for piece in pieces:
        out += plain(render(text, piece, console, width))
    return out, len(pieces)


def whole(text: str, width: int, markdown: bool) -> list[str]:
    console = Console(width=width, color_system=None)
    text = visible(text)
    renderable = LiteralMarkdown(text) if markdown else Text(text)
    return plain(render_lines(renderable, console, width))


FLOOD = "".join(f"chunk {n} " for n in range(1, 2001))  # what the demo's /flood 2000 streams


def test_flood_paragraph_wraps_as_one_at_160_and_80_columns() -> None:
    for width in (160, 80):
        lines, pieces = piecewise(FLOOD, width, True)
        assert pieces > 4  # it really is cut into pieces
        assert lines == whole(FLOOD, width, True)
        for line, after in zip(lines, lines[1:], strict=False):
            # every line but the last is full: the next word would not have fit
            assert len(line) + 1 + len(after.split()[0]) > width, (line, after)


def test_huge_line_pieces_render_like_the_whole_line() -> None:
    text = ("huge line " * 3000)[:-1]
    for markdown in (True, False):
        for width in (160, 80, 33):
            lines, pieces = piecewise(text, width, markdown)
            assert pieces > 4
            assert lines == whole(text, width, markdown)


def test_cuts_do_not_depend_on_chunking_and_stay_fast() -> None:
    text = FLOOD * 3
    whole_splitter = TextSplitter(True, 80)
    whole_splitter.feed(text)
    streamed = TextSplitter(True, 80)
    for end in range(0, len(text), 97):
        streamed.feed(text[:end])
    streamed.feed(text)
    assert streamed.all_pieces(text) == whole_splitter.all_pieces(text)
    huge = ("huge line " * (8 << 20))[: 32 << 20]  # /huge 32: one 32 MiB line
    started = time.perf_counter()
    splitter = TextSplitter(True, 80)
    splitter.feed(huge)
    assert len(splitter.pieces) > 8000
    assert time.perf_counter() - started < 20  # ~0.2 s; a word-by-word scan would be minutes


_VOCABULARY = """a word chunk 1961 longerword xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx 日本語 🙂
héllo **bold** `code` [link](http://e.x/a) snake_case ~~s~~ &amp; \\* <b> ü \x1b[0m"""
WORDS = st.sampled_from([*_VOCABULARY.split(), "- dash", "1.", "#"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(WORDS, min_size=300, max_size=900),
    st.lists(st.sampled_from([" ", " ", " ", "  "]), min_size=1),
    st.sampled_from([20, 41, 80, 160]),
    st.booleans(),
)
def test_any_long_line_renders_like_the_whole_line(
    words: list[str], spaces: list[str], width: int, markdown: bool
) -> None:
    # (A line that begins as a list item or heading is not one paragraph: not tested here.)
    text = "start " + "".join(w + spaces[i % len(spaces)] for i, w in enumerate(words)).strip()
    if len(text) <= HARD_LIMIT:
        text = (text + " ") * (HARD_LIMIT // len(text) + 2)
        text = text.strip()
    # Cuts fall where the whole line wraps and never inside an inline span, so the pieces
    # show exactly the whole paragraph's lines.
    assert piecewise(text, width, markdown)[0] == whole(text, width, markdown)


def test_single_newlines_are_line_breaks() -> None:
    text = "Available commands:\n/help show help\n/clear clear the context\n\nNext **para**\nline"
    lines, _ = piecewise(text, 60, True)
    assert lines == [
        "Available commands:",
        "/help show help",
        "/clear clear the context",
        "",
        "Next para",
        "line",
    ]


def test_export_keeps_single_newlines_as_hard_breaks() -> None:
    text = "Context compacted\nHeads up: long threads\n\n- a\n- b\n\n```\ncode\nmore\n```"
    assert with_hard_breaks(text) == (
        "Context compacted  \nHeads up: long threads\n\n- a\n- b\n\n```\ncode\nmore\n```"
    )
    assert with_hard_breaks("one line") == "one line"
    assert with_hard_breaks("> quoted\n> lines") == "> quoted  \n> lines"


# --- one line of plain prose is not parsed --------------------------------------------------

PROSE = st.lists(
    st.sampled_from(
        [
            "a",
            "Zé",
            "漢",
            " ",
            "  ",
            ".",
            ",",
            ":",
            "@",
            "'",
            "?",
            "(",
            ")",
            "/",
            "=",
            "+",
            "-",
            "0",
            "12",
            "9.",
            "1)",
            "\u00a0",
            "\t",
            "\n",
            "*",
            "**",
            "_",
            "`",
            "[x](y)",
            "![i](j)",
            "<http://a.b>",
            "&amp;",
            "~~",
            "|",
            "#",
            ">",
            "\\",
            "!",
            "---",
        ]
    ),
    max_size=14,
).map("".join)
"""Words of prose and of every Markdown construct, so the parser has something to find."""


def _shape(tokens) -> list:
    """What Rich's Markdown reads from the tokens."""
    return [
        (t.type, t.tag, t.nesting, t.content, t.map, t.level, t.block, t.markup, t.info,
         [(c.type, c.tag, c.nesting, c.content, c.markup) for c in t.children or []])
        for t in tokens
    ]  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(
    PROSE
    | st.text(alphabet=st.sampled_from(list("ab Zé漢 .,;:@'\"?()$%/=+-09\u00a0")), max_size=40)
)
def test_a_plain_line_gets_the_tokens_the_parser_would_make(text: str) -> None:
    from amux_tui.engine.markdown import hard_breaks, parse, parser, plain_line_tokens

    parsed = parser().parse(text)
    hard_breaks(parsed)
    assert _shape(parse(text)) == _shape(parsed)
    shortcut = plain_line_tokens(text)
    if shortcut is not None:
        assert _shape(shortcut) == _shape(parsed)


def test_streamed_prose_takes_the_shortcut_and_renders_the_same() -> None:
    """The flood's text (and prose like it) skips the parse, with the very same lines."""
    from amux_tui.engine.markdown import parser, plain_line_tokens
    from amux_tui.ui.render_text import Piece

    text = "".join(f"chunk {n}@{1234.5 + n / 5000:.6f} " for n in range(200))
    prose = "Done: the tests pass (42 of 42), and the build is green. Next, the docs?"
    for body in (text, prose):
        assert plain_line_tokens(body) is not None
        console = Console(width=200, color_system="truecolor", force_terminal=True)
        piece = Piece(0, len(body), False, "", False, 0)
        fast = render_markdown(body, piece, console, 63)
        slow = LiteralMarkdown(body)
        slow.parsed = parser().parse(body)  # the same text through the parser
        assert fast == render_lines(slow, console, 63)
