"""Keys, focus and permissions in a real terminal (issue 10), through ``tests/terminal.py``.

amux runs in a pseudo-terminal and gets the bytes xterm and tmux send: ESC-prefixed alt
keys, CR for enter, LF for ctrl+j, CSI sequences, bracketed paste, and the kitty keyboard
protocol or modifyOtherKeys forms where a terminal reports them. What amux did is read from
the screen (pyte) and from the rooms' logs.
"""

from __future__ import annotations

import json
import random
import re
import string
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from terminal import AmuxTerminal

from amux_tui.engine import frames as F
from amux_tui.engine.config import DEMO_AGENT
from amux_tui.engine.engine import Engine
from amux_tui.paths import Paths

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal"),
    pytest.mark.slow,
]

PLACEHOLDER = "Message the agent"


# ---------------------------------------------------------------------------- helpers


@contextmanager
def started(home: Path, **kwargs: Any) -> Iterator[AmuxTerminal]:
    """amux on ``home``: its keyboard live and the focused room's agent ready."""
    with AmuxTerminal(home, **kwargs) as term:
        term.wait_ready()
        term.wait_for("ready")
        yield term


def make_rooms(home: Path, *titles: str) -> list[str]:
    """Rooms on the demo agent (not started), in this order; their ids."""
    engine = Engine(Paths.resolve(home))
    engine.open()
    try:
        return [engine.create_room(DEMO_AGENT, cwd="/tmp", title=t).id for t in titles]
    finally:
        engine.lock.release()


def frames(home: Path) -> list[dict]:
    """Every frame recorded in the home's logs (a line still being written is skipped)."""
    out = []
    for path in sorted((home / "rooms").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line)["frame"])
            except ValueError:
                continue
    return out


def answers(home: Path) -> list[str]:
    """The user's permission answers in the logs (optionId, or "cancelled")."""
    out = []
    for f in frames(home):
        params = f.get("params", {})
        if f.get("method") == F.AGENT_REQUEST_RESOLVED and params.get("resolvedBy") == "local":
            outcome = params["result"]["outcome"]
            out.append(outcome.get("optionId", outcome["outcome"]))
    return out


def sent(home: Path) -> list[str]:
    """Texts of the prompts the user sent (or queued), in order."""
    out = []
    for f in frames(home):
        params = f.get("params", {})
        if f.get("method") == F.QUEUE_ITEM_ADDED:
            out.append(params["text"])
        elif f.get("method") == F.TURN_STARTED and "queueItemId" not in params:
            out.append(params["content"][0]["text"])
    return out


def drafts(home: Path) -> list[str]:
    """The unsent prompt of every room, as saved in its metadata."""
    out = []
    for path in (home / "rooms").glob("*.json"):
        if path.name != "layout.json":
            try:
                out.append(json.loads(path.read_text()).get("draft", ""))
            except ValueError:
                continue
    return out


def toasts(term: AmuxTerminal) -> str:
    """The notifications' text (right of each row's last ``▌``), rows joined: wrap-proof."""
    parts = [
        re.sub(r"[\s▔▁▎]+$", "", line.rsplit("▌", 1)[1]) for line in term.lines() if "▌" in line
    ]
    return " ".join(" ".join(parts).split())


def header(term: AmuxTerminal, title: str) -> re.Pattern[str]:
    """The focused pane's header naming ``title`` (the list shows titles without the agent)."""
    return re.compile(rf"\d \S {re.escape(title)}  demo  ")


# ---------------------------------------------------------------------------- acceptance 1


def test_typing_never_answers_a_permission_only_its_own_key_does(tmp_path):
    home = tmp_path / "home"
    rng = random.Random(10)  # the pauses are inputs: a seeded, bounded sequence
    alphabet = string.ascii_letters + string.digits + "aArR" * 6 + "123456789" * 3 + "  ,.;-'?!"
    text = "".join(rng.choice(alphabet) for _ in range(200)).strip() + "z"
    long_pauses = set(rng.sample(range(len(text)), 6))  # a handful of 1–2 s pauses
    with started(home) as term:
        term.type("/permission\r")
        term.wait_for("Permission needed: Write notes.txt")
        term.wait_for("ctrl+g  to answer")  # the panel names its key
        for n, ch in enumerate(text):
            term.send(ch)
            pause = rng.uniform(1.0, 2.0) if n in long_pauses else rng.uniform(0, 0.02)
            time.sleep(pause)
        # The whole text reached the prompt (saved as the room's draft): only then can
        # "nothing was answered" be judged.
        term.wait_for(lambda t: text in drafts(home), poll=0.1, what="the draft saved")
        assert answers(home) == []
        assert "Permission needed: Write notes.txt" in term.screen_text()

        term.press("ctrl+g")  # the deliberate key
        term.wait_for("esc cancel request")  # focused: its keys now answer
        term.press("a")
        term.wait_for(lambda t: answers(home) == ["allow"], poll=0.1, what="allow once")
        term.wait_for(lambda t: "Permission needed" not in t.screen_text())
        term.wait_turns_settled(1)
        term.press("enter")  # the prompt held exactly what was typed
        term.wait_for(lambda t: text in sent(home), poll=0.1, what="the typed text sent")
        assert sent(home) == ["/permission", text]


# ---------------------------------------------------------------------------- acceptance 2


def test_escape_digit_switches_rooms_and_types_nothing(tmp_path):
    home = tmp_path / "home"
    make_rooms(home, *(f"r{n}" for n in range(1, 10)))
    with AmuxTerminal(home) as term:
        term.wait_ready()
        term.wait_for(header(term, "r1"))
        term.press("alt+2")  # ESC 2, as tmux and xterm send it
        term.wait_for(header(term, "r2"))
        term.press("alt+9")
        term.wait_for(header(term, "r9"))
        term.wait_stable()
        assert PLACEHOLDER in term.screen_text()  # nothing typed into any prompt
        assert not set("¡™£ª") & set(term.screen_text())
        term.press("alt+x", "alt+A")  # alt chords bound to nothing type nothing either
        term.press("alt+x", protocol="kitty")
        term.press("alt+1", protocol="kitty")  # CSI 49;3u, where the kitty protocol is on
        term.wait_for(header(term, "r1"))
        term.type("ok")
        term.wait_for(re.compile(r"▊ ok\s"))


# ---------------------------------------------------------------------------- acceptance 3


def test_newline_keys_insert_newlines_and_enter_sends(tmp_path):
    home = tmp_path / "home"
    with started(home) as term:
        assert "ctrl+j newline" in term.line(-1)  # a key that works in this terminal
        assert term.modes().modify_other_keys  # asked for, for terminals that do it
        term.type("one")
        term.press("ctrl+j")  # LF
        term.type("two")
        term.press("alt+enter")  # ESC CR: a newline, never a send
        term.type("three")
        term.press("shift+enter", protocol="modify_other_keys")  # CSI 27;2;13~
        term.type("four")
        term.press("shift+enter", protocol="kitty")  # CSI 13;2u
        term.type("five", wait_echo=True)
        x, y = term.find("one")
        assert [term.line(y + n)[x : x + 5].strip() for n in range(5)] == [
            "one", "two", "three", "four", "five",
        ]  # fmt: skip
        assert sent(home) == []
        # The terminal reported shift+enter: from now on the hints name it.
        term.wait_for(lambda t: "shift+enter newline" in t.line(-1))
        term.press("enter")  # CR sends
        term.wait_turns_settled(1)
        assert sent(home) == ["one\ntwo\nthree\nfour\nfive"]
        term.press("ctrl+q")
        assert term.wait_exit() == 0
        assert not term.modes().modify_other_keys  # the terminal is given back as it was


# ---------------------------------------------------------------------------- acceptance 4


def test_pageup_scrolls_the_transcript_while_typing_stays_in_the_prompt(tmp_path):
    home = tmp_path / "home"
    with started(home) as term:
        term.type("/flood 3000\r")
        term.wait_turns_settled(1)
        term.wait_for("chunk 3000")  # following the end
        term.press("pageup")
        term.wait_for(lambda t: "chunk 3000" not in t.screen_text())
        term.wait_for("new output: follow")  # the footer offers the way back
        term.press("shift+pageup", "ctrl+home")
        term.wait_for("you ·")  # the top: the prompt that started it
        term.type("still here", wait_echo=True)  # the focus never left the prompt
        assert re.search(r"▊ still here\s", term.screen_text())
        term.press("ctrl+end")  # back to the end, following again
        term.wait_for(lambda t: "chunk 3000" in t.screen_text() and "follow" not in t.line(-1))
        assert sent(home) == ["/flood 3000"]


# ---------------------------------------------------------------------------- acceptance 5


def test_in_an_exited_room_what_is_typed_is_sent_and_restarts_the_agent(tmp_path):
    home = tmp_path / "home"
    with started(home) as term:
        term.type("/crash\r")
        term.wait_for("or a prompt restarts it")
        term.type("run tests\r")
        term.wait_for("Demo reply")
        term.wait_turns_settled(2)
        assert sent(home) == ["/crash", "run tests"]
        assert "un tests" not in [s for s in sent(home)]


# ---------------------------------------------------------------------------- acceptance 6


def test_at_80x24_help_scrolls_to_its_end(tmp_path):
    with AmuxTerminal(tmp_path / "home", cols=80, rows=24) as term:
        term.wait_ready()
        term.press("ctrl+b", "?")
        term.wait_for("amux keys")
        term.wait_for("escape closes")  # the dialog fits the screen
        assert "fold / unfold" not in term.screen_text()  # the last key, below the fold
        term.press("end")
        term.wait_for(  # the last key, and the dialog's own last line under it
            lambda t: "fold / unfold" in t.screen_text() and "escape closes" in t.screen_text()
        )
        term.press("escape")
        term.wait_for(lambda t: "amux keys" not in t.screen_text())
        term.type("back")  # the focus came back to the prompt with the dialog gone
        term.wait_for(re.compile(r"▊ back\s"))


def test_at_80x24_permission_options_wrap_whole(tmp_path):
    with started(tmp_path / "home", cols=80, rows=24) as term:
        term.type("/permission\r")
        term.wait_for("to answer")
        text = term.screen_text()
        for option in (" a  Allow once", " A  Always allow", " r  Reject", " R  Always reject"):
            assert option in text, option  # each on one row, never split


def test_at_80x24_the_new_room_dialog_fits_and_tab_tab_reaches_the_title(tmp_path):
    with started(tmp_path / "home", cols=80, rows=24) as term:
        term.press("ctrl+b", "c")
        term.wait_for("New room")
        term.wait_for("Cancel")
        for label in ("Agent", "Working directory", "Title", "Create", "Cancel"):
            found = term.find(label)
            assert found is not None and found[0] + len(label) < 80, label
        term.press("tab", "tab")  # agent → directory → title
        term.type("alpha", wait_echo=True)
        term.press("enter")
        term.wait_for(header(term, "alpha"))
        term.wait_for("ready")


def test_new_room_directory_completes_with_tab(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "projects-alpha").mkdir()  # relative to amux's own directory (the home here)
    with started(home) as term:
        term.press("ctrl+b", "c")
        term.wait_for("New room")
        term.press("tab")  # the directory
        term.press("ctrl+u")  # cleared
        term.type("proj")
        term.wait_for("projects-alpha/")  # the rest, suggested after the cursor
        term.press("tab")  # takes it; the focus stays
        term.type("x")
        term.wait_for("projects-alpha/x")
        term.press("backspace", "tab")  # a whole directory: tab moves on, to the title
        term.type("beta")
        term.press("enter")
        term.wait_for(header(term, "beta"))
        term.wait_for("home/projects-alpha")
    rooms = {room["title"]: room for room in term.cli_json("ls", "--json")}
    assert rooms["beta"]["cwd"] == str(home / "projects-alpha")


def test_at_80x24_the_focused_room_stays_in_view_in_the_list(tmp_path):
    home = tmp_path / "home"
    make_rooms(home, *(f"room-{n}" for n in range(1, 13)))
    with AmuxTerminal(home, cols=80, rows=24) as term:
        term.wait_ready()
        term.wait_for(header(term, "room-1"))
        term.press("ctrl+b", "p")  # from the first to the last (12th)
        term.wait_for(header(term, "room-12"))
        term.wait_for(lambda t: any("room-12" in line[:24] for line in t.lines()))


def test_at_80x24_a_tiled_header_keeps_its_state_line(tmp_path):
    home = tmp_path / "home"
    deep = tmp_path / ("a-rather-long-directory-name-" * 3)
    deep.mkdir()
    engine = Engine(Paths.resolve(home))
    engine.open()
    try:
        for title in ("one", "two", "three"):
            engine.create_room(DEMO_AGENT, cwd=str(deep), title=title)
    finally:
        engine.lock.release()
    with started(home, cols=80, rows=24) as term:
        term.press("ctrl+b", "z")

        def panes(t: AmuxTerminal) -> str:
            return "\n".join(line[24:] for line in t.lines())

        # Each pane's second header line (its state) is there, however long its cwd.
        term.wait_for(lambda t: panes(t).count("not started") == 2 and "ready" in panes(t))


# ---------------------------------------------------------------------------- acceptance 7


def test_a_prefix_from_the_config_file(tmp_path):
    home = tmp_path / "home"
    make_rooms(home, "one", "two")
    (home / "agents.toml").write_text(
        '[keys]\nprefix = "ctrl+a"\nquit = "ctrl+shfit+q"\n[keys.after_prefix]\nnew_room = "N"\n'
    )
    with AmuxTerminal(home) as term:
        term.wait_ready()
        term.wait_for(header(term, "one"))
        term.wait_for(
            lambda t: "agents.toml:3: [keys] quit: 'ctrl+shfit+q' is not a key name" in toasts(t)
        )
        assert "ctrl+a prefix" in term.line(-1) and "ctrl+a N new room" in term.line(-1)
        term.press("ctrl+a", "n")
        term.wait_for(header(term, "two"))
        term.press("ctrl+b")  # an ordinary key now: the next key is text
        term.type("n")
        term.wait_for(re.compile(r"▊ n\s"))
        assert header(term, "two").search(term.screen_text())
        term.press("ctrl+q")  # the bad entry left quit on its default
        assert term.wait_exit() == 0


def test_inside_tmux_the_default_prefix_comes_with_a_hint_once(tmp_path):
    home = tmp_path / "home"
    tmux = {"TMUX": "/tmp/tmux-1000/default,1,0"}
    with AmuxTerminal(home, env=tmux) as term:
        term.wait_ready()
        term.wait_for("ctrl+b inside tmux")
        term.press("ctrl+q")
        assert term.wait_exit() == 0
    with started(home, env=tmux) as term:
        term.wait_stable()
        assert "inside tmux" not in term.screen_text()  # once is enough


# ---------------------------------------------------------------------------- acceptance 8


def test_slash_commands_of_the_agent_complete_with_tab(tmp_path):
    home = tmp_path / "home"
    with started(home) as term:
        term.type("/pe")
        term.wait_for(  # only what starts with "pe", with its description
            lambda t: (
                "/permission count, withdraw or abandon  Ask permission" in t.screen_text()
                and "/plan  A three-step" not in t.screen_text()
            )
        )
        term.press("tab")
        term.wait_for(re.compile(r"▊ /permission \s"))  # it takes input: a space follows
        term.wait_for(lambda t: "Ask permission" not in t.screen_text())
        term.press("enter")
        term.wait_for("Permission needed")
        assert sent(home) == ["/permission "]


# ---------------------------------------------------------------------------- focus


def test_text_typed_where_no_text_goes_reaches_the_prompt(tmp_path):
    home = tmp_path / "home"
    with started(home) as term:
        term.type("hello\r")
        term.wait_turns_settled(1)
        term.wait_for("▸ thought")
        x, y = term.find("▸ thought")
        term.send(f"\x1b[<0;{x + 1};{y + 1}M\x1b[<0;{x + 1};{y + 1}m")  # click the thought
        term.wait_for("▾ thought")  # unfolded; the focus stayed in the prompt
        term.type("/pl")
        term.press("enter")  # completes the command (the agent's /plan)
        term.wait_for(re.compile(r"▊ /plan\s"))
        term.press("shift+tab")  # now the transcript takes the focus
        term.type("x")  # text: back to the prompt, typed there
        term.wait_for(re.compile(r"▊ /planx\s"))
        term.press("backspace", "enter")
        term.wait_turns_settled(2)
        assert sent(home) == ["hello", "/plan"]


def test_sending_while_prompts_are_held_says_so(tmp_path):
    home = tmp_path / "home"
    gate = tmp_path / "gate"  # the demo agent holds its turns open until this exists
    with AmuxTerminal(home, env={"AMUX_DEMO_GATE": str(gate)}) as term:
        term.wait_ready()
        term.wait_for("ready")
        term.type("first\r")
        term.wait_for("busy")
        term.type("later\r")
        term.wait_for("q-1 later")
        term.wait_for(lambda t: "later" in sent(home), poll=0.05, what="later in the log")
    with AmuxTerminal(home) as term:  # the first amux died: "later" comes back held
        term.wait_ready()
        term.wait_for("held — ctrl+r releases")
        assert "ctrl+r release 1 held" in term.line(-1)
        term.type("new one\r")
        term.wait_for("queued behind 1 prompt held since the restart")
        term.wait_for("q-2 new one")
        term.press("ctrl+r")
        term.wait_turns_settled(3)
        assert sent(home)[-2:] == ["later", "new one"]
