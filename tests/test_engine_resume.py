"""Resume after a restart (SPEC §3.4): load, resume, new session — with the demo agent's knobs."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest
from engine_helpers import Recorder, idle, log_lines, open_engine, started_room, wait_for

from amux_tui.engine import frames as F
from amux_tui.engine.config import AgentSpec

FAULTY = Path(__file__).parent / "agents" / "acp_faulty.py"


async def _conversation(home, prompts=("remember the word banana",)):
    engine = open_engine(home)
    room, _ = await started_room(engine)
    for text in prompts:
        room.prompt(text)
        await idle(room)
    sid = room.state.acp_session_id
    await engine.shutdown()
    return room.id, sid


async def _reopen(home, room_id):
    engine = open_engine(home)
    room = engine.rooms[room_id]
    await engine.load(room)
    rec = Recorder()
    room.subscribe(rec)
    before = len(log_lines(room))
    await room.start()
    assert room.status == "ready", room.failure
    return engine, room, rec, before


def _updates(room):
    return [r for r in log_lines(room) if r["frame"].get("method") == F.SESSION_UPDATE]


async def test_load_replays_without_duplicating(tmp_path):
    home = tmp_path / "h"
    room_id, sid = await _conversation(home)
    engine, room, rec, before = await _reopen(home, room_id)
    updates_before = len(_updates(room))
    assert room.agent.resume_via == "load"
    assert room.agent.replayed_updates > 0
    assert room.state.acp_session_id == sid and len(room.state.segments) == 1
    new = [r["frame"] for r in log_lines(room)[before:]]
    assert [f["method"] for f in new].count(F.SESSION_RESUMED) == 1
    # The agent's post-load housekeeping (commands, usage) is recorded; replayed history is not.
    kinds = {f["params"]["update"]["sessionUpdate"] for f in new if f["method"] == F.SESSION_UPDATE}
    assert kinds <= {"available_commands_update", "usage_update"}, kinds
    assert updates_before == len(_updates(room))
    assert any(b.kind == "divider" and b.text == "session resumed" for b in room.transcript.blocks)
    room.prompt("/recall")
    await idle(room)
    reply = [b.text for b in room.transcript.blocks if b.kind == "message"][-1]
    assert "banana" in reply
    await engine.shutdown()


async def test_resume_that_replays_anyway_is_not_duplicated(tmp_path, monkeypatch):
    home = tmp_path / "h"
    monkeypatch.setenv("AMUX_DEMO_NO_LOAD", "1")
    monkeypatch.setenv("AMUX_DEMO_RESUME_REPLAYS", "1")
    room_id, sid = await _conversation(home)
    engine, room, rec, before = await _reopen(home, room_id)
    assert room.agent.resume_via == "resume"
    assert room.agent.replayed_updates > 0
    assert room.state.acp_session_id == sid
    prompts = [b for b in room.transcript.blocks if b.kind == "prompt"]
    assert len(prompts) == 1  # no duplicated history
    await engine.shutdown()


async def test_neither_capability_starts_a_new_session_with_divider(tmp_path, monkeypatch):
    home = tmp_path / "h"
    monkeypatch.setenv("AMUX_DEMO_NO_LOAD", "1")
    monkeypatch.setenv("AMUX_DEMO_NO_RESUME", "1")
    room_id, sid = await _conversation(home)
    engine, room, rec, _ = await _reopen(home, room_id)
    assert room.agent.resume_via is None
    assert room.state.acp_session_id != sid
    ended = [f["params"] for f in rec.frames if f["method"] == F.SEGMENT_ENDED]
    assert ended and ended[0]["endReason"] == F.END_RESUME_UNAVAILABLE
    assert [s.id for s in room.state.segments] == [1, 2]
    assert any(
        b.kind == "divider"
        and b.text.startswith("new session — earlier history is not in the agent's context")
        for b in room.transcript.blocks
    )
    await engine.shutdown()


async def test_failing_load_falls_back_to_a_new_session(tmp_path, monkeypatch):
    home = tmp_path / "h"
    room_id, sid = await _conversation(home)
    monkeypatch.setenv("AMUX_DEMO_FAIL_LOAD", "1")
    engine, room, rec, _ = await _reopen(home, room_id)
    assert room.state.acp_session_id != sid
    assert any("session/load failed" in line for line in room.agent.agent_log)
    assert [f["params"]["endReason"] for f in rec.frames if f["method"] == F.SEGMENT_ENDED] == [
        F.END_RESUME_UNAVAILABLE
    ]
    await engine.shutdown()


async def test_resume_answering_another_session_is_a_new_session(tmp_path, monkeypatch):
    home = tmp_path / "h"
    monkeypatch.setenv("AMUX_DEMO_NO_LOAD", "1")
    monkeypatch.setenv("AMUX_DEMO_RESUME_FORKS", "1")
    room_id, sid = await _conversation(home)
    engine, room, rec, _ = await _reopen(home, room_id)
    assert room.state.acp_session_id != sid
    assert room.agent.resume_via is None
    ended = [f["params"] for f in rec.frames if f["method"] == F.SEGMENT_ENDED]
    assert ended and ended[0]["endReason"] == F.END_RESUME_UNAVAILABLE
    await engine.shutdown()


async def test_agent_killed_from_outside_then_restart_resumes_same_session(tmp_path):
    engine = open_engine(tmp_path / "h")
    room, rec = await started_room(engine)
    room.prompt("remember the word kiwi")
    await idle(room)
    sid = room.state.acp_session_id
    os.kill(room.proc.pid, signal.SIGKILL)
    await wait_for(lambda: room.status == "exited", what="exited")
    assert room.exit_code == -signal.SIGKILL
    await room.restart()
    assert room.status == "ready" and room.state.acp_session_id == sid
    assert len(room.state.segments) == 1
    room.prompt("/recall")
    await idle(room)
    assert "kiwi" in [b.text for b in room.transcript.blocks if b.kind == "message"][-1]
    await engine.shutdown()


async def test_protocol_version_mismatch_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("AMUX_DEMO_PROTOCOL_VERSION", "2")
    engine = open_engine(tmp_path / "h")
    room = engine.create_room(engine.config.get("demo"))
    await room.start()
    assert room.status == "failed" and "protocol version 2" in room.failure
    await engine.shutdown()


async def test_auth_required_is_shown_with_methods(tmp_path, monkeypatch):
    monkeypatch.setenv("AMUX_DEMO_AUTH_REQUIRED", "1")
    engine = open_engine(tmp_path / "h")
    room = engine.create_room(engine.config.get("demo"))
    await room.start()
    assert room.status == "failed"
    assert "authentication required" in room.failure and "Demo login" in room.failure
    await engine.shutdown()


async def test_missing_command_fails_without_traceback(tmp_path):
    from amux_tui.engine.config import spec_from_command

    engine = open_engine(tmp_path / "h")
    room = engine.create_room(spec_from_command("no-such-agent-binary --acp"))
    await room.start()
    assert room.status == "failed" and "no-such-agent-binary" in room.failure
    await engine.shutdown()


@pytest.mark.parametrize("eager", [False])
async def test_lazy_start_only_the_activated_room_runs(tmp_path, eager):
    home = tmp_path / "h"
    engine = open_engine(home)
    a, _ = await started_room(engine, title="a")
    b, _ = await started_room(engine, title="b")
    await engine.shutdown()
    engine = open_engine(home)
    ra, rb = engine.rooms[a.id], engine.rooms[b.id]
    await engine.activate(ra)
    await wait_for(lambda: ra.status == "ready", what="a ready")
    await engine.load(rb)
    assert rb.status == "not started" and rb.proc is None
    await engine.shutdown()


async def test_eager_starts_everything_two_at_a_time(tmp_path):
    home = tmp_path / "h"
    engine = open_engine(home)
    ids = []
    for i in range(4):
        room, _ = await started_room(engine, title=f"r{i}")
        ids.append(room.id)
    await engine.shutdown()
    engine = open_engine(home)
    running = []
    peak = 0
    for room in engine.rooms.values():
        original = room.start

        async def counted(original=original):
            nonlocal peak
            running.append(1)
            peak = max(peak, len(running))
            try:
                await original()
            finally:
                running.pop()

        room.start = counted
    await engine.start_eager(ids[2])
    assert all(r.status == "ready" for r in engine.rooms.values())
    assert peak == 2
    await engine.shutdown()


async def test_start_is_never_doubled_and_quitting_mid_handshake_leaves_no_agent(tmp_path):
    engine = open_engine(tmp_path / "h")
    # An agent that never answers initialize: quitting is mid-handshake by construction.
    hanging = AgentSpec(
        "hang", sys.executable, (str(FAULTY),), env={"FAULT": "hang_init"}, source="cmd"
    )
    room = engine.create_room(hanging)
    first, second = room.ensure_started(), room.ensure_started()
    assert first is second
    await wait_for(lambda: room.proc is not None, what="the agent spawned")
    assert room.status == "starting"  # handshaking
    proc = room.proc
    await engine.shutdown()
    assert proc is not None and proc.returncode is not None


async def test_quitting_holds_the_queue_instead_of_running_it(tmp_path):
    home = tmp_path / "h"
    engine = open_engine(home)
    room, rec = await started_room(engine)
    room.prompt("/slow 10")
    room.prompt("must not run while quitting")
    await engine.shutdown()
    assert [f["params"]["amuxTurnId"] for f in rec.frames if f["method"] == F.TURN_STARTED] == [
        "at-1"
    ]
    engine = open_engine(home)
    again = engine.rooms[room.id]
    await engine.load(again)
    assert [(q.text, q.held) for q in again.queue] == [("must not run while quitting", True)]
    await engine.shutdown()


async def test_activate_does_not_restart_a_failed_room(tmp_path):
    from amux_tui.engine.config import spec_from_command

    engine = open_engine(tmp_path / "h")
    room = engine.create_room(spec_from_command("no-such-agent-binary"))
    await engine.activate(room)
    await wait_for(lambda: room.status == "failed", what="failed")
    task = room._start_task  # noqa: SLF001
    await engine.activate(room)
    assert room._start_task is task and room.status == "failed"  # noqa: SLF001
    await engine.shutdown()
