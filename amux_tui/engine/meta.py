"""Room metadata (``<roomId>.json``) and layout (``layout.json``), written atomically (SPEC §5.1)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import msgspec

from amux_tui.engine.lifecycle import Lifecycle
from amux_tui.engine.summary import well_formed
from amux_tui.private import read_private

HISTORY_LIMIT = 200
META_LIMIT = 16 << 20  # a metadata file is a few KiB: anything this big is not one
CORRUPT_SUFFIX = ".corrupt"

logger = logging.getLogger("amux.meta")


@dataclass
class RoomMeta:
    """What a room needs beyond its log: who runs it, where, and the user's unsent work."""

    room_id: str
    title: str
    agent: dict[str, Any] = field(default_factory=dict)  # {name, command, args, envKeys}
    cwd: str = ""
    acp_session_id: str | None = None
    created_at: str | None = None
    last_active: str | None = None
    draft: str = ""
    history: list[str] = field(default_factory=list)
    queue_held: bool = False
    status: str = Lifecycle.NOT_STARTED.value  # the room's status when last saved
    exit_code: int | None = None
    # What `ls`/`show` need from the log, and which log it describes (engine/summary.py);
    # well formed or None (a malformed one is dropped when read)
    summary: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, room_id: str, data: Any) -> RoomMeta:
        """Lenient: unknown keys are ignored and wrong types fall back to defaults."""
        return cls.parse(room_id, data)[0]

    @classmethod
    def parse(cls, room_id: str, data: Any) -> tuple[RoomMeta, list[str]]:
        """Like :meth:`from_json`, also naming the fields that had to fall back."""
        meta = cls(room_id=room_id, title=room_id)
        if not isinstance(data, dict):
            return meta, ["not a JSON object"]
        if "status" not in data and "state" in data:  # the key's name before 0.2
            data = {**data, "status": data["state"]}
        defaults = {f.name: getattr(meta, f.name) for f in fields(cls)}
        wrong: list[str] = []
        for name, default in defaults.items():
            if name == "room_id" or name not in data:
                continue
            value = data[name]
            if name == "summary":  # a cache: one amux cannot use is dropped, not a problem
                meta.summary = value if well_formed(value) else None
                continue
            if default is None:
                want = _OPTIONAL_TYPES[name]
                ok = value is None or (isinstance(value, want) and not isinstance(value, bool))
            else:
                ok = isinstance(value, type(default)) and (
                    not isinstance(value, bool) or isinstance(default, bool)
                )
            if ok:
                setattr(meta, name, value)
            else:
                wrong.append(name)
        if not all(isinstance(h, str) for h in meta.history):
            wrong.append("history")
        meta.history = [h for h in meta.history if isinstance(h, str)][-HISTORY_LIMIT:]
        if not isinstance(meta.title, str) or not meta.title:
            meta.title = room_id
        return meta, [f"{name} has the wrong type" for name in wrong]

    @classmethod
    def read(cls, path: Path, room_id: str) -> RoomMeta:
        """Read ``<roomId>.json``; a missing, corrupt or refused file gives defaults
        (titled by id). :meth:`load` says what was wrong."""
        try:
            return cls.load(path, room_id)[0]
        except OSError:
            return cls(room_id=room_id, title=room_id)

    @classmethod
    def load(cls, path: Path, room_id: str) -> tuple[RoomMeta, str | None]:
        """Read ``<roomId>.json``: the metadata and what was wrong with the file, if anything.

        A missing, unreadable, corrupt or wrong-typed file gives defaults for what could
        not be read (titled by id) and a one-line problem. A file amux refuses to read at
        all (a symlink, FIFO, directory, another user's or writable by others) raises
        :class:`~amux_tui.private.UnsafePath`.
        """
        try:
            data = json.loads(read_private(path, META_LIMIT).decode("utf-8"))
        except FileNotFoundError:
            return cls(room_id=room_id, title=room_id), "is missing"
        except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
            return cls(room_id=room_id, title=room_id), f"is corrupt ({exc})"
        meta, wrong = cls.parse(room_id, data)
        return meta, "; ".join(wrong) or None

    @property
    def launchable(self) -> bool:
        """Whether the metadata says which agent to run (and where)."""
        return bool(self.agent.get("name")) and bool(self.cwd)

    def remember_prompt(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
            del self.history[:-HISTORY_LIMIT]


_OPTIONAL_TYPES: dict[str, type] = {
    "acp_session_id": str,
    "created_at": str,
    "last_active": str,
    "exit_code": int,
}


class Layout(msgspec.Struct):
    """Room order, focused room, layout mode (``single`` | ``tiled``), one-time hints shown."""

    order: list[str] = msgspec.field(default_factory=list)
    focused: str | None = None
    mode: str = "single"
    hints_shown: list[str] = msgspec.field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> Layout:
        """The layout, or the default one when the file is missing or unusable."""
        try:
            data = json.loads(read_private(path, META_LIMIT).decode("utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            logger.warning("layout %s not used: %s", path, exc)
            return cls()
        if not isinstance(data, dict):
            return cls()
        order = (
            [r for r in data.get("order", []) if isinstance(r, str)]
            if isinstance(data.get("order"), list)
            else []
        )
        focused = data.get("focused") if isinstance(data.get("focused"), str) else None
        mode = data.get("mode")
        mode = mode if mode in ("single", "tiled") else "single"
        hints = data.get("hints_shown")
        hints = [h for h in hints if isinstance(h, str)] if isinstance(hints, list) else []
        return cls(order, focused, mode, hints)

    def to_json(self) -> dict[str, Any]:
        return {"order": self.order, "focused": self.focused, "mode": self.mode,
                "hints_shown": self.hints_shown}  # fmt: skip


def keep_corrupt_copy(path: Path) -> Path | None:
    """Copy a metadata file amux could not fully read to ``<name>.corrupt`` (then
    ``.corrupt.2``…) before anything overwrites it; None when there is nothing to copy."""
    try:
        data = read_private(path, META_LIMIT)
    except (OSError, ValueError):
        return None
    n = 1
    while True:
        dest = path.with_name(path.name + CORRUPT_SUFFIX + (f".{n}" if n > 1 else ""))
        try:
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            n += 1
            continue
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        logger.warning("metadata %s could not be fully read; kept a copy as %s", path, dest)
        return dest
