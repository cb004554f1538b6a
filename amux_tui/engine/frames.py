"""The durable frame vocabulary (SPEC §4.1): method names, field names and builders.

Every frame amux emits is a JSON-RPC notification in the ``amux/`` namespace carrying
``params.roomId``. Optional fields are omitted, never ``null`` (except ``stopReason``).
"""

from __future__ import annotations

from typing import Any

JSONRPC = "2.0"
AMUX_NAMESPACE = "amux/"  # methods amux emits; agents may not use it (SPEC §4.1)

# --- amux/* methods -------------------------------------------------------------------
PEER_JOINED = "amux/peer_joined"
PEER_LEFT = "amux/peer_left"
TURN_STARTED = "amux/turn_started"
TURN_COMPLETE = "amux/turn_complete"
TURN_CANCELLED = "amux/turn_cancelled"
TURN_INTERRUPTED = "amux/turn_interrupted"
CONTROL_SUBMITTED = "amux/control_submitted"
QUEUE_ITEM_ADDED = "amux/queue_item_added"
QUEUE_ITEM_SUBMITTED = "amux/queue_item_submitted"
QUEUE_ITEM_COMPLETED = "amux/queue_item_completed"
QUEUE_ITEM_REMOVED = "amux/queue_item_removed"
QUEUE_ITEM_EDITED = "amux/queue_item_edited"
QUEUE_RELEASED = "amux/queue_released"
AGENT_REQUEST_OPENED = "amux/agent_request_opened"
AGENT_REQUEST_RESOLVED = "amux/agent_request_resolved"
SEGMENT_STARTED = "amux/segment_started"
SEGMENT_ENDED = "amux/segment_ended"
COMPACTION_STARTED = "amux/context_compaction_started"
COMPACTION_DONE = "amux/context_compaction_done"
ROOM_RENAMED = "amux/room_renamed"
# amux extensions beyond the acp-mux vocabulary (kept in the log, ignored by older readers)
SESSION_RESUMED = "amux/session_resumed"  # a restarted agent took the same ACP session back
NOTICE = "amux/notice"  # a note for the transcript, e.g. the first-run welcome
AGENT_EXITED = "amux/agent_exited"  # the agent process ended (the compaction process bound)

# --- ACP methods ------------------------------------------------------------------------
INITIALIZE = "initialize"
AUTHENTICATE = "authenticate"
SESSION_NEW = "session/new"
SESSION_LOAD = "session/load"
SESSION_RESUME = "session/resume"
SESSION_LIST = "session/list"
SESSION_PROMPT = "session/prompt"
SESSION_CANCEL = "session/cancel"
SESSION_SET_MODE = "session/set_mode"
SESSION_UPDATE = "session/update"
REQUEST_PERMISSION = "session/request_permission"
CANCEL_REQUEST = "$/cancel_request"

# --- sessionUpdate kinds ------------------------------------------------------------------
USER_MESSAGE_CHUNK = "user_message_chunk"
AGENT_MESSAGE_CHUNK = "agent_message_chunk"
AGENT_THOUGHT_CHUNK = "agent_thought_chunk"
TOOL_CALL = "tool_call"
TOOL_CALL_UPDATE = "tool_call_update"
PLAN = "plan"
AVAILABLE_COMMANDS_UPDATE = "available_commands_update"
CURRENT_MODE_UPDATE = "current_mode_update"
CONFIG_OPTION_UPDATE = "config_option_update"
SESSION_INFO_UPDATE = "session_info_update"
USAGE_UPDATE = "usage_update"
COMPACTION_UPDATE = "compaction_update"

# --- segment end reasons ------------------------------------------------------------------
END_ACP_SESSION_ID_CHANGED = "acp_session_id_changed"
END_SESSION_LOAD = "session_load"
END_RESUME_UNAVAILABLE = "resume_unavailable"
END_HERMES_COMPRESSION = "hermes_compression"

# --- resolvedBy values ----------------------------------------------------------------------
RESOLVED_LOCAL = "local"
RESOLVED_AGENT_CANCELLED = "agent:cancelled"
RESOLVED_TURN_ENDED = "mux:turn-ended"

# --- turn_interrupted reasons ----------------------------------------------------------------
INTERRUPTED_AGENT_EXIT = "agent_exit"
INTERRUPTED_APP_EXIT = "app_exit"

# --- compaction sources ------------------------------------------------------------------
SOURCE_HERMES = "hermes_stderr"
SOURCE_ACP = "acp"
SOURCE_AGENT_TEXT = "agent_text"

LOCAL_PEER = "local"

# --- JSON-RPC error codes -----------------------------------------------------------------
ERR_METHOD_NOT_FOUND = -32601
ERR_INVALID_PARAMS = -32602
ERR_INTERNAL = -32603
ERR_SERVER = -32000  # also "authentication required" and client_tool_blocked

QUEUE_CAP = 6


def is_amux_method(method: Any) -> bool:
    """True for a method in amux's own namespace."""
    return isinstance(method, str) and method.startswith(AMUX_NAMESPACE)


_NOT_AMUX = object()


def amux_room_id(frame: Any) -> Any:
    """The ``params.roomId`` of an ``amux/*`` frame (None when it has none), or
    ``NOT_AMUX`` for any other frame."""
    method = frame.get("method") if type(frame) is dict else None
    if type(method) is not str or not method.startswith(AMUX_NAMESPACE):
        return _NOT_AMUX
    params = frame.get("params")
    room_id = params.get("roomId") if type(params) is dict else None
    return room_id if type(room_id) is str else None


NOT_AMUX = _NOT_AMUX


def made_by_amux(frame: Any, *room_ids: str | None) -> bool:
    """Whether a recorded frame may be applied as one of amux's own (SPEC §4.1).

    Frames outside the ``amux/`` namespace are the agent's and always qualify. An
    ``amux/*`` frame qualifies only when its ``params.roomId`` is one of ``room_ids`` (the
    room's id, and the id its log was written under): amux writes the id on every frame
    it emits, and never sends it to the agent. Since the gate refuses agent notifications
    in the namespace they are no longer recorded at all; this rule keeps the ones an older
    amux recorded verbatim (which carry no or another ``roomId``) from coming back as
    amux's own after a restart.
    """
    room_id = amux_room_id(frame)
    return room_id is NOT_AMUX or (room_id is not None and room_id in room_ids)


def notification(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """A JSON-RPC notification envelope."""
    return {"jsonrpc": JSONRPC, "method": method, "params": params}


def amux_frame(method: str, room_id: str, **fields: Any) -> dict[str, Any]:
    """An ``amux/*`` frame; ``None`` values are omitted (SPEC §4: never ``null``)."""
    params: dict[str, Any] = {"roomId": room_id}
    for key, value in fields.items():
        if value is not None:
            params[key] = value
    return notification(method, params)


def turn_complete(
    room_id: str, turn_id: str, stop_reason: str | None, error: Any = None
) -> dict[str, Any]:
    """``amux/turn_complete``: ``stopReason`` is the one field that may be ``null``."""
    frame = amux_frame(TURN_COMPLETE, room_id, amuxTurnId=turn_id, error=error)
    frame["params"]["stopReason"] = stop_reason
    return frame


def request_key(request_id: Any) -> Any:
    """A hashable key for an agent request id; ``1`` and ``"1"`` stay distinct (agents use
    numbers, strings and UUIDs, and the two id spaces must not collide)."""
    if isinstance(request_id, (dict, list)):
        return repr(request_id)
    return (type(request_id).__name__, request_id)


def format_id(prefix: str, n: int) -> str:
    """``format_id("at", 3) == "at-3"``."""
    return f"{prefix}-{n}"


def parse_id(value: Any, prefix: str) -> int | None:
    """Number of an id like ``at-3`` (or a bare integer); ``None`` if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.startswith(prefix + "-"):
        tail = value[len(prefix) + 1 :]
        if tail.isdigit():
            return int(tail)
    return None
