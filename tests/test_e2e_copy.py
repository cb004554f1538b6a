"""Copy out of amux in a real terminal (issue 14): copy mode and "copy last reply" write the
system clipboard with OSC 52, checked byte for byte through the pseudo-terminal harness."""

from __future__ import annotations

import re
import sys

import pytest
from terminal import AmuxTerminal

from amux_tui.engine.hydrate import hydrate
from amux_tui.engine.transcript_blocks import AgentText

REPLY_END = "This is the first prompt of this session."  # the demo reply's last paragraph

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal"),
    pytest.mark.slow,
]


def status_line(term: AmuxTerminal) -> int:
    """The cursor's line number as copy mode's status bar says it."""
    found = re.search(r"COPY.*? line (\d+)/", term.screen_text())
    return int(found[1]) if found else -1


def cursor_cell(term: AmuxTerminal, below: int) -> tuple[int, int]:
    """(x, y) of copy mode's cursor: the one reverse-video cell in the transcript area."""
    bar_y = next(y for y, line in enumerate(term.lines()) if line.lstrip("▕ ").startswith("COPY")
                 or "▕COPY" in line)  # fmt: skip
    cells = [
        (x, y)
        for y in range(below, bar_y)
        for x in range(1, term.cols - 2)
        # at the start of a transcript line: right of the pane's edge and its border column
        if term.char(x, y).reverse and "▕" in (term.char(x - 1, y).data, term.char(x - 2, y).data)
    ]
    assert len(cells) == 1, term.describe()
    return cells[0]


def replied_once(term: AmuxTerminal) -> None:
    """amux ready, "hello" sent to the demo agent and its whole reply on screen."""
    term.wait_ready()
    term.wait_for("ready")
    term.type("hello")
    term.press("enter")
    term.wait_for(REPLY_END)
    term.wait_turns_settled(1)


def test_copy_mode_copies_two_lines_and_copy_reply_the_last_message(tmp_path):
    with AmuxTerminal(tmp_path / "home", cols=120, rows=40) as term:
        replied_once(term)

        term.press("ctrl+b")
        term.send("[")
        term.wait_for("COPY")
        expected: list[str] = []
        for _ in range(12):  # up, line by line, to two lines that both hold text
            line = status_line(term)
            term.press("k")
            term.wait_for(lambda t, line=line: status_line(t) == line - 1)
            x, y = cursor_cell(term, 1)
            # The cursor's row and the next, as the screen shows them (scroll bar cut off).
            expected = [term.lines()[row][x : term.cols - 1].rstrip() for row in (y, y + 1)]
            if all(expected):
                break
        assert all(expected), term.describe()
        mark = term.mark()
        term.press("V", "j", "y")
        term.wait_for(lambda t: t.osc52_payloads(mark), timeout=30)
        assert term.osc52_payloads(mark) == ["\n".join(expected)]
        term.wait_for("copied selection: 2 lines", since=mark)
        term.wait_for(lambda t: "COPY" not in t.screen_text())  # y leaves copy mode

        mark = term.mark()
        term.press("ctrl+b")
        term.send("y")
        term.wait_for(lambda t: t.osc52_payloads(mark), timeout=30)
        [room_id] = [p.stem for p in (term.home / "rooms").glob("*.jsonl")]
        blocks = hydrate(term.home / "rooms" / f"{room_id}.jsonl", room_id).model.transcript.blocks
        last = [b for b in blocks if isinstance(b, AgentText)][-1]
        assert term.osc52_payloads(mark) == [last.text]
        assert REPLY_END in last.text
        term.press("ctrl+q")
        assert term.wait_exit() == 0


def drag(term: AmuxTerminal, x0: int, y0: int, x1: int, y1: int) -> None:
    """A left-button drag from cell (x0, y0) to (x1, y1) (0-based), as xterm and tmux
    report it (SGR mouse: 1-based column;row)."""
    term.send(f"\x1b[<0;{x0 + 1};{y0 + 1}M")  # press
    for x in range(x0, x1 + 1):
        term.send(f"\x1b[<32;{x + 1};{y1 + 1}M")  # move with the button held
    term.send(f"\x1b[<0;{x1 + 1};{y1 + 1}m")  # release


def test_mouse_drag_copies_exactly_the_dragged_text_and_folds_nothing(tmp_path):
    """A drag over the transcript copies the text from where it started to where it ended
    (also when it ends on an empty line), and its release is no click that folds a block."""
    with AmuxTerminal(tmp_path / "home", cols=120, rows=40) as term:
        replied_once(term)
        lines = term.lines()
        first = next(y for y, line in enumerate(lines) if line.endswith("Demo reply"))
        last = next(y for y, line in enumerate(lines) if line.endswith("You wrote:"))
        x0 = lines[first].index("Demo reply")
        x1 = lines[last].index("You wrote:") + len("You wrote:")
        mark = term.mark()
        drag(term, x0, first, x1, last)
        term.wait_for(lambda t: t.osc52_payloads(mark), timeout=30)
        assert term.osc52_payloads(mark) == ["Demo reply\n\nYou wrote:"]

        thought = next(y for y, line in enumerate(lines) if "▸ thought" in line)
        assert lines[thought + 1].endswith("▕")  # the empty line between two blocks
        tx = lines[thought].index("▸ thought")
        mark = term.mark()
        drag(term, tx, thought, x0 + 5, thought + 1)  # from the folded thought to below it
        term.wait_for(lambda t: t.osc52_payloads(mark), timeout=30)
        (copied,) = term.osc52_payloads(mark)
        assert copied.rstrip() == lines[thought][tx:].rstrip()  # that line, nothing more
        assert term.lines()[thought] == lines[thought]  # still folded: the release was no click
        term.press("ctrl+q")
        assert term.wait_exit() == 0
