"""Turn semantics through the real demo agent (SPEC §4.2–4.5)."""

from __future__ import annotations

import pytest
from engine_helpers import demo_spec, idle, logged_methods, open_engine, started_room, wait_for

from amux_tui.engine import frames as F
from amux_tui.engine.room import RoomError


async def test_prompt_streams_and_settles(tmp_path):
    engine = open_engine(tmp_path / "h")
    room, rec = await started_room(engine)
    assert room.prompt("hello") == "sent"
    assert room.status == "busy"
    await idle(room)
    methods = rec.methods()
    assert methods[:3] == [F.PEER_JOINED, F.SEGMENT_STARTED, F.TURN_STARTED]
    assert methods[-1] == F.TURN_COMPLETE
    complete = [f for f in rec.frames if f["method"] == F.TURN_COMPLETE][0]["params"]
    assert complete == {"roomId": room.id, "amuxTurnId": "at-1", "stopReason": "end_turn"}
    kinds = [b.kind for b in room.transcript.blocks]
    assert kinds[:3] == ["prompt", "thought", "message"]
    await engine.shutdown()


async def test_settlement_order_with_pending_permission_and_queue(tmp_path):
    engine = open_engine(tmp_path / "h")
    room, rec = await started_room(engine)
    room.prompt("/permission")
    await wait_for(lambda: room.pending_permissions, what="permission")
    assert room.enqueue("follow-up") == "queued"
    # The agent gives up the turn by itself when asked to cancel: answer nothing, cancel.
    room.cancel()
    await wait_for(lambda: room.state.active_turn_id == "at-2", what="queued item to start")
    tail = [f["method"] for f in rec.frames if f["method"].startswith("amux/")]
    i = tail.index(F.TURN_CANCELLED)
    # cancel answers the pending permission as cancelled, then the turn settles
    assert tail[i + 1] == F.AGENT_REQUEST_RESOLVED
    j = tail.index(F.TURN_COMPLETE)
    assert tail[j : j + 3] == [F.TURN_COMPLETE, F.TURN_STARTED, F.QUEUE_ITEM_SUBMITTED]
    resolved = [f for f in rec.frames if f["method"] == F.AGENT_REQUEST_RESOLVED][0]["params"]
    assert resolved["resolvedBy"] == F.RESOLVED_LOCAL
    assert resolved["result"] == {"outcome": {"outcome": "cancelled"}}
    await idle(room)
    assert rec.methods()[-2:] == [F.TURN_COMPLETE, F.QUEUE_ITEM_COMPLETED]
    await engine.shutdown()


async def test_turn_end_sweep_resolves_leftover_requests(tmp_path):
    """A permission still open when the turn settles is resolved as mux:turn-ended, before turn_complete."""
    engine = open_engine(tmp_path / "h")
    room, rec = await started_room(engine)
    room.prompt("/permission abandon")
    await idle(room)
    methods = rec.methods()
    opened = methods.index(F.AGENT_REQUEST_OPENED)
    resolved = methods.index(F.AGENT_REQUEST_RESOLVED)
    assert opened < resolved < methods.index(F.TURN_COMPLETE)
    frame = [f for f in rec.frames if f["method"] == F.AGENT_REQUEST_RESOLVED][0]
    assert frame["params"]["resolvedBy"] == F.RESOLVED_TURN_ENDED
    assert not room.pending_permissions
    await engine.shutdown()


async def test_busy_prompts_queue_with_cap_and_unqueue(tmp_path):
    engine = open_engine(tmp_path / "h")
    room, rec = await started_room(engine)
    room.prompt("/slow 5")
    for i in range(6):
        assert room.prompt(f"queued {i}") == "queued"
    with pytest.raises(RoomError, match="queue is full"):
        room.prompt("seventh")
    assert [q.id for q in room.queue] == [f"q-{i}" for i in range(1, 7)]
    room.unqueue("q-2")
    assert "q-2" not in [q.id for q in room.queue]
    with pytest.raises(RoomError):
        room.unqueue("q-99")
    removed = [f for f in rec.frames if f["method"] == F.QUEUE_ITEM_REMOVED][0]["params"]
    assert removed["queueItemId"] == "q-2" and removed["reason"] == "unqueued"
    room.cancel()
    # Cancelling does not clear the queue: the next item runs after settlement.
    await wait_for(lambda: room.state.active_turn_id == "at-2", what="q-1 to start")
    started = [f for f in rec.frames if f["method"] == F.TURN_STARTED][-1]["params"]
    assert started["queueItemId"] == "q-1"
    await idle(room, timeout=30)
    assert room.state.next_turn == 7  # at-1 + 5 queued prompts
    await engine.shutdown()


async def test_idle_enqueue_submits_at_once(tmp_path):
    engine = open_engine(tmp_path / "h")
    room, rec = await started_room(engine)
    assert room.enqueue("now") == "sent"
    assert rec.methods()[-3:] == [F.QUEUE_ITEM_ADDED, F.TURN_STARTED, F.QUEUE_ITEM_SUBMITTED]
    await idle(room)
    await engine.shutdown()


async def test_hard_steer(tmp_path):
    gate = tmp_path / "gate"  # every demo turn stays open until this exists
    engine = open_engine(tmp_path / "h")
    room, rec = await started_room(engine, demo_spec(AMUX_DEMO_GATE=str(gate)))
    room.prompt("/slow 5")
    await wait_for(
        lambda: any(b.kind == "message" for b in room.transcript.blocks), what="streaming"
    )
    assert room.steer("actually, be brief") == "steered"
    with pytest.raises(RoomError, match="already pending"):
        room.steer("again")
    await wait_for(lambda: room.state.active_turn_id == "at-2", what="replacement turn")
    methods = rec.methods()
    i = methods.index(F.CONTROL_SUBMITTED)
    assert methods[i : i + 2] == [F.CONTROL_SUBMITTED, F.TURN_CANCELLED]
    control = rec.frames[[f["method"] for f in rec.frames].index(F.CONTROL_SUBMITTED)]["params"]
    assert (
        control["mode"] == "hard"
        and control["amuxTurnId"] == "at-1"
        and control["text"] == "actually, be brief"
    )
    cancelled = [f for f in rec.frames if f["method"] == F.TURN_CANCELLED][0]["params"]
    assert cancelled["reason"] == "hard_steer"
    # The replacement runs first, right after the cancelled turn settles.
    j = methods.index(F.TURN_COMPLETE)
    assert methods[j + 1] == F.TURN_STARTED
    completes = [f for f in rec.frames if f["method"] == F.TURN_COMPLETE]
    assert completes[0]["params"]["stopReason"] == "cancelled"
    replacement = [f for f in rec.frames if f["method"] == F.TURN_STARTED][1]["params"]
    assert replacement["supersedesTurnId"] == "at-1"
    text = replacement["content"][0]["text"]
    assert "/slow 5" in text and "actually, be brief" in text
    # A new steer is possible once the replacement runs (it is held open by the gate).
    assert room.steer("and in French") == "steered"
    await wait_for(lambda: room.state.active_turn_id == "at-3", what="second replacement")
    gate.touch()
    await idle(room, timeout=30)
    await engine.shutdown()


async def test_idle_steer_is_a_prompt(tmp_path):
    engine = open_engine(tmp_path / "h")
    room, rec = await started_room(engine)
    assert room.steer("just do it") == "sent"
    assert rec.methods()[-2:] == [F.CONTROL_SUBMITTED, F.TURN_STARTED]
    control = rec.frames[-2]["params"]
    assert control["mode"] == "prompt" and control["amuxTurnId"] == "at-1"
    assert F.TURN_CANCELLED not in rec.methods()
    await idle(room)
    await engine.shutdown()


async def test_client_tools_blocked(tmp_path):
    engine = open_engine(tmp_path / "h")
    room, rec = await started_room(engine)
    room.prompt("/fs")
    await idle(room)
    text = "".join(b.text for b in room.transcript.blocks if b.kind == "message")
    assert "client_tool_blocked" in text and "-32000" in text
    assert F.AGENT_REQUEST_OPENED not in rec.methods()
    assert any("blocked fs/read_text_file" in line for line in room.agent.agent_log)
    await engine.shutdown()


async def test_crash_mid_turn_records_interrupted(tmp_path):
    engine = open_engine(tmp_path / "h")
    room, rec = await started_room(engine)
    room.prompt("/crash 3")
    await wait_for(lambda: room.status == "exited", what="exit")
    assert room.exit_code == 3
    interrupted = [f for f in rec.frames if f["method"] == F.TURN_INTERRUPTED]
    assert interrupted and interrupted[0]["params"]["reason"] == "agent_exit"
    assert F.TURN_INTERRUPTED in logged_methods(room)
    assert any(b.kind == "turn_end" and b.outcome == "interrupted" for b in room.transcript.blocks)
    await engine.shutdown()


async def test_garbage_line_does_not_break_the_room(tmp_path):
    engine = open_engine(tmp_path / "h")
    room, rec = await started_room(engine)
    room.prompt("/garbage")
    await idle(room)
    assert room.agent.invalid_lines == 1
    assert any("this is not json" in line for line in room.agent.agent_log)
    assert rec.methods()[-1] == F.TURN_COMPLETE
    assert all("this is not json" not in getattr(b, "text", "") for b in room.transcript.blocks)
    await engine.shutdown()


async def test_agent_withdrawing_a_permission_resolves_it_as_agent_cancelled(tmp_path):
    engine = open_engine(tmp_path / "h")
    room, rec = await started_room(engine)
    room.prompt("/permission withdraw")
    await idle(room)
    resolved = [f["params"] for f in rec.frames if f["method"] == F.AGENT_REQUEST_RESOLVED]
    assert [r["resolvedBy"] for r in resolved] == [F.RESOLVED_AGENT_CANCELLED]
    methods = [f["method"] for f in rec.frames]
    # the agent's raw $/cancel_request is recorded as received, then the resolution
    assert methods.index(F.CANCEL_REQUEST) < methods.index(F.AGENT_REQUEST_RESOLVED)
    assert not room.pending_permissions
    assert any(
        b.kind == "permission" and b.outcome == "withdrawn by agent" for b in room.transcript.blocks
    )
    await engine.shutdown()


async def test_several_permissions_queue_fifo(tmp_path):
    engine = open_engine(tmp_path / "h")
    room, _ = await started_room(engine)
    room.prompt("/permission 2")
    await wait_for(lambda: len(room.pending_permissions) == 2, what="two questions")
    first, second = room.pending_permissions
    room.answer_permission(first.request_id, "allow")
    assert room.pending_permissions == [second]
    room.answer_permission(second.request_id, "reject")
    await idle(room)
    reply = [b.text for b in room.transcript.blocks if b.kind == "message"][-1]
    assert "allowed" in reply and "rejected" in reply
    await engine.shutdown()
