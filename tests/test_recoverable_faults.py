"""Issue 11, the smaller cases: each a clear, recoverable message instead of a traceback, a
room stuck "loading", a silent default or a wrapped seq."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from engine_helpers import demo_spec, idle, open_engine, wait_for
from terminal import AmuxTerminal

from amux_tui.engine import frames as F
from amux_tui.engine.config import AgentSpec
from amux_tui.engine.loader import MAX_U64, check_log, load_log
from amux_tui.engine.store import LoadResult, LogExhausted, ReplayLog

REPO = Path(__file__).resolve().parent.parent
FAULTY = Path(__file__).parent / "agents" / "acp_faulty.py"
HOSTILE = Path(__file__).parent / "agents" / "hostile.py"


def amux(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AMUX_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "amux_tui", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)  # fmt: skip


async def recorded_room(home: Path, title: str = "kept") -> str:
    """A home with one room that has talked once; returns its id."""
    engine = open_engine(home)
    room = engine.create_room(demo_spec(), cwd=str(home), title=title)
    await room.start()
    room.prompt("hello")
    await idle(room)
    await engine.shutdown()
    return room.id


async def test_a_directory_in_place_of_the_log_is_a_clear_recoverable_room_error(tmp_path):
    home = tmp_path / "home"
    room_id = await recorded_room(home)
    log = home / "rooms" / f"{room_id}.jsonl"
    kept = tmp_path / "kept.jsonl"
    log.rename(kept)
    log.mkdir()
    ls = amux(home, "ls")
    assert ls.returncode == 1 and "is a directory" in ls.stderr and "Traceback" not in ls.stderr
    show = amux(home, "show", room_id)
    assert show.returncode == 2 and "is a directory" in show.stderr, show.stderr
    assert "Traceback" not in show.stderr

    engine = open_engine(home)
    room = engine.rooms[room_id]
    await room.load()  # does not hang "loading": the room fails with the reason
    assert room.status == "failed" and "is a directory" in (room.failure or "")
    log.rmdir()
    kept.rename(log)  # the user fixes it, then restarts the room (r)
    await room.restart()
    assert room.status == "ready" and room.title == "kept"
    assert [b.text for b in room.transcript.blocks if b.kind == "prompt"] == ["hello"]
    await engine.shutdown()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"title": "kept", "agent": {"na', "is corrupt"),
        (b'{"title": 5, "agent": "demo", "cwd": 7, "history": "x"}', "agent has the wrong type"),
    ],
)
async def test_corrupt_metadata_is_kept_and_the_room_asks_for_its_agent(tmp_path, content, problem):
    home = tmp_path / "home"
    room_id = await recorded_room(home)
    meta = home / "rooms" / f"{room_id}.json"
    meta.write_bytes(content)

    engine = open_engine(home)
    room = engine.rooms[room_id]
    assert problem in (room.meta_problem or "")
    copy = home / "rooms" / f"{room_id}.json.corrupt"
    assert copy.read_bytes() == content and f"a copy is kept as {copy.name}" in room.meta_problem
    assert room.agent.launch is None  # an unreadable agent is never guessed
    await room.start()
    assert room.status == "failed" and "restart the room to choose it" in (room.failure or "")
    assert room.title == "kept" and room.meta.history == ["hello"]  # what the log can tell
    engine.assign_agent(room, demo_spec(), str(home))
    await room.restart()
    assert room.status == "ready"
    await engine.shutdown()
    saved = json.loads(meta.read_text())
    assert saved["agent"]["name"] == "demo" and saved["title"] == "kept"
    assert copy.read_bytes() == content  # the original is never overwritten


def test_the_tui_asks_for_the_agent_of_a_room_whose_metadata_is_gone(tmp_path):
    home = tmp_path / "home"
    with AmuxTerminal(home) as term:  # first run: the demo room
        term.wait_ready()
        term.press("ctrl+q")
        assert term.wait_exit() == 0
    [meta] = (home / "rooms").glob("r-*.json")
    meta.write_text("{ not json")
    with AmuxTerminal(home) as term:
        term.wait_ready()
        term.wait_for("so its agent is unknown; restart the room")
        term.press("ctrl+b", "r")
        term.wait_for("Choose the agent for demo")
        term.press("tab", "enter")  # the default agent (demo), the directory offered
        term.wait_for("demo ready")
        term.press("ctrl+q")
        assert term.wait_exit() == 0
    assert json.loads(meta.read_text())["agent"]["name"] == "demo"


async def test_an_agent_that_closes_stdout_but_keeps_running_is_treated_as_exited(tmp_path):
    engine = open_engine(tmp_path / "h")
    spec = AgentSpec("faulty", sys.executable, (str(FAULTY),), env={"FAULT": "close_stdout"},
                     source="cmd")  # fmt: skip
    room = engine.create_room(spec)
    await room.start()
    pid = room.proc.pid
    room.prompt("go")
    await wait_for(lambda: room.status == "exited", timeout=30, what="treated as exited")
    assert not room.busy and room.state.active_turn_id is None  # the turn was interrupted
    assert room.proc.stdout_closed_early
    assert any("closed its stdout" in line for line in room.agent.agent_log)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the stop ladder really ended it
    await room.restart()  # r works again
    assert room.status == "ready"
    await engine.shutdown()


def test_bidi_overrides_and_escapes_in_agent_text_are_shown_not_applied(tmp_path):
    home = tmp_path / "home"
    with AmuxTerminal(home, "new", "--cmd", f"{sys.executable} {HOSTILE}", "--title", "t") as term:
        term.wait_ready()
        term.wait_for("ready")
        mark = term.mark()
        term.type("hi")
        term.press("enter")
        term.wait_for("FORGED-DONE", since=mark)
        screen = term.screen_text()
        assert "<U+202E>gnp.exe" in screen and "␛]52;c;" in screen  # visible, as text
        raw = term.output_since(mark)
        assert "\u202e".encode() not in raw and "\u009b".encode() not in raw
        assert term.osc52_payloads(since=mark) == [] and b"\x1b]0;pwned" not in raw
        term.press("ctrl+q")
        assert term.wait_exit() == 0


def test_a_seq_beyond_u64_is_a_bad_record(tmp_path):
    path = tmp_path / "r.jsonl"
    line = '{{"v":1,"seq":{},"segment_id":0,"recorded_at":"t","frame":{{}}}}\n'
    path.write_text(line.format(1) + line.format(MAX_U64 + 1) + line.format(2))
    res = load_log(path)
    assert [r.seq for r in res.records] == [1, 2] and res.bad_line_numbers == [2]
    with ReplayLog.open(path, res) as log:
        assert log.append({"x": 1}, 0).seq == 3


async def test_a_log_at_the_largest_seq_never_writes_past_it(tmp_path):
    home = tmp_path / "home"
    room_id = await recorded_room(home)
    log = home / "rooms" / f"{room_id}.jsonl"
    with open(log, "a") as f:
        f.write(f'{{"v":1,"seq":{MAX_U64},"segment_id":1,"recorded_at":"t","frame":{{}}}}\n')
    before = log.read_bytes()
    with pytest.raises(LogExhausted):
        ReplayLog.open(log, load_log(log))
    engine = open_engine(home)
    room = engine.rooms[room_id]
    await room.load()
    assert room.status == "failed" and "largest seq" in (room.failure or "")
    await engine.shutdown()
    assert log.read_bytes() == before  # nothing appended, nothing wrapped


def test_foreign_version_lines_are_not_seq_gaps(tmp_path):
    rooms = tmp_path / "home" / "rooms"
    rooms.mkdir(parents=True, mode=0o700)
    path = rooms / "r-foreign01.jsonl"
    with ReplayLog.open(path, LoadResult()) as log:
        log.append(F.amux_frame(F.NOTICE, "r-foreign01", text="one"), 0)
    with open(path, "a") as f:  # a newer amux appended seq 2 and 3 in a format we do not know
        f.write('{"v":2,"seq":2,"new":true}\n{"v":3,"seq":3,"newer":true}\n')
    with ReplayLog.open(path, load_log(path)) as log:
        assert log.append(F.amux_frame(F.NOTICE, "r-foreign01", text="four"), 0).seq == 4
    report = check_log(path, repair=False)
    assert report.ok and report.seq_gaps == 0 and report.newer_version_lines == 2
    done = amux(tmp_path / "home", "check")
    assert done.returncode == 0, done.stdout
    assert "2 line(s) from a newer amux, left alone" in done.stdout
