"""End to end (issue: quit, reopen, resume): three rooms in a real pseudo-terminal.

Create 3 rooms, title each, talk in each, leave a draft, switch to tiled, quit; start again:
same order, titles, transcripts, draft, focus and layout; the focused room resumes through
session/load without recording the replay; the other rooms start only when focused.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from test_e2e_pty import Terminal, _amux_ls

from amux_tui.engine import frames as F

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")]

CTRL_B, CTRL_Q, CTRL_U, TAB = "\x02", "\x11", "\x15", "\t"


def _records(home: Path, room_id: str) -> list[dict]:
    path = home / "rooms" / f"{room_id}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _talk(term: Terminal, text: str) -> None:
    mark = len(term.text)
    term.type(text + "\r")
    term.wait_for("Demo reply", since=mark)
    term.wait_for("ctx", since=mark)  # usage arrives at the end of the turn


def _new_room(term: Terminal, title: str) -> None:
    mark = len(term.text)
    term.type(CTRL_B + "c")
    term.wait_for("New room", since=mark)
    term.type(TAB + title + "\r")  # working directory (prefilled) → title → create
    term.wait_for("ready", since=mark)


def test_three_rooms_survive_quit_and_reopen(tmp_path):
    home = tmp_path / "amux-home"
    home.mkdir()
    term = Terminal(home)
    try:
        term.wait_for("ctrl+q quit")
        term.wait_for("ready")
        mark = len(term.text)
        term.type(CTRL_B + ",")
        term.wait_for("Rename", since=mark)
        term.type(CTRL_U + "alpha\r")
        _talk(term, "alpha one")
        _new_room(term, "bravo")
        _talk(term, "bravo two")
        _new_room(term, "charlie")
        _talk(term, "charlie three")
        term.type("unsent charlie draft")
        term.type(CTRL_B + "z")
        term.pump(0.5)
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
        for text in ("alpha one", "bravo two", "charlie three", "unsent charlie draft"):
            term.wait_for(text)  # tiled: every transcript on screen, and the draft is back
        term.wait_for("ready")
        term.pump(1.0)
        # Only the focused room started: its agent resumed through session/load.
        charlie = _records(home, ids["charlie"])[before["charlie"]:]
        resumed = [r["frame"]["params"] for r in charlie if r["frame"]["method"] == F.SESSION_RESUMED]
        assert len(resumed) == 1 and resumed[0]["via"] == "load" and resumed[0]["replayedUpdates"] > 0
        replayed_kinds = {
            r["frame"]["params"]["update"]["sessionUpdate"] for r in charlie if r["frame"]["method"] == F.SESSION_UPDATE
        }
        assert replayed_kinds <= {"available_commands_update", "usage_update"}
        for title in ("alpha", "bravo"):
            new = _records(home, ids[title])[before[title]:]
            assert all(r["frame"]["method"] != F.SESSION_RESUMED for r in new), title
        # Focusing alpha starts it (and resumes its own session).
        mark = len(term.text)
        term.type(CTRL_B + "1")
        term.pump(2.0)
        new = _records(home, ids["alpha"])[before["alpha"]:]
        assert [r["frame"]["params"]["via"] for r in new if r["frame"]["method"] == F.SESSION_RESUMED] == ["load"]
        assert all(r["frame"]["method"] != F.SESSION_RESUMED for r in _records(home, ids["bravo"])[before["bravo"]:])
        del mark
        term.type(CTRL_Q)
        assert term.wait_exit() == 0
    finally:
        term.close()
    rooms = _amux_ls(home)
    assert [r["title"] for r in rooms] == ["alpha", "bravo", "charlie"]
    assert all(r["segments"] == 1 for r in rooms)
