"""Closed rooms: listing ``rooms/archive/`` and bringing a room back from it.

Closing a room moves its log and metadata to ``archive/<id>-<UTC stamp>/``
(:func:`~amux_tui.engine.store.archive_room`). Reopening moves them back under the same
room id, so the log, the transcript and the recorded ACP session id come back as they
were and the agent resumes its session. Two things can be in the way:

* an open room already has that id (the same room archived twice, or copied homes): the
  room comes back under a fresh id (its log's ``roomId`` params are history, never keys);
* an open room has the same title: the caller renames the reopened one (``title (2)``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Container
from pathlib import Path

import msgspec

from amux_tui.engine.meta import RoomMeta
from amux_tui.engine.store import (
    ARCHIVE_DIR_NAME,
    LOG_SUFFIX,
    META_SUFFIX,
    fsync_dir,
    new_room_id,
    room_id_ok,
    write_json_atomic,
)

__all__ = ["ArchivedRoom", "list_archived", "restore_room", "unique_title"]


class ArchivedRoom(msgspec.Struct, frozen=True):
    """One closed room in the archive."""

    room_id: str
    path: Path  # its archive directory
    meta: RoomMeta
    archived_at: str  # the stamp in the directory name, e.g. ``20261125T101500Z``

    @property
    def title(self) -> str:
        return self.meta.title

    @property
    def log_path(self) -> Path:
        return self.path / f"{self.room_id}{LOG_SUFFIX}"


def _parse_dir(entry: Path) -> tuple[str, str] | None:
    """``<id>-<stamp>[-n]`` → (id, stamp); ids may contain ``-`` themselves."""
    for child in entry.iterdir():
        if child.suffix in (LOG_SUFFIX, META_SUFFIX) and room_id_ok(child.stem):
            rest = entry.name[len(child.stem) + 1 :]
            if entry.name.startswith(child.stem + "-") and rest:
                return child.stem, rest.split("-")[0]
    return None


def list_archived(rooms_dir: Path) -> list[ArchivedRoom]:
    """Every archived room, most recently closed first (unreadable entries skipped)."""
    archive = Path(rooms_dir) / ARCHIVE_DIR_NAME
    out: list[ArchivedRoom] = []
    try:
        entries = [e for e in archive.iterdir() if e.is_dir()]
    except OSError:
        return []
    for entry in entries:
        try:
            parsed = _parse_dir(entry)
        except OSError:
            continue
        if parsed is None:
            continue
        room_id, stamp = parsed
        meta = RoomMeta.read(entry / f"{room_id}{META_SUFFIX}", room_id)
        out.append(ArchivedRoom(room_id, entry, meta, stamp))
    out.sort(key=lambda a: (a.archived_at, a.path.name), reverse=True)
    return out


def restore_room(rooms_dir: Path, archived: ArchivedRoom, taken: Container[str] = ()) -> str:
    """Move an archived room's files back into ``rooms_dir``; returns its room id.

    The id is kept unless an open room (``taken``) or a file in ``rooms_dir`` has it, in
    which case a fresh id is used and the metadata says so. The emptied archive directory
    is removed.

    Raises:
        FileNotFoundError: the archive entry is gone (restored or moved meanwhile).
    """
    rooms_dir = Path(rooms_dir)
    room_id = archived.room_id
    src_log = archived.path / f"{room_id}{LOG_SUFFIX}"
    src_meta = archived.path / f"{room_id}{META_SUFFIX}"
    if not src_log.exists() and not src_meta.exists():
        raise FileNotFoundError(f"{archived.path} holds no room any more")

    def in_use(rid: str) -> bool:
        return rid in taken or any(
            (rooms_dir / f"{rid}{suffix}").exists() for suffix in (LOG_SUFFIX, META_SUFFIX)
        )

    new_id = room_id
    while in_use(new_id):
        new_id = new_room_id(taken)
    if src_log.exists():
        os.rename(src_log, rooms_dir / f"{new_id}{LOG_SUFFIX}")
    meta = archived.meta
    meta.room_id = new_id
    target_meta = rooms_dir / f"{new_id}{META_SUFFIX}"
    if new_id == room_id and src_meta.exists():
        os.rename(src_meta, target_meta)
    else:  # a new id: the metadata file is written anew under it
        write_json_atomic(target_meta, meta.to_json())
        if src_meta.exists():
            os.unlink(src_meta)
    with contextlib.suppress(OSError):  # something else lives there: leave it
        archived.path.rmdir()
    fsync_dir(rooms_dir)
    return new_id


def unique_title(title: str, taken: Container[str]) -> str:
    """``title``, or ``title (2)``, ``title (3)`` … if an open room already has it."""
    if title not in taken:
        return title
    n = 2
    while f"{title} ({n})" in taken:
        n += 1
    return f"{title} ({n})"
