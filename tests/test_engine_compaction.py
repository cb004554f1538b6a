"""Compaction tracking and the turn-settlement bound (SPEC §4.6), live and rehydrated."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from engine_helpers import demo_spec, idle, open_engine, started_room

from amux_tui.engine import frames as F
from amux_tui.engine.compaction import parse_hermes_line, signal_from_update
from amux_tui.engine.hydrate import fold
from amux_tui.engine.state import RoomState
from amux_tui.engine.store import Record


def _amux_show(home, room_id) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "amux_tui", "--home", str(home), "show", room_id, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


async def test_a_stranded_start_is_cleared_at_settlement(tmp_path):
    """(a) started, no done, the turn settles → inactive, count unchanged, no extra frame."""
    engine = open_engine(tmp_path / "h")
    room, rec = await started_room(engine)
    room.prompt("/compact stranded")
    await idle(room)
    methods = rec.methods()
    assert F.COMPACTION_STARTED in methods and F.COMPACTION_DONE not in methods
    assert room.compacting is False
    assert room.state.compaction.count == 0
    # Nothing was emitted for the clear: turn_complete follows the agent's last update.
    assert methods[-1] == F.TURN_COMPLETE
    await engine.shutdown()


async def test_b_started_done_complete_counts_once(tmp_path):
    """(b) started → done → turn_complete → count 1, inactive."""
    engine = open_engine(tmp_path / "h")
    room, rec = await started_room(engine)
    room.prompt("/compact acp")
    await idle(room)
    methods = rec.methods()
    assert (
        methods.index(F.COMPACTION_STARTED)
        < methods.index(F.COMPACTION_DONE)
        < methods.index(F.TURN_COMPLETE)
    )
    done = [f for f in rec.frames if f["method"] == F.COMPACTION_DONE][0]["params"]
    assert done["compressionCount"] == 1 and done["source"] == F.SOURCE_ACP
    assert room.state.compaction.count == 1 and room.compacting is False
    await engine.shutdown()


async def test_c_rehydration_never_resurrects_the_badge(tmp_path):
    """(c) started → turn_complete → a new process rehydrates → `amux show` says inactive."""
    home = tmp_path / "h"
    engine = open_engine(home)
    room, _ = await started_room(engine)
    room.prompt("/compact stranded")
    await idle(room)
    await engine.shutdown()
    snap = _amux_show(home, room.id)
    assert snap["compaction"]["active"] is False
    assert snap["compaction"]["count"] == 0
    assert "lastStartedAt" in snap["compaction"]


def _records(frames):
    return [
        Record(1, i + 1, 1, f"2026-05-27T17:42:0{i % 10}.000000000Z", f)
        for i, f in enumerate(frames)
    ]


def _started():
    return F.amux_frame(F.COMPACTION_STARTED, "r", source=F.SOURCE_HERMES)


def test_hydration_fold_clears_on_turn_complete():
    frames = [
        F.amux_frame(F.TURN_STARTED, "r", amuxTurnId="at-1", peerId="local", content=[]),
        _started(),
        F.turn_complete("r", "at-1", "end_turn"),
    ]
    state = fold(_records(frames), "r").state
    assert state.compaction.active is False and state.compaction.count == 0


def test_hydration_fold_without_the_rule_would_stay_active(monkeypatch):
    """The same log with the turn_complete rule removed leaves `active` stuck: the rule is what fixes (c)."""
    frames = [
        F.amux_frame(F.TURN_STARTED, "r", amuxTurnId="at-1", peerId="local", content=[]),
        _started(),
        F.turn_complete("r", "at-1", "end_turn"),
    ]
    from amux_tui.engine import state as state_mod

    def settled_without_bound(self, p, seq, tag, at):
        self.active_turn_id = None

    handlers = dict(state_mod._HANDLERS)
    handlers[F.TURN_COMPLETE] = settled_without_bound
    handlers[F.TURN_INTERRUPTED] = settled_without_bound
    monkeypatch.setattr(state_mod, "_HANDLERS", handlers)
    state = fold(_records(frames), "r").state
    assert state.compaction.active is True


def test_hydration_fold_interrupted_also_clears_and_done_takes_max():
    frames = [
        _started(),
        F.amux_frame(F.COMPACTION_DONE, "r", source=F.SOURCE_HERMES, compressionCount=3),
        _started(),
        F.amux_frame(F.TURN_INTERRUPTED, "r", amuxTurnId="at-1", reason="app_exit"),
        F.amux_frame(F.COMPACTION_DONE, "r", source=F.SOURCE_HERMES, compressionCount=2),
    ]
    state = RoomState("r")
    for rec in _records(frames[:2]):
        state.apply(rec.frame, rec.seq, 1, rec.recorded_at)
    assert state.compaction.count == 3 and not state.compaction.active
    state = fold(_records(frames), "r").state
    assert state.compaction.count == 3 and state.compaction.active is False


@pytest.mark.parametrize(
    ("style", "source", "fields"),
    [
        (
            "hermes",
            F.SOURCE_HERMES,
            {"messagesBefore", "tokensApproxBefore", "hermesSessionId", "model"},
        ),
        ("hermes-old", F.SOURCE_HERMES, {"messagesBefore", "tokensApproxBefore"}),
        ("acp", F.SOURCE_ACP, {"compactionId"}),
        ("text", F.SOURCE_AGENT_TEXT, set()),
    ],
)
async def test_each_detector_through_the_demo_agent(tmp_path, style, source, fields):
    engine = open_engine(tmp_path / "h")
    room, rec = await started_room(engine, demo_spec())
    room.prompt(f"/compact {style}")
    await idle(room)
    started = [f["params"] for f in rec.frames if f["method"] == F.COMPACTION_STARTED]
    done = [f["params"] for f in rec.frames if f["method"] == F.COMPACTION_DONE]
    assert len(started) == 1 and len(done) == 1, rec.methods()
    assert started[0]["source"] == source and done[0]["source"] == source
    assert fields <= set(started[0])
    assert done[0]["compressionCount"] == 1 and "outcome" not in done[0]
    if source == F.SOURCE_HERMES:
        assert {"messagesBefore", "messagesAfter", "tokensApproxAfter"} <= set(done[0])
        # A Hermes done rotates the segment (hermes_compression) before the done frame.
        ended = [f["params"] for f in rec.frames if f["method"] == F.SEGMENT_ENDED]
        assert ended and ended[-1]["endReason"] == F.END_HERMES_COMPRESSION
        assert done[0]["successorSegmentId"] == "seg-2" and done[0]["previousSegmentId"] == "seg-1"
        assert room.state.acp_session_id == room.state.segments[0].acp_session_id
    assert room.state.compaction.count == 1 and not room.compacting
    dividers = [b.text for b in room.transcript.blocks if b.kind == "divider"]
    assert "context compacted (#1)" in dividers
    await engine.shutdown()


@pytest.mark.parametrize("style", ["acp-failed", "text-failed"])
async def test_failed_compactions(tmp_path, style):
    engine = open_engine(tmp_path / "h")
    room, rec = await started_room(engine)
    room.prompt(f"/compact {style}")
    await idle(room)
    done = [f["params"] for f in rec.frames if f["method"] == F.COMPACTION_DONE]
    assert done and done[0]["outcome"] == "failed"
    assert room.compacting is False
    assert room.state.compaction.count == 0  # a failed compaction compacted nothing
    await engine.shutdown()


async def test_hermes_detector_off_for_other_agents(tmp_path):
    engine = open_engine(tmp_path / "h")
    spec = demo_spec()
    from dataclasses import replace

    room, rec = await started_room(engine, replace(spec, compaction=None, args=spec.args))
    assert room.agent.launch.stderr_detection is False
    room.prompt("/compact hermes")
    await idle(room)
    assert F.COMPACTION_STARTED not in rec.methods()
    await engine.shutdown()


def test_hermes_parser_forms():
    cur = parse_hermes_line(
        "2026-05-27 21:27:04 [INFO] agent.conversation_compression: context compression done: "
        "session=abc messages=50->9 rough_tokens=~54,700 awaiting_real_usage=true"
    )
    assert (
        cur
        and cur.done
        and cur.fields
        == {
            "hermesSessionId": "abc",
            "messagesBefore": 50,
            "messagesAfter": 9,
            "tokensApproxAfter": 54700,
        }
    )
    old = parse_hermes_line("x context compression done: session=abc messages=50→9 tokens=~54,700")
    assert old and old.fields["messagesAfter"] == 9 and old.fields["tokensApproxAfter"] == 54700
    start = parse_hermes_line("context compression started: focus=None model=m tokens=~1,000")
    assert start and not start.done and start.fields == {"tokensApproxBefore": 1000, "model": "m"}
    bare = parse_hermes_line("context compression started:")
    assert bare is not None and bare.fields == {}
    assert parse_hermes_line("🗜️ Compacting context — summarizing earlier conversation") is None


def test_text_markers():
    def chunk(text):
        return {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": text}}

    assert signal_from_update(chunk("  Compacting...\n")).done is False
    assert signal_from_update(chunk("Compacting completed.")).outcome == "completed"
    assert signal_from_update(chunk("Compacting failed: too big")).outcome == "failed"
    assert signal_from_update(chunk("Compacting... more text")) is None
    assert (
        signal_from_update({"sessionUpdate": "compaction_update", "status": "cancelled"}).outcome
        == "cancelled"
    )
