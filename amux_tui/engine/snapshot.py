"""Read-only views of rooms: the debug snapshot (SPEC §5.5) and ``ls`` rows.

One snapshot builder serves ``amux show`` (a room rebuilt from its files) and the TUI's
inspector (a live room, plus live-only fields). Nothing here writes: an unsettled turn's
closing frames are applied in memory only, so ``amux show`` reports what a restarted amux
would see without touching the log.

A room whose metadata holds a summary that describes its log as it is
(:mod:`amux_tui.engine.summary`) is shown and listed from the summary, without reading
the log: :func:`stored_ls_row`, :func:`stored_show`. Hydration (msgspec, the model) is
imported only when a log has to be read, so ``amux ls`` starts quickly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from amux_tui.engine.lifecycle import Lifecycle
from amux_tui.engine.meta import RoomMeta
from amux_tui.engine.rooms_dir import LOG_SUFFIX, META_SUFFIX
from amux_tui.engine.summary import describes, model_row, model_snapshot

if TYPE_CHECKING:
    from amux_tui.engine.hydrate import Hydrated
    from amux_tui.engine.model import RoomModel
    from amux_tui.engine.room import Room


def read_meta(rooms_dir: Path, room_id: str) -> tuple[RoomMeta, str | None]:
    """A room's metadata and what was wrong with its file (never raises for the file:
    one amux refuses to read gives defaults and the reason)."""
    try:
        return RoomMeta.load(rooms_dir / f"{room_id}{META_SUFFIX}", room_id)
    except OSError as exc:
        return RoomMeta(room_id=room_id, title=room_id), str(exc)


def read_room(rooms_dir: Path, room_id: str) -> tuple[RoomMeta, Hydrated]:
    """Metadata and hydrated model of one room, with closing frames applied in memory.

    Raises ``OSError`` (:class:`~amux_tui.private.UnsafePath` included) when the log
    cannot or must not be read."""
    from amux_tui.engine.hydrate import hydrate
    from amux_tui.engine.timeutil import now_rfc3339

    meta, _problem = read_meta(rooms_dir, room_id)
    hydrated = hydrate(rooms_dir / f"{room_id}{LOG_SUFFIX}", room_id)
    model = hydrated.model
    seq = model.state.last_seq
    now = now_rfc3339()
    for frame in hydrated.closing:
        seq += 1
        model.apply(frame, seq, model.state.active_segment_id, now)
    return meta, hydrated


def recorded_status(meta: RoomMeta) -> str:
    """A stopped amux has no running agents: a recorded running state reads "not started"."""
    try:
        status = Lifecycle(meta.status)
    except ValueError:
        return meta.status
    return Lifecycle.NOT_STARTED if status.running else status


def agent_label(meta: RoomMeta) -> str:
    agent = meta.agent or {}
    name = agent.get("name")
    return name if isinstance(name, str) and name else "unknown"


def snapshot(
    meta: RoomMeta,
    model: RoomModel,
    *,
    status: str,
    bad_lines: int,
    live: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The debug snapshot of SPEC §5.5 (``live``: extra fields of a running room)."""
    return _snapshot(meta, model_snapshot(model, bad_lines), status, live)


def _snapshot(
    meta: RoomMeta, part: dict[str, Any], status: str, live: dict[str, Any] | None
) -> dict[str, Any]:
    """The snapshot from the model's part (:func:`~amux_tui.engine.summary.model_snapshot`)."""
    out: dict[str, Any] = {
        "roomId": meta.room_id,
        "title": part["title"] or meta.title,
        "agent": meta.agent or None,
        "cwd": meta.cwd or None,
        "acpSessionId": part["acpSessionId"] or meta.acp_session_id,
        "state": status,
        "nextSeq": part["nextSeq"],
        "frameCount": part["frameCount"],
        "badLines": part["badLines"],
        **part["state"],
    }
    if part.get("foreignAmuxFrames"):
        # amux/* lines amux did not make (an older amux recorded an agent's verbatim)
        out["foreignAmuxFrames"] = part["foreignAmuxFrames"]
    if live is not None:
        out["live"] = live
    return out


def stored_snapshot(meta: RoomMeta, hydrated: Hydrated) -> dict[str, Any]:
    """The snapshot of a room rebuilt from its files (``amux show``)."""
    return snapshot(
        meta, hydrated.model, status=recorded_status(meta), bad_lines=hydrated.load.bad_lines
    )


def room_snapshot(room: Room) -> dict[str, Any]:
    """The snapshot of a live room (the inspector), with what only a running room knows."""
    agent = room.agent
    live = {
        "failure": room.failure,
        "exitCode": room.exit_code,
        "resumeVia": agent.resume_via,
        "invalidStdoutLines": agent.invalid_lines,
        "reservedNotifications": agent.reserved_notifications,
        "replayedUpdates": agent.replayed_updates,
        "writeError": room.write_error,
        "loadError": room.load_error,
        "metadataProblem": room.meta_problem,
        "agentInfo": agent.agent_info or None,
        "pendingPermissions": len(room.pending_permissions),
    }
    load = room.load_result
    return snapshot(
        room.meta,
        room.model,
        status=room.status.value,
        bad_lines=load.bad_lines if load is not None else 0,
        live=live,
    )


def _row(meta: RoomMeta, model: RoomModel, status: str, *, live: bool) -> dict[str, Any]:
    fields = {**model_row(model), "compacting": model.state.compaction.active}
    return _ls_row(meta, fields, status, live=live)


def _ls_row(meta: RoomMeta, fields: dict[str, Any], status: str, *, live: bool) -> dict[str, Any]:
    """An ``ls`` row from the model's part (:func:`~amux_tui.engine.summary.model_row`)."""
    return {
        "roomId": meta.room_id,
        "title": fields["title"] or meta.title,
        "agent": agent_label(meta),
        "cwd": meta.cwd or None,
        "state": status,
        "frames": fields["frames"],
        "segments": fields["segments"],
        "compactions": fields["compactions"],
        "compacting": fields.get("compacting", False),
        "needsYou": fields["needsYou"],
        "queued": fields["queued"],
        "lastActivity": fields["lastActivity"] or meta.last_active,
        "live": live,
    }


def ls_row(meta: RoomMeta, hydrated: Hydrated) -> dict[str, Any]:
    """An ``amux ls`` row of a room rebuilt from its files (amux not running)."""
    return _row(meta, hydrated.model, recorded_status(meta), live=False)


def live_ls_row(room: Room) -> dict[str, Any]:
    """An ``amux ls`` row of a loaded room of the running amux: its status right now."""
    return _row(room.meta, room.model, room.status.value, live=True)


def summary_of(meta: RoomMeta, log_path: Path) -> dict[str, Any] | None:
    """The metadata's log summary if it describes the log at ``log_path`` as it is now."""
    summary = meta.summary  # well formed (RoomMeta drops any other when reading)
    if summary is not None and describes(summary, log_path):
        return summary
    return None


def stored_ls_row(rooms_dir: Path, room_id: str) -> dict[str, Any]:
    """The ``amux ls`` row of a room from its files (amux not running): from its summary
    when that describes the log, else by reading the log. Raises ``OSError`` as
    :func:`read_room`."""
    meta, _problem = read_meta(rooms_dir, room_id)
    summary = summary_of(meta, rooms_dir / f"{room_id}{LOG_SUFFIX}")
    if summary is not None:
        return _ls_row(meta, summary["row"], recorded_status(meta), live=False)
    return ls_row(*read_room(rooms_dir, room_id))


def stored_show(rooms_dir: Path, room_id: str) -> dict[str, Any]:
    """``amux show`` of a room from its files (amux not running): from its summary when
    that describes the log, else by reading the log. Raises ``OSError`` as :func:`read_room`."""
    meta, _problem = read_meta(rooms_dir, room_id)
    summary = summary_of(meta, rooms_dir / f"{room_id}{LOG_SUFFIX}")
    if summary is not None:
        return _snapshot(meta, summary["snapshot"], recorded_status(meta), None)
    return stored_snapshot(*read_room(rooms_dir, room_id))


def unloaded_ls_row(room: Room) -> dict[str, Any] | None:
    """The running amux's ``ls`` row of a room not hydrated yet, from its summary (its log
    is untouched until then); None when the summary does not describe the log."""
    summary = summary_of(room.meta, room.log_path)
    if summary is None:
        return None
    return _ls_row(room.meta, summary["row"], room.status.value, live=True)


def state_label(row: dict[str, Any]) -> str:
    """An ``ls`` row's state and flags in words: ``busy, compacting, needs you, queued 2``."""
    parts = [str(row.get("state"))]
    if row.get("compacting"):
        parts.append("compacting")
    if row.get("needsYou"):
        n = row["needsYou"]
        parts.append("needs you" if n == 1 else f"needs you ({n})")
    if row.get("queued"):
        parts.append(f"queued {row['queued']}")
    return ", ".join(parts)


def find_room_id(rooms_dir: Path, ref: str) -> str | None:
    """Resolve a ROOM argument: id, exact title, or unique prefix of either."""
    from amux_tui.engine.rooms_dir import discover_room_ids, resolve_room_ref

    ids = discover_room_ids(rooms_dir)
    titles = {rid: read_meta(rooms_dir, rid)[0].title for rid in ids}
    return resolve_room_ref(ref, titles, {rid: rid for rid in ids})
