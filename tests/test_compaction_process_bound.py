"""Issue 11: no compaction outlives the agent process that ran it (SPEC §4.6), live and in
``amux show`` / a restarted amux alike, and one that starts outside a turn is cleared by
the next settlement or the agent's exit."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from engine_helpers import idle, log_lines, open_engine, wait_for
from terminal import AmuxTerminal, _descendants, run_cli

from amux_tui.engine import frames as F
from amux_tui.engine.config import AgentSpec
from amux_tui.engine.engine import Engine
from amux_tui.engine.hydrate import hydrate
from amux_tui.engine.room import Room
from amux_tui.engine.store import LoadResult, ReplayLog
from amux_tui.ui.format import COMPACTING_GLYPH

FAULTY = Path(__file__).parent / "agents" / "acp_faulty.py"
BADGE = f"{COMPACTING_GLYPH} compacting"  # the header's flag (the transcript keeps its notice)


def badge_shown(term: AmuxTerminal) -> bool:
    return BADGE in term.screen_text()


def late_compaction() -> AgentSpec:
    return AgentSpec("faulty", sys.executable, (str(FAULTY),), env={"FAULT": "late_compaction"},
                     source="cmd")  # fmt: skip


def test_a_log_with_a_compaction_started_after_the_prompt_response_hydrates_inactive(tmp_path):
    room_id = "r-latecompac"
    path = tmp_path / f"{room_id}.jsonl"
    late = {"sessionUpdate": "compaction_update", "status": "in_progress"}
    with ReplayLog.open(path, LoadResult()) as log:
        log.append(F.amux_frame(F.SEGMENT_STARTED, room_id, segmentId="seg-1",
                                acpSessionId="s1", openedAt="t"), 1)  # fmt: skip
        log.append(F.amux_frame(F.TURN_STARTED, room_id, amuxTurnId="at-1", peerId="local",
                                content=[{"type": "text", "text": "hi"}]), 1)  # fmt: skip
        log.append(F.turn_complete(room_id, "at-1", "end_turn"), 1)
        log.append(F.notification(F.SESSION_UPDATE, {"sessionId": "s1", "update": late}), 1)
        log.append(F.amux_frame(F.COMPACTION_STARTED, room_id, source=F.SOURCE_ACP), 1)
    compaction = hydrate(path, room_id).model.state.compaction
    assert compaction.active is False and compaction.last_started_at is not None


async def compacting_after_a_turn(home: Path) -> tuple[Engine, Room]:
    """A room whose agent started a compaction after its first turn's response."""
    engine = open_engine(home)
    room = engine.create_room(late_compaction())
    await room.start()
    room.prompt("one")
    await idle(room)
    await wait_for(lambda: room.compacting, what="a compaction started after the turn")
    return engine, room


async def test_live_late_compaction_is_cleared_by_the_agents_exit_and_stays_cleared(tmp_path):
    engine, room = await compacting_after_a_turn(tmp_path / "h")
    os.kill(room.proc.pid, signal.SIGTERM)  # the agent dies on its own (not a requested stop)
    await wait_for(lambda: room.status == "exited", what="the exit")
    assert not room.compacting  # the process bound, live
    exited = [r["frame"]["params"] for r in log_lines(room)
              if r["frame"].get("method") == F.AGENT_EXITED]  # fmt: skip
    assert exited == [{"roomId": room.id, "exitCode": -signal.SIGTERM, "requested": False}]
    await engine.shutdown()
    assert hydrate(room.log_path, room.id).model.state.compaction.active is False


async def test_late_compaction_is_cleared_by_the_next_settlement(tmp_path):
    engine, room = await compacting_after_a_turn(tmp_path / "h")
    room.prompt("two")
    await wait_for(lambda: not room.busy and room.state.turns_started == 2, what="turn two")
    # Turn two's own late compaction arrives after its response; in between it was cleared.
    assert [r["frame"]["method"] for r in log_lines(room)
            if r["frame"].get("method") in (F.COMPACTION_STARTED, F.TURN_COMPLETE)] == [
        F.TURN_COMPLETE, F.COMPACTION_STARTED, F.TURN_COMPLETE, F.COMPACTION_STARTED,
    ]  # fmt: skip
    await engine.shutdown()


def test_the_screen_and_amux_show_after_the_exit_and_after_a_restart(tmp_path):
    home = tmp_path / "home"
    agent = f"{sys.executable} {FAULTY}"
    env = {"FAULT": "late_compaction"}
    with AmuxTerminal(home, "new", "--cmd", agent, "--title", "late", env=env) as term:
        term.wait_ready()
        term.wait_for("ready")
        term.type("go")
        term.press("enter")
        term.wait_for(BADGE)
        [agent_pid] = [p for p in _descendants(term.pid)
                       if "acp_faulty" in Path(f"/proc/{p}/cmdline").read_text()]  # fmt: skip
        os.kill(agent_pid, signal.SIGTERM)
        term.wait_for("exited")
        term.wait_for(lambda t: not badge_shown(t))
        term.press("ctrl+q")
        assert term.wait_exit() == 0
    show = json.loads(run_cli(home, "show", "late", "--json", env=term.env).stdout)
    assert show["compaction"]["active"] is False and show["compaction"].get("lastStartedAt")
    with AmuxTerminal(home, env=env) as term:
        term.wait_ready()
        term.wait_for("late")
        term.wait_stable()
        assert not badge_shown(term) and "compacting context" in term.screen_text()
        term.press("ctrl+q")
        assert term.wait_exit() == 0
