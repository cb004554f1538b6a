"""Read-only views of a rooms directory: the debug snapshot (SPEC §5.5) and ``ls`` rows.

Nothing here writes: an unsettled turn's closing frames are applied in memory only, so
``amux show`` reports what a restarted amux would see without touching the log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from amux_tui.engine.hydrate import Hydrated, hydrate
from amux_tui.engine.lifecycle import Lifecycle
from amux_tui.engine.meta import RoomMeta
from amux_tui.engine.registry import discover_room_ids, resolve_room_ref
from amux_tui.engine.timeutil import now_rfc3339


def read_room(
    rooms_dir: Path, room_id: str, *, with_transcript: bool = False
) -> tuple[RoomMeta, Hydrated]:
    """Metadata and hydrated state of one room, with closing frames applied in memory."""
    meta = RoomMeta.read(rooms_dir / f"{room_id}.json", room_id)
    hydrated = hydrate(rooms_dir / f"{room_id}.jsonl", room_id, with_transcript=with_transcript)
    seq = hydrated.state.last_seq
    now = now_rfc3339()
    for frame in hydrated.closing:
        seq += 1
        hydrated.state.apply(frame, seq, hydrated.state.active_segment_id, now)
        if hydrated.transcript is not None:
            hydrated.transcript.apply(frame, seq, now)
    return meta, hydrated


def recorded_state(meta: RoomMeta) -> str:
    """A stopped amux has no running agents: a recorded running state reads "not started"."""
    try:
        state = Lifecycle(meta.state)
    except ValueError:
        return meta.state
    return Lifecycle.NOT_STARTED if state.running else state


def agent_label(meta: RoomMeta) -> str:
    agent = meta.agent or {}
    name = agent.get("name")
    return name if isinstance(name, str) and name else "unknown"


def snapshot(meta: RoomMeta, hydrated: Hydrated) -> dict[str, Any]:
    """The debug snapshot of SPEC §5.5."""
    state = hydrated.state
    out: dict[str, Any] = {
        "roomId": meta.room_id,
        "title": state.title or meta.title,
        "agent": meta.agent or None,
        "cwd": meta.cwd or None,
        "state": recorded_state(meta),
    }
    body = state.snapshot()
    if body["acpSessionId"] is None:
        body["acpSessionId"] = meta.acp_session_id
    out.update(body)
    out["badLines"] = hydrated.load.bad_lines
    ordered = [
        "roomId",
        "title",
        "agent",
        "cwd",
        "acpSessionId",
        "state",
        "nextSeq",
        "frameCount",
        "badLines",
        "nextTurnId",
        "nextQueueItemId",
        "activeTurnId",
        "queue",
        "segments",
        "activeSegmentId",
        "compaction",
    ]
    return {key: out[key] for key in ordered}


def ls_row(meta: RoomMeta, hydrated: Hydrated) -> dict[str, Any]:
    state = hydrated.state
    return {
        "roomId": meta.room_id,
        "title": state.title or meta.title,
        "agent": agent_label(meta),
        "cwd": meta.cwd or None,
        "state": recorded_state(meta),
        "frames": state.frame_count,
        "segments": len(state.segments),
        "compactions": state.compaction.count,
        "compacting": state.compaction.active,
        "lastActivity": state.last_recorded_at or meta.last_active,
    }


def find_room_id(rooms_dir: Path, ref: str) -> str | None:
    """Resolve a ROOM argument: id, exact title, or unique prefix of either."""
    ids = discover_room_ids(rooms_dir)
    titles = {rid: RoomMeta.read(rooms_dir / f"{rid}.json", rid).title for rid in ids}
    return resolve_room_ref(ref, titles, {rid: rid for rid in ids})
