"""Pieces of the control socket on their own: finding history in a log, the text of
``amux watch``, what counts as activity."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from amux_tui.control_render import WatchRenderer
from amux_tui.engine import frames as F
from amux_tui.engine.control_streams import history_start
from amux_tui.engine.model import RoomModel


def _record(seq: int, text: str = "x") -> bytes:
    frame = F.amux_frame(F.NOTICE, "r", text=text)
    rec = {"v": 1, "seq": seq, "segment_id": 0, "recorded_at": "t", "frame": frame}
    return json.dumps(rec).encode() + b"\n"


@pytest.fixture
def log(tmp_path: Path) -> tuple[Path, dict[int, int]]:
    """Records 1..20; record 10 holds a 3 MiB line; a bad line and a blank one in between.
    Returns the path and each record's byte offset."""
    path = tmp_path / "r.jsonl"
    offsets: dict[int, int] = {}
    data = bytearray()
    for seq in range(1, 21):
        if seq == 7:
            data += b"{not a record\n\n"
        offsets[seq] = len(data)
        data += _record(seq, "y" * (3 << 20) if seq == 10 else "x")
    path.write_bytes(bytes(data))
    return path, offsets


def test_history_start_finds_records_by_seq_and_count(log):
    path, at = log
    end = path.stat().st_size
    assert history_start(path, end, 20) == 0  # everything
    assert history_start(path, end, 20, since_seq=15) == at[15]
    assert history_start(path, end, 20, since_seq=10) == at[10]  # across the 3 MiB line
    assert history_start(path, end, 20, since_seq=1) == 0
    assert history_start(path, end, 20, last_n=1) == at[20]
    assert history_start(path, end, 20, last_n=11) == at[10]
    assert history_start(path, end, 20, last_n=15) == at[6]  # the bad line is stepped over
    assert history_start(path, end, 20, last_n=100) == 0
    assert history_start(path, end, 20, last_n=0) == end
    # Only what the snapshot covers counts: records after `end` or above `last_seq` do not.
    assert history_start(path, at[19], 18, last_n=2) == at[17]
    assert history_start(path, end, 18, last_n=2) == at[17]


def _run(events: list[dict]) -> str:
    out = io.StringIO()
    renderer = WatchRenderer(out)
    for event in events:
        renderer.event(event)
    return out.getvalue()


def _frame(seq: int, frame: dict) -> dict:
    return {
        "event": "frame",
        "seq": seq,
        "recordedAt": "2026-05-27T17:42:01.000000000Z",
        "frame": frame,
    }


def _update(**update: object) -> dict:
    return F.notification(F.SESSION_UPDATE, {"sessionId": "s", "update": update})


def _chunk(kind: str, text: str) -> dict:
    return _update(sessionUpdate=kind, content={"type": "text", "text": text})


def test_watch_text_follows_the_transcript_and_shows_controls():
    room = {"roomId": "r-1", "title": "B", "state": "busy", "compacting": True, "queued": 1,
            "queue": [{"queueItemId": "q-1", "text": "later"}]}  # fmt: skip
    frames = [
        F.amux_frame(F.TURN_STARTED, "r-1", amuxTurnId="at-1", peerId="cli",
                     content=[{"type": "text", "text": "fix it"}]),
        _chunk(F.AGENT_THOUGHT_CHUNK, "pondering"),
        _chunk(F.AGENT_MESSAGE_CHUNK, "Hello "),
        _chunk(F.AGENT_MESSAGE_CHUNK, "\x1b[31mworld\x1b[0m"),
        _update(sessionUpdate=F.TOOL_CALL, toolCallId="t1", title="Edit a.py", status="pending"),
        _update(sessionUpdate=F.TOOL_CALL_UPDATE, toolCallId="t1", status="completed"),
        _update(sessionUpdate=F.PLAN, entries=[{"content": "one", "status": "completed"},
                                               {"content": "two", "status": "pending"}]),
        F.amux_frame(F.QUEUE_ITEM_ADDED, "r-1", queueItemId="q-2", text="next one"),
        F.turn_complete("r-1", "at-1", "cancelled"),
    ]  # fmt: skip
    text = _run(
        [{"event": "snapshot", "room": room}, *(_frame(i, f) for i, f in enumerate(frames, 1))]
        + [{"event": "live"}, {"event": "closed", "reason": "room closed"}]
    )
    assert text == (
        "── B (r-1) · busy, compacting, queued 1 ──\n"
        "▶ cli · at-1\n"
        "fix it\n"
        "(thinking) pondering\n"
        "Hello ␛[31mworld␛[0m\n"
        "⚙ Edit a.py — pending\n"
        "⚙ Edit a.py — completed\n"
        "☰ plan: [x] one · [ ] two\n"
        "+ queued q-2: next one\n"
        "■ Turn cancelled\n"
        "── watch ended: room closed ──\n"
    )


def test_presence_is_not_activity():
    model = RoomModel("r")
    model.apply(F.amux_frame(F.NOTICE, "r", text="hi"), 1, 0, "2026-01-01T00:00:01.000000000Z")
    model.apply(
        F.amux_frame(F.PEER_JOINED, "r", peerId="x"), 2, 0, "2026-01-01T00:00:09.000000000Z"
    )
    state = model.state
    assert state.last_activity_at == "2026-01-01T00:00:01.000000000Z"
    assert state.last_recorded_at == "2026-01-01T00:00:09.000000000Z"
    model.apply(F.notification("amux/peer_left", {}), 3, 0, "2026-01-01T00:00:10.000000000Z")
    assert state.last_activity_at == "2026-01-01T00:00:01.000000000Z"


async def test_a_watcher_ending_before_it_went_live_still_gets_what_was_recorded(tmp_path):
    """The room closes (or amux quits) while the history is still being sent: the frames
    held back meanwhile are delivered, then ``closed``; nothing is lost or reordered."""
    import asyncio
    import socket

    from engine_helpers import demo_spec, open_engine

    from amux_tui.engine.control_streams import Watcher

    engine = open_engine(tmp_path / "h")
    room = engine.create_room(demo_spec(), cwd=str(tmp_path), title="B")
    ours, theirs = socket.socketpair()
    _, writer = await asyncio.open_connection(sock=ours)
    reader, _ = await asyncio.open_connection(sock=theirs)
    watcher = Watcher(room, writer, "ctl-1")
    watcher.attach()
    room.record(F.amux_frame(F.NOTICE, room.id, text="while the history is sent"))
    watcher.end("room closed")
    watcher.detach()
    room.record(F.amux_frame(F.NOTICE, room.id, text="after it ended"))
    assert not watcher.ended.is_set()  # the held frames are not out yet
    watcher.go_live()
    assert watcher.ended.is_set()
    lines = [json.loads(await reader.readline()) for _ in range(4)]
    assert lines[0] == {"event": "live"}
    assert [e["frame"]["method"] for e in lines[1:3]] == [F.PEER_JOINED, F.NOTICE]
    assert lines[3] == {"event": "closed", "reason": "room closed"}
    writer.close()
    await engine.shutdown()
