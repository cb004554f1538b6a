"""A streamed paragraph wraps as one paragraph on a real terminal (issue 12).

The demo agent's ``/flood 2000`` streams one ~21 KB line as 2,000 chunks. The view cuts
such a line into pieces (bounded work); a piece boundary must never show as a line break.
amux runs in a pty at 160 and 80 columns; every screen of the paragraph is read, from the
top to the end, live and again after a restart (then drawn from the log).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from terminal import AmuxTerminal

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

PANE_EDGE = "▕"  # the left edge of the room pane: the transcript's text starts after it
SCROLLBAR = " ▁▂▃▄▅▆▇█▔▏▎▍▌▋▊▉▐▕"  # glyphs of the transcript's scroll bar, at its right edge


def paragraph_lines(term: AmuxTerminal) -> list[str]:
    """The transcript lines on screen that belong to the flood paragraph."""
    out = []
    for line in term.lines():
        if PANE_EDGE in line:
            text = line.split(PANE_EDGE, 1)[1].rstrip(SCROLLBAR)
            words = text.split()
            if words and all(w == "chunk" or w.isdigit() for w in words):
                out.append(text)
    return out


def at_the_end(term: AmuxTerminal) -> bool:
    """The paragraph's last words, "chunk 2000", are on screen (maybe across a wrap)."""
    words = " ".join(paragraph_lines(term)).split()
    return words[-2:] == ["chunk", "2000"]


def assert_wrapped_as_one(lines: list[str]) -> None:
    """Every line but the paragraph's last is full: its next word did not fit on it."""
    width = max(len(line) for line in lines)  # the view is at least this wide
    for line, after in zip(lines, lines[1:], strict=False):
        assert len(line) + 1 + len(after.split()[0]) > width, (line, after, lines)


def scroll(term: AmuxTerminal, key: str, until: str | None = None) -> None:
    """Press ``key`` at the prompt (it scrolls the transcript; the prompt keeps the focus,
    whose blinking cursor keeps amux drawing, so the screen can be read once it stops
    changing)."""
    mark = term.mark()
    term.press(key)
    term.wait_stable(
        after=lambda t: t.output_since(mark) != b"" and (until or "") in t.screen_text()
    )


def read_every_screen(term: AmuxTerminal) -> list[str]:
    """Scroll from the top to the end; check each screen; return the lines seen."""
    scroll(term, "ctrl+home", until="chunk 1 chunk 2 ")
    seen: list[str] = []
    while True:
        lines = paragraph_lines(term)
        assert lines, term.describe()
        assert_wrapped_as_one(lines)
        seen.extend(line for line in lines if line not in seen)
        if " ".join(lines).split()[-2:] == ["chunk", "2000"]:
            return seen
        scroll(term, "pagedown")


@pytest.mark.slow
@pytest.mark.parametrize(("cols", "rows"), [(160, 80), (80, 100)])  # tall: fewer pages to read
def test_flood_paragraph_has_no_line_break_the_text_does_not_have(
    tmp_path: Path, cols: int, rows: int
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with AmuxTerminal(home, cols=cols, rows=rows) as term:
        term.wait_ready()
        term.wait_for("ready")
        term.type("/flood 2000")
        term.press("enter")
        term.wait_turns_settled(1)
        term.wait_stable(after=at_the_end)
        assert_wrapped_as_one(paragraph_lines(term))  # following the end, as it streamed
        live = read_every_screen(term)
        term.press("ctrl+q")
        assert term.wait_exit() == 0
    words = " ".join(live).split()
    assert words == " ".join(f"chunk {n}" for n in range(1, 2001)).split()  # all of it, once

    with AmuxTerminal(home, cols=cols, rows=rows) as term:  # restarted: drawn from the log
        term.wait_ready()
        term.wait_stable(after=at_the_end)
        assert_wrapped_as_one(paragraph_lines(term))
        assert read_every_screen(term) == live
        term.press("ctrl+q")
        assert term.wait_exit() == 0
