"""What a rooms directory holds: room ids and their files (SPEC §5.1).

Light on purpose (no msgspec, no model): ``amux ls`` imports this to find the rooms.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

__all__ = [
    "LOG_SUFFIX",
    "META_SUFFIX",
    "discover_room_ids",
    "list_room_logs",
    "resolve_room_ref",
    "room_id_ok",
]

LOG_SUFFIX = ".jsonl"
META_SUFFIX = ".json"
LAYOUT_FILE = "layout.json"
_ROOM_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def room_id_ok(room_id: str) -> bool:
    """Whether ``room_id`` is a safe file stem (``^[A-Za-z0-9_-]{1,128}$``)."""
    return isinstance(room_id, str) and _ROOM_ID.fullmatch(room_id) is not None


def list_room_logs(rooms_dir: Path) -> list[str]:
    """Sorted ids of the rooms that have a ``<id>.jsonl`` log (archive excluded).

    Whatever the entry is: a directory, FIFO or symlink in place of a log still names a
    room, whose loading then reports the problem instead of the room vanishing."""
    try:
        entries = list(os.scandir(rooms_dir))
    except FileNotFoundError:
        return []
    ids = []
    for entry in entries:
        name = entry.name
        if name.endswith(LOG_SUFFIX):
            room_id = name[: -len(LOG_SUFFIX)]
            if room_id_ok(room_id):
                ids.append(room_id)
    return sorted(ids)


def discover_room_ids(rooms_dir: Path) -> list[str]:
    """Rooms present on disk: every ``<id>.jsonl`` and every ``<id>.json`` metadata file."""
    ids = set(list_room_logs(rooms_dir))
    try:
        for path in rooms_dir.glob("*" + META_SUFFIX):
            if room_id_ok(path.stem) and path.name != LAYOUT_FILE:
                ids.add(path.stem)
    except OSError:
        pass
    return sorted(ids)


def resolve_room_ref(ref: str, titles: dict[str, str], values: dict[str, Any]) -> Any:
    """Resolve ROOM (id, title, or a unique prefix of either); None when unknown/ambiguous."""
    if ref in values:
        return values[ref]
    exact = [rid for rid, title in titles.items() if title == ref]
    if len(exact) == 1:
        return values[exact[0]]
    prefix = {rid for rid, title in titles.items() if rid.startswith(ref) or title.startswith(ref)}
    if len(prefix) == 1:
        return values[prefix.pop()]
    return None
