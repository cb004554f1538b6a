"""A room's log summary, kept in its metadata so ``amux ls`` and ``show`` need not read logs.

Folding 20 logs of a million records to list them takes seconds, yet what ``ls`` shows
about a log, and the model's part of ``show``, are a few figures the live model already
keeps. The room puts them in ``<roomId>.json`` (:attr:`RoomMeta.summary`) each time it
saves its metadata, taken on the room's loop together with the log's *logical end* (its
size once every record appended so far is written, the 50 ms flusher's buffer included),
so the figures and the end describe the same records.

A reader trusts a summary only for the very log it describes: the file's size must be
``logSize`` and its last line must be the record ``lastSeq`` written at ``lastRecordedAt``
(nanoseconds: another amux run never writes the same pair). Records written after the
summary (amux ran on, or crashed before its next metadata save), buffered records a crash
lost (the log is shorter), a torn write, a repaired or edited log: the size or the last
record differ and the reader folds the log instead. A turn still open is not summarised:
a reader must apply its closing frames (:func:`~amux_tui.engine.hydrate.closing_frames`),
so it reads the log.

The figures are those of the room as a restarted amux would hydrate it: queued prompts
held, no compaction running (SPEC §4.3, §4.6). Light on purpose: ``amux ls`` imports it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amux_tui.private import open_private

if TYPE_CHECKING:
    from amux_tui.engine.model import RoomModel

SUMMARY_VERSION = 1
TAIL_LIMIT = 1 << 20  # a last line longer than this is not looked for: the log is read
# The start of every record amux writes (msgspec encodes Record's fields in this order).
_RECORD_START = re.compile(rb'\{"v":1,"seq":(\d+),"segment_id":\d+,"recorded_at":"([^"\\]*)"')
_TEXT = (str, type(None))
_ROW_KEYS = {"title": _TEXT, "frames": int, "segments": int, "compactions": int,
             "needsYou": int, "queued": int, "lastActivity": _TEXT}  # fmt: skip
_SNAPSHOT_KEYS = {"title": _TEXT, "acpSessionId": _TEXT, "nextSeq": int, "frameCount": int,
                  "badLines": int, "state": dict, "foreignAmuxFrames": int}  # fmt: skip


def model_row(model: RoomModel) -> dict[str, Any]:
    """The model's part of an ``amux ls`` row (compacting aside)."""
    state = model.state
    return {
        "title": model.title,
        "frames": state.frame_count,
        "segments": len(state.segments),
        "compactions": state.compaction.count,
        "needsYou": len(model.pending_permissions()),
        "queued": len(state.public_queue),
        "lastActivity": state.last_activity_at,
    }


def model_snapshot(model: RoomModel, bad_lines: int, *, restarted: bool = False) -> dict[str, Any]:
    """The model's part of ``amux show``; ``restarted``: as a restarted amux would hydrate
    the room (queued prompts held, no compaction running)."""
    state = model.state
    shown = state.snapshot()
    if restarted:
        shown["queue"] = [{**item, "held": True} for item in shown["queue"]]
        shown["compaction"] = {**shown["compaction"], "active": False}
    return {
        "title": model.title,
        "acpSessionId": state.acp_session_id,
        "nextSeq": state.last_seq + 1,
        "frameCount": state.frame_count,
        "badLines": bad_lines,
        "state": shown,
        "foreignAmuxFrames": model.foreign_amux_frames,
    }


def summarize(model: RoomModel, log_end: int | None, bad_lines: int) -> dict[str, Any] | None:
    """The summary of a room whose log ends at ``log_end`` (None: unknown, no summary),
    or None while a turn is open."""
    state = model.state
    if log_end is None or log_end < 0 or state.active_turn_id is not None:
        return None
    return {
        "v": SUMMARY_VERSION,
        "logSize": log_end,
        "lastSeq": state.last_seq,
        "lastRecordedAt": state.last_recorded_at,
        "row": model_row(model),
        "snapshot": model_snapshot(model, bad_lines, restarted=True),
    }


def well_formed(summary: Any) -> bool:
    """Whether ``summary`` (from a metadata file: anything) has the shape amux writes."""
    if not isinstance(summary, dict) or summary.get("v") != SUMMARY_VERSION:
        return False
    numbers = (summary.get("logSize"), summary.get("lastSeq"))
    if not all(type(n) is int and n >= 0 for n in numbers):
        return False
    if not isinstance(summary.get("lastRecordedAt"), str | None):
        return False
    return _typed(summary.get("row"), _ROW_KEYS) and _typed(summary.get("snapshot"), _SNAPSHOT_KEYS)


def _typed(part: Any, keys: dict[str, Any]) -> bool:
    return isinstance(part, dict) and all(
        k in part and isinstance(part[k], t) and not isinstance(part[k], bool)
        for k, t in keys.items()
    )


def describes(summary: dict[str, Any], log_path: Path) -> bool:
    """Whether ``summary`` (well formed) describes the log at ``log_path`` as it is now.

    Never raises for the file: one that cannot or must not be read is not described."""
    try:
        fd = open_private(log_path)
    except FileNotFoundError:
        return summary["logSize"] == 0 and summary["lastSeq"] == 0
    except OSError:
        return False
    try:
        size = os.fstat(fd).st_size
        if size != summary["logSize"]:
            return False
        if size == 0:
            return summary["lastSeq"] == 0
        last = _last_line(fd, size)
    except OSError:
        return False
    finally:
        os.close(fd)
    match = _RECORD_START.match(last) if last is not None else None
    return (
        match is not None
        and int(match[1]) == summary["lastSeq"]
        and match[2].decode("utf-8", "replace") == summary["lastRecordedAt"]
    )


def _last_line(fd: int, size: int) -> bytes | None:
    """The file's last line (it must end with a newline), or None when it does not end
    with one or is longer than ``TAIL_LIMIT``."""
    block = 4096
    while True:
        start = max(0, size - block)
        data = os.pread(fd, size - start, start)
        if not data.endswith(b"\n"):
            return None
        cut = data.rfind(b"\n", 0, len(data) - 1)
        if cut >= 0:
            return data[cut + 1 : -1]
        if start == 0:
            return data[:-1]
        if block >= TAIL_LIMIT:
            return None
        block *= 8
