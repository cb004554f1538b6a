"""Log format, rehydration and id continuation (SPEC §5.1, §5.3)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from engine_helpers import idle, log_lines, open_engine, started_room, wait_for

from amux_tui.engine import frames as F

FIXTURE = Path(__file__).parent / "fixtures" / "acp-mux-room.jsonl"
RECORDED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")


def amux(home, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amux_tui", "--home", str(home), *args],
        capture_output=True,
        text=True,
        check=check,
    )


async def test_every_line_has_the_acp_mux_record_shape(tmp_path):
    engine = open_engine(tmp_path / "h")
    room, _ = await started_room(engine)
    room.prompt("/tool")
    await idle(room)
    await engine.shutdown()
    raw_lines = room.log.path.read_text().splitlines()
    assert raw_lines
    seqs = []
    for line in raw_lines:
        assert line.startswith('{"v":1,"seq":')
        rec = json.loads(line)
        assert list(rec) == ["v", "seq", "segment_id", "recorded_at", "frame"]
        assert RECORDED_AT.match(rec["recorded_at"])
        assert isinstance(rec["frame"], dict) and rec["frame"]["jsonrpc"] == "2.0"
        seqs.append(rec["seq"])
    assert seqs == list(range(1, len(seqs) + 1))
    # Frames before the first segment are tagged 0, the rest with the segment number.
    assert json.loads(raw_lines[0])["segment_id"] == 0
    assert json.loads(raw_lines[-1])["segment_id"] == 1


def test_acp_mux_fixture_hydrates(tmp_path):
    home = tmp_path / "h"
    (home / "rooms").mkdir(parents=True)
    shutil.copy(FIXTURE, home / "rooms" / "hermes-room.jsonl")
    ls = json.loads(amux(home, "ls", "--json").stdout)
    assert [r["roomId"] for r in ls] == ["hermes-room"]
    assert ls[0]["title"] == "hermes-room" and ls[0]["frames"] == 13
    assert ls[0]["segments"] == 2 and ls[0]["compactions"] == 1 and ls[0]["compacting"] is False
    snap = json.loads(amux(home, "show", "hermes-room", "--json").stdout)
    assert snap["title"] == "hermes-room"
    assert snap["acpSessionId"] == "sess-1"
    assert snap["nextSeq"] == 14 and snap["frameCount"] == 13 and snap["badLines"] == 0
    assert snap["nextTurnId"] == "at-3" and snap["activeTurnId"] is None
    assert snap["activeSegmentId"] == "seg-2"
    seg1, seg2 = snap["segments"]
    assert (
        seg1["endReason"] == "hermes_compression"
        and seg1["closedSeq"] == 6
        and seg1["openedSeq"] == 2
    )
    assert seg2["openedSeq"] == 7 and seg2["provenance"]["lastMode"] == "session_split"
    assert snap["compaction"]["active"] is False and snap["compaction"]["count"] == 1
    assert snap["compaction"]["lastSource"] == "hermes_stderr"
    md = amux(home, "export", "hermes-room").stdout
    assert (
        "summarise the repo" in md
        and "The repo is" in md
        and "a multiplexer." in md
        and "context compacted (#1)" in md
    )
    # show/ls/export wrote nothing
    assert sorted(p.name for p in (home / "rooms").iterdir()) == ["hermes-room.jsonl"]
    assert (home / "rooms" / "hermes-room.jsonl").read_bytes() == FIXTURE.read_bytes()


async def test_ids_continue_after_restart_and_unsettled_turn_is_interrupted(tmp_path):
    home = tmp_path / "h"
    engine = open_engine(home)
    room, _ = await started_room(engine)
    room.prompt("first")
    await idle(room)
    room.prompt("/slow 30")
    room.prompt("waiting in the queue")
    room.prompt("/permission")
    await wait_for(lambda: room.transcript.blocks and room.busy, what="busy")
    # Simulate a crash: the log is flushed but no turn end is recorded, agent killed.
    room.log.flush()
    room.proc.kill()
    room.agent._stop_requested = True  # noqa: SLF001 — we are playing "amux died", not "agent died"
    room.state.active_turn_id = None  # keep the exit path from recording an interruption
    await wait_for(lambda: room.proc.returncode is not None)
    room.log.close()
    engine.lock.release()

    lines = room.log.path.read_text().splitlines()
    before = len(lines)
    snap = json.loads(amux(home, "show", room.id, "--json").stdout)
    assert snap["activeTurnId"] is None  # show applies the app_exit ending in memory
    assert [q["text"] for q in snap["queue"]] == ["waiting in the queue", "/permission"]
    assert all(q["held"] for q in snap["queue"])
    assert len(room.log.path.read_text().splitlines()) == before  # show wrote nothing

    engine2 = open_engine(home)
    room2 = engine2.rooms[room.id]
    await engine2.load(room2)
    records = log_lines(room2)
    last = records[-1]["frame"]
    assert last["method"] == F.TURN_INTERRUPTED and last["params"] == {
        "roomId": room.id,
        "amuxTurnId": "at-2",
        "reason": "app_exit",
    }
    assert records[-1]["seq"] == before + 1
    assert room2.state.next_turn == 3 and room2.state.next_queue_item == 3
    assert [q.held for q in room2.queue] == [True, True]
    await room2.start()
    assert room2.status == "ready"
    assert not room2.busy  # held: nothing starts on its own after a restart
    room2.release_queue()
    await wait_for(lambda: room2.state.active_turn_id == "at-3", what="released item runs as at-3")
    await wait_for(
        lambda: room2.pending_permissions, timeout=20, what="the /permission item's question"
    )
    assert room2.state.active_turn_id == "at-4"
    room2.answer_permission(room2.pending_permissions[0].request_id, "allow")
    await idle(room2)
    await engine2.shutdown()


def test_bare_jsonl_without_metadata_is_listed(tmp_path):
    home = tmp_path / "h"
    rooms = home / "rooms"
    rooms.mkdir(parents=True)
    shutil.copy(FIXTURE, rooms / "imported_room-1.jsonl")
    ls = json.loads(amux(home, "ls", "--json").stdout)
    assert ls[0]["roomId"] == "imported_room-1" and ls[0]["title"] == "imported_room-1"
    assert ls[0]["agent"] == "unknown"
    snap = json.loads(amux(home, "show", "imported", "--json").stdout)
    assert snap["roomId"] == "imported_room-1"


def test_cli_errors_are_one_line(tmp_path):
    home = tmp_path / "h"
    res = amux(home, "show", "nothing-here", check=False)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert res.stderr.startswith("amux: ") and res.stderr.count("\n") == 1
    res = amux(home, "new", "--cmd", "definitely-not-a-command-xyz", check=False)
    assert res.returncode != 0 and "not found" in res.stderr and "Traceback" not in res.stderr
    res = amux(home, "new", "--agent", "nope", check=False)
    assert res.returncode != 0 and "unknown agent" in res.stderr


async def test_lock_refuses_a_second_writer_but_read_only_commands_work(tmp_path):
    home = tmp_path / "h"
    engine = open_engine(home)
    room, _ = await started_room(engine)
    room.prompt("hi")
    await idle(room)
    room.log.flush()
    res = subprocess.run(
        [sys.executable, "-m", "amux_tui", "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode != 0
    import os

    assert f"pid {os.getpid()}" in res.stderr and "Traceback" not in res.stderr
    assert json.loads(amux(home, "ls", "--json").stdout)[0]["frames"] > 3
    assert amux(home, "show", room.id, "--json").returncode == 0
    assert "hi" in amux(home, "export", room.id).stdout
    assert amux(home, "check").returncode == 0
    await engine.shutdown()


def _view(transcript):
    out = []
    for b in transcript.blocks:
        out.append((b.kind, b.index, b.turn_id, getattr(b, "text", None), getattr(b, "status", None),
                    getattr(b, "outcome", None), getattr(b, "entries", None)))  # fmt: skip
    return out


async def test_rehydrated_transcript_equals_the_live_one(tmp_path):
    """The hydration fast path and the live fold must agree block for block."""
    from amux_tui.engine.hydrate import hydrate

    engine = open_engine(tmp_path / "h")
    room, _ = await started_room(engine)
    for text in (
        "hello",
        "/tool",
        "/plan",
        "/compact text",
        "/markup",
        "/unknown-update",
        "/maxtokens",
    ):
        room.prompt(text)
        await idle(room)
    room.prompt("/permission")
    await wait_for(lambda: room.pending_permissions, what="permission")
    room.answer_permission(room.pending_permissions[0].request_id, "reject")
    await idle(room)
    room.log.flush()
    again = hydrate(room.log.path, room.id)
    assert _view(again.model.transcript) == _view(room.transcript)
    assert again.model.state.snapshot() == room.state.snapshot()
    assert again.model.usage == room.model.usage
    await engine.shutdown()
