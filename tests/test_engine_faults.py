"""SPEC §8 faults at the room level: a clear message, the room keeps working, nothing lost."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine_helpers import demo_spec, idle, log_lines, open_engine, started_room, wait_for

from amux_tui.engine import frames as F
from amux_tui.engine.config import AgentSpec

FAULTY = Path(__file__).parent / "agents" / "acp_faulty.py"


def faulty(fault: str) -> AgentSpec:
    return AgentSpec("faulty", sys.executable, (str(FAULTY),), env={"FAULT": fault}, source="cmd")


async def test_agent_hanging_in_the_handshake_fails_clearly(tmp_path):
    engine = open_engine(tmp_path / "h")
    room = engine.create_room(faulty("hang_init"))
    room.agent.handshake_timeout = 0.5
    await room.start()
    assert room.status == "failed" and "did not answer" in room.failure
    await wait_for(lambda: room.proc.returncode is not None, what="agent stopped")
    await engine.shutdown()


async def test_client_tool_requests_are_blocked_and_others_refused(tmp_path):
    engine = open_engine(tmp_path / "h")
    room = engine.create_room(faulty("client_requests"))
    await room.start()
    room.prompt("go")
    await idle(room)
    await wait_for(
        lambda: sum("ANSWER" in line for line in room.stderr_tail) == 3, what="three answers"
    )
    answers = {
        line.split()[1]: json.loads(line.split(" ", 2)[2])
        for line in room.stderr_tail
        if line.startswith("ANSWER")
    }
    for method in ("terminal/create", "fs/write_text_file"):
        err = answers[method]["error"]
        assert err["code"] == -32000 and err["data"] == {
            "reason": "client_tool_blocked",
            "method": method,
        }
    assert answers["elicitation/create"]["error"]["code"] == -32601
    assert F.AGENT_REQUEST_OPENED not in [r["frame"].get("method") for r in log_lines(room)]
    await engine.shutdown()


async def test_notification_with_another_session_id_rotates_once(tmp_path):
    engine = open_engine(tmp_path / "h")
    room = engine.create_room(faulty("updates_outside_turns"))
    await room.start()
    room.prompt("go")
    await wait_for(lambda: room.state.acp_session_id == "faulty-2", what="rotation")
    ended = [
        r["frame"]["params"] for r in log_lines(room) if r["frame"].get("method") == F.SEGMENT_ENDED
    ]
    assert [e["endReason"] for e in ended] == [F.END_ACP_SESSION_ID_CHANGED]
    # The update landed in the new segment.
    last = log_lines(room)[-1]
    assert last["frame"]["method"] == F.SESSION_UPDATE and last["segment_id"] == 2
    await engine.shutdown()


async def test_agent_ignoring_cancel_can_be_force_stopped(tmp_path, monkeypatch):
    monkeypatch.setenv("AMUX_DEMO_IGNORE_CANCEL", "1")
    engine = open_engine(tmp_path / "h")
    room, rec = await started_room(engine)
    room.force_stop_after = 0.3
    sid = room.state.acp_session_id
    room.prompt("/slow 60")
    await wait_for(
        lambda: any(b.kind == "message" for b in room.transcript.blocks), what="streaming"
    )
    assert room.cancel()
    assert not room.force_stop_available
    await wait_for(lambda: room.force_stop_available, what="force stop offered")
    assert room.busy  # the agent still has not answered
    room.force_stop()
    await wait_for(lambda: room.status == "ready" and not room.busy, what="restarted")
    interrupted = [f["params"] for f in rec.frames if f["method"] == F.TURN_INTERRUPTED]
    assert interrupted and interrupted[0]["reason"] == F.INTERRUPTED_AGENT_EXIT
    assert room.state.acp_session_id == sid  # restarted and resumed the same session
    await engine.shutdown()


async def test_titles_never_reach_the_file_system(tmp_path):
    engine = open_engine(tmp_path / "h")
    room = engine.create_room(demo_spec(), title="../../etc/passwd\x1b[31m[bold]x[/bold]\n")
    assert room.id.startswith("r-") and "/" not in room.id
    assert room.title == "../../etc/passwd\x1b[31m[bold]x[/bold]".replace("\x1b", "")
    room.rename("a/b\\c\x07 [red]t[/red]")
    assert room.title == "a/b\\c [red]t[/red]"
    files = sorted(p.name for p in engine.paths.rooms_dir.iterdir())
    assert files == sorted([".lock", "layout.json", f"{room.id}.json", f"{room.id}.jsonl"])
    await engine.shutdown()


async def test_disk_full_is_shown_and_nothing_is_lost(tmp_path, monkeypatch):
    import errno
    import os

    from amux_tui.engine import store

    engine = open_engine(tmp_path / "h")
    room, rec = await started_room(engine)
    real_write = os.write
    failing = {"on": True}

    def write(fd, data):
        if failing["on"] and fd == room.log._fd:  # noqa: SLF001
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(store, "_os_write", write)
    room.prompt("hello while the disk is full")
    await idle(room)
    assert room.write_error and "No space left" in room.write_error
    assert room.transcript.blocks[-1].kind == "message"  # the room kept working in memory
    failing["on"] = False
    room.log.flush()
    assert room.write_error is None  # the room shows it is fine again
    seqs = [r["seq"] for r in log_lines(room)]
    assert seqs == list(range(1, len(rec.frames) + 1))  # every frame, once, in order
    await engine.shutdown()


async def test_a_line_the_log_could_not_reload_verbatim_is_recorded_re_encoded(tmp_path):
    from amux_tui.engine.hydrate import hydrate

    engine = open_engine(tmp_path / "h")
    room = engine.create_room(faulty("lone_surrogate"))
    await room.start()
    room.prompt("go")
    await idle(room)
    assert "half an emoji" in room.transcript.blocks[-1].text
    room.log.flush()
    again = hydrate(room.log.path, room.id)
    assert again.load.bad_lines == 0
    assert "half an emoji" in again.model.blocks[-1].text
    await engine.shutdown()
