"""Session persistence for the demo agent.

Each session lives in ``<state>/sessions/<sessionId>.json``: its cwd, title, timestamps,
mode, the user prompts it has seen and every ``session/update`` payload that belongs to the
conversation, in the order it was sent. That list is what ``session/load`` replays, so a
load after a process restart reproduces exactly what the client saw before.

Files are written atomically (temporary file in the same directory, fsync, rename) so a
crash mid-write (``/crash`` exits with ``os._exit``) never leaves a torn session behind.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from amux_tui.atomic import replace_atomically

# Session ids come from the client on load/resume; anything else could escape the directory.
_SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")

# The updates a real agent replays on session/load: the conversation itself. Ambient
# updates (usage, commands, mode, titles) describe the present, not the history.
REPLAYED_KINDS = frozenset(
    {
        "user_message_chunk",
        "agent_message_chunk",
        "agent_thought_chunk",
        "tool_call",
        "tool_call_update",
        "plan",
    }
)


# The simulated context window: what ``usage_update`` reports.
CONTEXT_SIZE = 200_000
BASE_TOKENS = 8_000  # "system prompt and tools", present even in an empty session
PROMPT_TOKENS = 2_500  # per prompt still in the context


def now_iso() -> str:
    """Current UTC time as ISO 8601 with a ``Z`` suffix (what ACP's ``updatedAt`` uses)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_session_id() -> str:
    """``demo-`` + 12 hex chars from uuid4: unique across processes sharing a state dir."""
    return "demo-" + uuid.uuid4().hex[:12]


class Session(msgspec.Struct, kw_only=True):
    """One demo conversation, as stored on disk."""

    sessionId: str
    cwd: str
    createdAt: str
    updatedAt: str
    title: str | None = None
    mode: str = "default"
    prompts: list[str] = msgspec.field(default_factory=list)
    updates: list[dict[str, Any]] = msgspec.field(default_factory=list)
    # Index into ``updates`` where the context starts after the last compaction; the
    # usage figure only counts what came after it, so compaction visibly frees context.
    contextStart: int = 0
    compactions: int = 0

    def record(self, update: dict[str, Any]) -> None:
        """Keep ``update`` for replay if it is part of the conversation."""
        if update.get("sessionUpdate") in REPLAYED_KINDS:
            self.updates.append(update)

    def used_tokens(self) -> int:
        """A plausible context size in tokens.

        Text counts at ~4 characters per token, plus a fixed cost per prompt (the hidden
        tool results a real agent would carry), from the last compaction on, so a
        compaction visibly frees the window.
        """
        chars = 0
        prompts = 0
        for update in self.updates[self.contextStart :]:
            if update.get("sessionUpdate") == "user_message_chunk":
                prompts += 1
            content = update.get("content")
            if isinstance(content, dict) and isinstance(content.get("text"), str):
                chars += len(content["text"])
        return min(CONTEXT_SIZE, BASE_TOKENS + PROMPT_TOKENS * prompts + chars // 4)


class _Summary(msgspec.Struct, kw_only=True):
    """The fields ``session/list`` needs; msgspec skips the (possibly huge) rest cheaply."""

    sessionId: str
    cwd: str
    updatedAt: str
    title: str | None = None


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Session)
_summary_decoder = msgspec.json.Decoder(_Summary)


class SessionStore:
    """Reads and writes sessions under ``<root>/sessions``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dir = root / "sessions"

    def _path(self, session_id: str) -> Path | None:
        """The file for ``session_id``, or None when the id is not a safe file name."""
        if not _SESSION_ID_RE.match(session_id):
            return None
        return self.dir / f"{session_id}.json"

    def create(self, cwd: str) -> Session:
        """A new empty session (saved at once so it can be resumed even with no prompt)."""
        stamp = now_iso()
        session = Session(sessionId=new_session_id(), cwd=cwd, createdAt=stamp, updatedAt=stamp)
        self.save(session)
        return session

    def load(self, session_id: str) -> Session | None:
        """The stored session, or None when unknown or unreadable."""
        path = self._path(session_id)
        if path is None:
            return None
        try:
            return _decoder.decode(path.read_bytes())
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            return None

    def save(self, session: Session) -> None:
        """Write ``session`` atomically: temp file, fsync, rename."""
        path = self._path(session.sessionId)
        if path is None:  # pragma: no cover - ids are generated or validated before
            raise ValueError(f"unsafe session id {session.sessionId!r}")
        # 0700 like every amux directory: prompts can hold secrets.
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.dir.mkdir(exist_ok=True, mode=0o700)
        replace_atomically(path, _encoder.encode(session))

    def list(self, cwd: str | None = None) -> list[dict[str, Any]]:
        """SessionInfo objects, newest first, optionally only those for ``cwd``."""
        infos: list[_Summary] = []
        try:
            paths = list(self.dir.glob("*.json"))
        except OSError:
            return []
        for path in paths:
            try:
                info = _summary_decoder.decode(path.read_bytes())
            except (OSError, msgspec.DecodeError, msgspec.ValidationError):
                continue  # a foreign or broken file must not hide the others
            if cwd is not None and info.cwd != cwd:
                continue
            infos.append(info)
        infos.sort(key=lambda s: s.updatedAt, reverse=True)
        result: list[dict[str, Any]] = []
        for info in infos:
            entry: dict[str, Any] = {
                "sessionId": info.sessionId,
                "cwd": info.cwd,
                "updatedAt": info.updatedAt,
            }
            if info.title:
                entry["title"] = info.title
            result.append(entry)
        return result
