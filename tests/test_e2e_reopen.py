"""End to end (issue: quit, reopen, resume): three rooms in a real pseudo-terminal.

Create 3 rooms, title each, talk in each, leave a draft, switch to tiled, quit; start again:
same order, titles, transcripts, draft, focus and layout; the focused room resumes through
session/load without recording the replay; the other rooms start only when focused.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_e2e_pty import Terminal, _amux_ls, wait_turns_settled

from amux_tui.engine import frames as F

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")]

CTRL_B, CTRL_Q, CTRL_U, TAB = "\x02", "\x11", "\x15", "\t"


def _records(home: Path, room_id: str) -> list[dict]:
    path = home / "rooms" / f"{room_id}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _wait_records(
    term: Terminal, home: Path, room_id: str, start: int, method: str, timeout: float = 30.0
) -> list[dict]:
    """The room's records after ``start``, once one with ``method`` is among them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = _records(home, room_id)[start:]
        if any(r["frame"].get("method") == method for r in new):
            return new
        term.pump(0.05)
    raise AssertionError(f"{method} never recorded in {room_id}")


def _talk(term: Terminal, home: Path, text: str, turns: int) -> None:
    """Send a prompt, see the reply, and wait until the turn is over (logs say so)."""
    mark = len(term.text)
    term.type(text + "\r")
    term.wait_for("Demo reply", since=mark)
    wait_turns_settled(term, home, turns)


def test_three_rooms_survive_quit_and_reopen(tmp_path):
    home = tmp_path / "amux-home"
    home.mkdir()
    for turns, title in enumerate(("alpha", "bravo", "charlie"), start=1):
        # `amux new` creates the room and opens the TUI focused on it.
        term = Terminal(home, args=["new", "--title", title])
        try:
            term.wait_for("ctrl+q quit")
            term.wait_for("ready")
            _talk(term, home, f"{title} talks", turns)
            if title == "charlie":
                mark = len(term.text)
                term.type("unsent charlie draft")
                term.type(CTRL_B + "z")
                # Tiled is on, so the keys before it (the draft) reached the app too;
                # quitting then saves the draft and the layout itself.
                term.wait_for("ctrl+b z single", since=mark)
            term.type(CTRL_Q)
            assert term.wait_exit() == 0
        finally:
            term.close()

    rooms = _amux_ls(home)
    assert [r["title"] for r in rooms] == ["alpha", "bravo", "charlie"]
    ids = {r["title"]: r["roomId"] for r in rooms}
    layout = json.loads((home / "rooms" / "layout.json").read_text())
    assert layout["mode"] == "tiled" and layout["focused"] == ids["charlie"]
    assert layout["order"] == [ids["alpha"], ids["bravo"], ids["charlie"]]
    meta = json.loads((home / "rooms" / f"{ids['charlie']}.json").read_text())
    assert meta["draft"] == "unsent charlie draft"
    before = {t: len(_records(home, rid)) for t, rid in ids.items()}

    term = Terminal(home)
    try:
        term.wait_for("ctrl+q quit")
        # Tiled, titles in order, transcripts back from the logs (each pane follows the end
        # of its reply), and the draft is back in charlie's prompt.
        term.wait_for("3 ● charlie")
        term.wait_for("unsent charlie draft")
        term.wait_for("ctrl+b z single")  # the footer offers the way back: tiled is on
        term.wait_for("This is the first prompt of this session.")
        text = term.text
        assert text.index("1 ○ alpha") < text.index("2 ○ bravo")
        # Only the focused room starts: its agent resumes through session/load.
        charlie = _wait_records(term, home, ids["charlie"], before["charlie"], F.SESSION_RESUMED)
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
        term.type(CTRL_B + "1")
        new = _wait_records(term, home, ids["alpha"], before["alpha"], F.SESSION_RESUMED)
        assert [
            r["frame"]["params"]["via"] for r in new if r["frame"]["method"] == F.SESSION_RESUMED
        ] == ["load"]
        assert all(
            r["frame"]["method"] != F.SESSION_RESUMED
            for r in _records(home, ids["bravo"])[before["bravo"] :]
        )
        term.type(CTRL_Q)
        assert term.wait_exit() == 0
    finally:
        term.close()
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
