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
