"""Room metadata (``<roomId>.json``) and layout (``layout.json``), written atomically (SPEC §5.1)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from amux_tui.engine.lifecycle import Lifecycle

HISTORY_LIMIT = 200


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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, room_id: str, data: Any) -> RoomMeta:
        """Lenient: unknown keys are ignored and wrong types fall back to defaults."""
        meta = cls(room_id=room_id, title=room_id)
        if not isinstance(data, dict):
            return meta
        if "status" not in data and "state" in data:  # the key's name before 0.2
            data = {**data, "status": data["state"]}
        defaults = {f.name: getattr(meta, f.name) for f in fields(cls)}
        for name, default in defaults.items():
            if name == "room_id" or name not in data:
                continue
            value = data[name]
            if default is None or isinstance(value, type(default)):
                setattr(meta, name, value)
        meta.history = [h for h in meta.history if isinstance(h, str)][-HISTORY_LIMIT:]
        if not isinstance(meta.title, str) or not meta.title:
            meta.title = room_id
        return meta

    @classmethod
    def read(cls, path: Path, room_id: str) -> RoomMeta:
        """Read ``<roomId>.json``; a missing or corrupt file gives defaults (titled by id)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        return cls.from_json(room_id, data)

    def remember_prompt(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
            del self.history[:-HISTORY_LIMIT]


@dataclass
class Layout:
    """Room order, focused room, layout mode (``single`` | ``tiled``), one-time hints shown."""

    order: list[str] = field(default_factory=list)
    focused: str | None = None
    mode: str = "single"
    hints_shown: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> Layout:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
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
