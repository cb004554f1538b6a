"""Display blocks of the transcript view model (see :mod:`amux_tui.engine.transcript`).

Blocks are plain mutable objects with ``__slots__``: the fold updates them in place and
bumps ``version``; the UI re-renders a block when its ``version`` changes. This module also
holds the small, type-tolerant helpers the fold uses to read untrusted frame fields.

Frames are untrusted: every field may be missing or of the wrong type, so the helpers
type-check each access and turn anything unexpected into ``None``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AgentText", "Block", "Divider", "Notice", "Permission", "Plan", "Thought", "ToolCall",
    "TurnEnd", "UserPrompt", "content_placeholder", "prompt_text",
]  # fmt: skip

UNFINISHED = frozenset(("pending", "in_progress"))


class Block:
    """One display unit of the transcript; mutable, re-rendered when ``version`` changes."""

    __slots__ = ("index", "version", "seq", "turn_id")
    kind: str = ""

    def __init__(self, seq: int | None, turn_id: str | None) -> None:
        self.index = -1  # set when appended to Transcript.blocks
        self.version = 0
        self.seq = seq
        self.turn_id = turn_id

    def __repr__(self) -> str:
        return f"<{type(self).__name__} #{self.index} v{self.version} turn={self.turn_id}>"


class TextBlock(Block):
    """A block whose text grows by chunks: appends are O(1), the join is cached."""

    __slots__ = ("message_id", "streaming", "_parts", "_text", "_length")

    def __init__(
        self,
        seq: int | None,
        turn_id: str | None,
        text: str = "",
        message_id: str | int | None = None,
        streaming: bool = False,
    ) -> None:
        super().__init__(seq, turn_id)
        self.message_id = message_id
        self.streaming = streaming
        self._parts = [text] if text else []
        self._text: str | None = text
        self._length = len(text)

    def append(self, chunk: str) -> None:
        """Append a chunk (no copy of the text so far)."""
        self._parts.append(chunk)
        self._text = None
        self._length += len(chunk)

    @property
    def text(self) -> str:
        """The whole text; joined once per change and collapsed so later joins stay cheap."""
        text = self._text
        if text is None:
            text = "".join(self._parts)
            self._parts = [text]
            self._text = text
        return text

    @text.setter
    def text(self, value: str) -> None:
        self._parts = [value] if value else []
        self._text = value
        self._length = len(value)

    def compact(self) -> None:
        """Join the chunks into one string (called when streaming ends, to save memory)."""
        if len(self._parts) > 1:
            _ = self.text

    @property
    def length(self) -> int:
        """Length of ``text`` without joining (lets a streaming view slice off the new tail)."""
        return self._length


class UserPrompt(TextBlock):
    """A prompt: from ``amux/turn_started``, or from ``user_message_chunk`` (no turn)."""

    __slots__ = ("peer_id", "at", "queue_item_id", "supersedes", "steer")
    kind = "prompt"

    def __init__(
        self,
        seq: int | None,
        turn_id: str | None,
        text: str = "",
        *,
        peer_id: str | None = None,
        at: str | None = None,
        queue_item_id: str | None = None,
        supersedes: str | None = None,
        steer: bool = False,
        message_id: str | int | None = None,
    ) -> None:
        super().__init__(seq, turn_id, text, message_id)
        self.peer_id = peer_id
        self.at = at
        self.queue_item_id = queue_item_id
        self.supersedes = supersedes
        self.steer = steer


class AgentText(TextBlock):
    """Agent reply text (Markdown); ``streaming`` until the turn ends or another block starts."""

    __slots__ = ()
    kind = "message"


class Thought(TextBlock):
    """Agent reasoning text, same shape as :class:`AgentText` (shown dim and collapsible)."""

    __slots__ = ()
    kind = "thought"


class ToolCall(Block):
    """An ACP tool call, patched in place by ``tool_call_update``.

    ``ended``: its turn settled while the agent still reported it pending or in progress
    (fast-agent never completes some): it ended without a result. The agent's status is
    kept; a later update with a status clears the mark.
    """

    __slots__ = (
        "tool_call_id",
        "title",
        "tool_kind",
        "status",
        "ended",
        "content",
        "locations",
        "raw_input",
        "raw_output",
    )
    kind = "tool"

    def __init__(self, seq: int | None, turn_id: str | None, tool_call_id: str) -> None:
        super().__init__(seq, turn_id)
        self.tool_call_id = tool_call_id
        self.title = tool_call_id
        self.tool_kind: str | None = None
        self.status = "pending"
        self.ended = False
        self.content: list[dict] = []
        self.locations: list[dict] = []
        self.raw_input: Any = None
        self.raw_output: Any = None

    def patch(self, update: dict) -> None:
        """Apply the fields present in ``update`` (ACP: updates carry only what changed)."""
        title = update.get("title")
        if isinstance(title, str) and title:
            self.title = title
        kind = update.get("kind")
        if isinstance(kind, str):
            self.tool_kind = kind
        status = update.get("status")
        if isinstance(status, str) and status:
            self.status = status
            self.ended = False
        content = dict_items(update.get("content"))
        if content is not None:
            self.content = content
        locations = dict_items(update.get("locations"))
        if locations is not None:
            self.locations = locations
        if "rawInput" in update:
            self.raw_input = update["rawInput"]
        if "rawOutput" in update:
            self.raw_output = update["rawOutput"]
        self.version += 1


class Plan(Block):
    """The turn's plan; each ``plan`` update replaces ``entries`` (same block, new version)."""

    __slots__ = ("entries",)
    kind = "plan"

    def __init__(self, seq: int | None, turn_id: str | None, entries: list[dict]) -> None:
        super().__init__(seq, turn_id)
        self.entries = entries


class Permission(Block):
    """A ``session/request_permission`` asked of the user, with its outcome once resolved."""

    __slots__ = (
        "request_id",
        "title",
        "tool_kind",
        "options",
        "outcome",
        "resolved_by",
        "tool_call",
    )
    kind = "permission"

    def __init__(
        self,
        seq: int | None,
        turn_id: str | None,
        request_id: Any,
        title: str,
        tool_kind: str | None,
        options: list[dict],
        tool_call: dict | None,
    ) -> None:
        super().__init__(seq, turn_id)
        self.request_id = request_id
        self.title = title
        self.tool_kind = tool_kind
        self.options = options
        self.outcome: str | None = None
        self.resolved_by: str | None = None
        self.tool_call = tool_call  # the raw requestParams.toolCall, for a content summary

    @property
    def pending(self) -> bool:
        """True while the request waits for an answer."""
        return self.outcome is None


class TurnEnd(Block):
    """A turn ending worth showing: anything but a plain ``end_turn``."""

    __slots__ = ("stop_reason", "outcome", "reason", "error")
    kind = "turn_end"

    def __init__(
        self,
        seq: int | None,
        turn_id: str | None,
        stop_reason: str | None,
        outcome: str,
        reason: str | None = None,
        error: Any = None,
    ) -> None:
        super().__init__(seq, turn_id)
        self.stop_reason = stop_reason
        self.outcome = outcome
        self.reason = reason
        self.error = error


class Divider(Block):
    """A context boundary: ``resumed``, ``new_session``, ``compaction`` or ``segment``."""

    __slots__ = ("text", "divider_kind")
    kind = "divider"

    def __init__(self, seq: int | None, turn_id: str | None, text: str, divider_kind: str) -> None:
        super().__init__(seq, turn_id)
        self.text = text
        self.divider_kind = divider_kind


class Notice(Block):
    """A one-line event from amux itself (compaction start, cancel, steer, rename, …)."""

    __slots__ = ("text", "level")
    kind = "notice"

    def __init__(
        self, seq: int | None, turn_id: str | None, text: str, level: str = "info"
    ) -> None:
        super().__init__(seq, turn_id)
        self.text = text
        self.level = level


class TurnInfo:
    """Per-turn bookkeeping needed to end a turn (its tools, permissions, cancel reason)."""

    __slots__ = ("tools", "cancel_reason", "ended")

    def __init__(self) -> None:
        self.tools: list[ToolCall] = []
        self.cancel_reason: str | None = None
        self.ended = False

    def finish_tools(self, status: str | None, changed: list[Block]) -> None:
        """Give the turn's unfinished tool calls a final ``status`` (cancel, crash), or mark
        them ended without a result (``None``: the turn settled and they never finished)."""
        for tool in self.tools:
            if tool.status in UNFINISHED and not tool.ended:
                if status is None:
                    tool.ended = True
                else:
                    tool.status = status
                tool.version += 1
                changed.append(tool)


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def dict_items(value: Any) -> list[dict] | None:
    """The dict items of a list (others skipped), or ``None`` if ``value`` is not a list."""
    if not isinstance(value, list):
        return None
    return [item for item in value if isinstance(item, dict)]


def message_id_of(update: dict) -> str | int | None:
    mid = update.get("messageId")
    return mid if isinstance(mid, (str, int)) and not isinstance(mid, bool) else None


def content_placeholder(block: dict) -> str:
    """A short stand-in for a non-text content block, e.g. ``[image]`` or ``[file.py]``."""
    ctype = as_str(block.get("type")) or "content"
    if ctype in ("resource_link", "resource"):
        res = block.get("resource")
        src = res if isinstance(res, dict) else block
        name = as_str(src.get("name")) or as_str(src.get("title")) or as_str(src.get("uri"))
        if name:
            return f"[{name}]"
    return f"[{ctype}]"


def content_text(content: Any) -> str | None:
    """Text of one ACP content block (placeholder if not text); ``None`` if unusable."""
    if isinstance(content, dict):
        if content.get("type") == "text":
            return as_str(content.get("text"))
        return content_placeholder(content)
    return content if isinstance(content, str) else None


def prompt_text(content: Any) -> str:
    """Text of a prompt's content blocks: text blocks concatenated, others summarised."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    out: list[str] = []
    prev_text = False
    for item in content:
        piece = content_text(item)
        if piece is None:
            continue
        is_text = isinstance(item, str) or (isinstance(item, dict) and item.get("type") == "text")
        if out and not (is_text and prev_text):
            out.append("\n")  # keep placeholders on their own line
        out.append(piece)
        prev_text = is_text
    return "".join(out)


def error_message(error: Any) -> str | None:
    """A human line for a JSON-RPC error (Hermes puts the cause in ``data.details``)."""
    if isinstance(error, dict):
        message = as_str(error.get("message"))
        data = error.get("data")
        details = as_str(data.get("details")) if isinstance(data, dict) else as_str(data)
        if message and details:
            return f"{message}: {details}"
        return message or details
    return error if isinstance(error, str) else None


def permission_outcome(perm: Permission, result: Any) -> str:
    """The user's answer: the chosen option's name, or ``cancelled``."""
    outcome = result.get("outcome") if isinstance(result, dict) else None
    if isinstance(outcome, str):
        return outcome
    if not isinstance(outcome, dict):
        return "answered"
    if outcome.get("outcome") == "cancelled":
        return "cancelled"
    option_id = outcome.get("optionId")
    for option in perm.options:
        if option.get("optionId") == option_id:
            name = as_str(option.get("name"))
            if name:
                return name
    return option_id if isinstance(option_id, str) and option_id else "answered"
