"""End to end (issue: quit, reopen, resume): three rooms in a real pseudo-terminal.

Create 3 rooms, title each, talk in each, leave a draft, switch to tiled, quit; start again:
same order, titles, transcripts, draft, focus and layout; the focused room resumes through
session/load without recording the replay; the other rooms start only when focused.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from terminal import AmuxTerminal
from test_e2e_pty import _amux_ls

from amux_tui.engine import frames as F

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")]


def _records(home: Path, room_id: str) -> list[dict]:
    path = home / "rooms" / f"{room_id}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _wait_records(term: AmuxTerminal, room_id: str, start: int, method: str) -> list[dict]:
    """The room's records after ``start``, once one with ``method`` is among them."""
    found: list[dict] = []

    def recorded(t: AmuxTerminal) -> bool:
        nonlocal found
        try:
            found = _records(t.home, room_id)[start:]
        except ValueError:  # a line still being written: look again at the next check
            return False
        return any(r["frame"].get("method") == method for r in found)

    term.wait_for(recorded, 15, poll=0.05, what=f"{method} recorded in {room_id}")
    return found


def _talk(term: AmuxTerminal, text: str, turns: int) -> None:
    """Send a prompt, see the reply, and wait until the turn is over (logs say so)."""
    mark = term.mark()
    term.type(text)
    term.press("enter")
    term.wait_for("Demo reply", since=mark)
    term.wait_turns_settled(turns)


def test_three_rooms_survive_quit_and_reopen(tmp_path):
    home = tmp_path / "amux-home"
    home.mkdir()
    for turns, title in enumerate(("alpha", "bravo", "charlie"), start=1):
        # `amux new` creates the room and opens the TUI focused on it.
        with AmuxTerminal(home, "new", "--title", title) as term:
            term.wait_ready()
            term.wait_for(f"{turns} ● {title}")  # the new room is focused: its header
            term.wait_for("ready")
            _talk(term, f"{title} talks", turns)
            if title == "charlie":
                term.type("unsent charlie draft")
                term.wait_for("unsent charlie draft")
                term.press("ctrl+b", "z")
                term.wait_for("ctrl+b z single")  # tiled: the footer offers the way back
            term.press("ctrl+q")
            assert term.wait_exit() == 0

    rooms = _amux_ls(home)
    assert [r["title"] for r in rooms] == ["alpha", "bravo", "charlie"]
    ids = {r["title"]: r["roomId"] for r in rooms}
    layout = json.loads((home / "rooms" / "layout.json").read_text())
    assert layout["mode"] == "tiled" and layout["focused"] == ids["charlie"]
    assert layout["order"] == [ids["alpha"], ids["bravo"], ids["charlie"]]
    meta = json.loads((home / "rooms" / f"{ids['charlie']}.json").read_text())
    assert meta["draft"] == "unsent charlie draft"
    before = {t: len(_records(home, rid)) for t, rid in ids.items()}

    with AmuxTerminal(home) as term:
        term.wait_ready()
        # Tiled, titles in order, transcripts back from the logs (each pane follows the end
        # of its reply), and the draft is back in charlie's prompt.
        term.wait_for("3 ● charlie")
        term.wait_for("unsent charlie draft")
        term.wait_for("ctrl+b z single")  # the footer offers the way back: tiled is on
        term.wait_for("This is the first prompt of this session.")
        text = term.screen_text()
        assert text.index("1 ○ alpha") < text.index("2 ○ bravo")
        # Only the focused room starts: its agent resumes through session/load.
        charlie = _wait_records(term, ids["charlie"], before["charlie"], F.SESSION_RESUMED)
        resumed = [
            r["frame"]["params"] for r in charlie if r["frame"]["method"] == F.SESSION_RESUMED
        ]
        assert (
            len(resumed) == 1 and resumed[0]["via"] == "load" and resumed[0]["replayedUpdates"] > 0
        )
        replayed_kinds = {
            r["frame"]["params"]["update"]["sessionUpdate"]
            for r in charlie
            if r["frame"]["method"] == F.SESSION_UPDATE
        }
        assert replayed_kinds <= {"available_commands_update", "usage_update"}
        for title in ("alpha", "bravo"):
            new = _records(home, ids[title])[before[title] :]
            assert all(r["frame"]["method"] != F.SESSION_RESUMED for r in new), title
        # Focusing alpha starts it (and resumes its own session).
        term.press("ctrl+b", "1")
        new = _wait_records(term, ids["alpha"], before["alpha"], F.SESSION_RESUMED)
        assert [
            r["frame"]["params"]["via"] for r in new if r["frame"]["method"] == F.SESSION_RESUMED
        ] == ["load"]
        assert all(
            r["frame"]["method"] != F.SESSION_RESUMED
            for r in _records(home, ids["bravo"])[before["bravo"] :]
        )
        term.press("ctrl+q")
        assert term.wait_exit() == 0
    rooms = _amux_ls(home)
    assert [r["title"] for r in rooms] == ["alpha", "bravo", "charlie"]
    assert all(r["segments"] == 1 for r in rooms)
    for title, rid in ids.items():
        md = subprocess.run(
            [sys.executable, "-m", "amux_tui", "--home", str(home), "export", rid],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"> {title} talks" in md and md.count("## Turn") == 1
