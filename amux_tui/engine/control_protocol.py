"""The control protocol: line-delimited JSON over the control socket (README "Scripting amux").

One JSON object per line, UTF-8, in both directions. On connect the server says hello::

    {"event":"hello","amux":"0.1.0","protocol":1,"pid":4242}

A request names its command in ``cmd`` and may carry an ``id`` (echoed in the answer)::

    {"cmd":"send","room":"B","text":"hello","wait":true,"id":7}

Every request gets exactly one answer, ``{"ok":true,…}`` or
``{"ok":false,"error":{"code":…,"message":…}}``; ``watch`` and ``send`` with ``wait``
then stream events (``{"event":…}``) until their end event. Requests on one connection
are handled in order. This module is the vocabulary: commands and their fields (checked
strictly, so a typo is an error rather than ignored), error codes, limits, outcomes.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

PROTOCOL_VERSION = 1

# ---- limits ---------------------------------------------------------------------------
MAX_REQUEST_LINE = 8 << 20  # bytes of one request line (a prompt piped from a file fits)
MAX_CLIENTS = 32  # connections at once; more are answered "too_many_clients" and closed
WATCH_BUFFER_LIMIT = 4 << 20  # unsent bytes a watcher may fall behind before it is dropped
DROP_GRACE = 5.0  # seconds a dropped watcher gets to read its last lines before the abort
MAX_REPLY = 16 << 20  # characters of an agent reply kept for ``send --wait``

# ---- error codes ------------------------------------------------------------------------
BAD_JSON = "bad_json"  # the line is not one JSON object
BAD_REQUEST = "bad_request"  # a field is missing, unknown or of the wrong type
UNKNOWN_COMMAND = "unknown_command"
LINE_TOO_LONG = "line_too_long"  # the connection is closed after this one
NO_ROOM = "no_room"  # ROOM matches no room, or more than one
REFUSED = "refused"  # the room cannot do it now (queue full, nothing to send, failed agent…)
FORBIDDEN = "forbidden"  # another user: refused by peer credentials
TOO_MANY_CLIENTS = "too_many_clients"
INTERNAL = "internal"  # a bug in amux; the app log has the traceback

# ---- how a followed turn ended (``send --wait``) ------------------------------------------
END_TURN = "end_turn"
CANCELLED = "cancelled"  # cancelled, steered away, or removed from the queue before it ran
REFUSED_TURN = "refused"  # stopReason "refusal"
LIMIT = "limit"  # max_tokens, max_turn_requests or another early stop
ERROR = "error"  # the agent answered the prompt with an error
INTERRUPTED = "interrupted"  # the agent exited, the room was closed, or amux quit


def turn_outcome(stop_reason: Any, error: Any) -> str:
    """The outcome of a turn from its ``amux/turn_complete`` fields."""
    if error is not None or stop_reason is None:
        return ERROR
    if stop_reason == "end_turn":
        return END_TURN
    if stop_reason == "cancelled":
        return CANCELLED
    if stop_reason == "refusal":
        return REFUSED_TURN
    return LIMIT


# ---- requests -------------------------------------------------------------------------------
RequestId = int | str | None


class _Request(msgspec.Struct, forbid_unknown_fields=True, tag_field="cmd", kw_only=True):
    id: RequestId = None


class Ping(_Request, tag="ping"):
    """Is amux there? Answer: ``{"ok":true}``."""


class Ls(_Request, tag="ls"):
    """Every room with its live state. Answer: ``{"ok":true,"rooms":[row…]}``."""


class Show(_Request, tag="show"):
    """One room's live debug snapshot. Answer: ``{"ok":true,"room":{…}}``."""

    room: str


class New(_Request, tag="new"):
    """Create a room (focused unless ``background``). Answer: ``roomId``, ``title``."""

    agent: str | None = None
    command: str | None = None
    cwd: str | None = None
    title: str | None = None
    background: bool = False


class Send(_Request, tag="send"):
    """Send or queue a prompt. Answer: ``result`` (sent|queued), ``turnId``/``queueItemId``;
    with ``wait`` then ``{"event":"settled",…}`` when that turn ends."""

    room: str
    text: str
    wait: bool = False


class Watch(_Request, tag="watch"):
    """Follow a room: a snapshot, recorded frames (``history``), then live frames."""

    room: str
    # "turn": from the latest turn's start; "all": the whole log; N: the last N records.
    history: Literal["turn", "all"] | int = "turn"


class Rename(_Request, tag="rename"):
    room: str
    title: str


class Close(_Request, tag="close"):
    """Stop the room's agent and archive its files. Answer: ``archive`` (a path)."""

    room: str


class Cancel(_Request, tag="cancel"):
    """Cancel the room's running turn. Answer: ``cancelled`` (false: nothing ran)."""

    room: str


Request = Ping | Ls | Show | New | Send | Watch | Rename | Close | Cancel
COMMANDS: frozenset[str] = frozenset(
    str(cls.__struct_config__.tag)
    for cls in (Ping, Ls, Show, New, Send, Watch, Rename, Close, Cancel)
)


class ProtocolError(Exception):
    """A request that cannot be served; becomes ``{"ok":false,"error":{code,message}}``."""

    def __init__(self, code: str, message: str, request_id: RequestId = None) -> None:
        super().__init__(message)
        self.code = code
        self.request_id = request_id


_decode_any = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


def parse_request(line: bytes) -> Request:
    """One request line → a typed request; raises :class:`ProtocolError` saying what is wrong."""
    try:
        obj = _decode_any(line)
    except msgspec.DecodeError as exc:
        raise ProtocolError(BAD_JSON, f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(BAD_JSON, "a request is one JSON object per line")
    request_id = obj.get("id")
    if not isinstance(request_id, int | str) or isinstance(request_id, bool):
        request_id = None
    cmd = obj.get("cmd")
    if not isinstance(cmd, str):
        raise ProtocolError(BAD_REQUEST, 'missing "cmd" (a string)', request_id)
    if cmd not in COMMANDS:
        known = ", ".join(sorted(COMMANDS))
        raise ProtocolError(
            UNKNOWN_COMMAND, f"unknown command {cmd!r} (known: {known})", request_id
        )
    try:
        request = msgspec.convert(obj, Request)
    except msgspec.ValidationError as exc:
        raise ProtocolError(BAD_REQUEST, f"{cmd}: {exc}", request_id) from None
    if isinstance(request, Watch) and isinstance(request.history, int) and request.history < 0:
        raise ProtocolError(BAD_REQUEST, "watch: history must be >= 0", request_id)
    return request


def encode_line(message: Any) -> bytes:
    """One message as a protocol line (JSON + newline)."""
    return _encode(message) + b"\n"


def ok(request_id: RequestId = None, **fields: Any) -> dict[str, Any]:
    """A success answer (``id`` echoed when the request had one)."""
    out: dict[str, Any] = {"ok": True}
    if request_id is not None:
        out["id"] = request_id
    out.update(fields)
    return out


def failure(code: str, message: str, request_id: RequestId = None) -> dict[str, Any]:
    """An error answer."""
    out: dict[str, Any] = {"ok": False}
    if request_id is not None:
        out["id"] = request_id
    out["error"] = {"code": code, "message": message}
    return out
