"""JSON-RPC 2.0 line framing for ACP over stdio (SPEC §3.1).

One JSON object per line. Every line keeps its raw bytes: the replay log records what the
agent actually sent, and only frames amux changes are re-encoded. Classification is by keys
(``id`` + ``method`` = request, ``method`` only = notification, ``id`` + ``result``/``error``
= response); anything else is an :attr:`Kind.INVALID` frame that carries the reason, never
an exception.
"""

from __future__ import annotations

import enum
import json
import re
import signal
from collections.abc import Callable
from time import perf_counter
from typing import Any

import msgspec

__all__ = [
    "AgentExited",
    "Frame",
    "Kind",
    "RpcError",
    "encode",
    "invalid_utf8_at",
    "parse_line",
]

JSONRPC_VERSION = "2.0"

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode

# How much of an offending line is quoted in a problem message.
_QUOTE = 80

_SURROGATE = re.compile("[\ud800-\udfff]")


class Kind(enum.StrEnum):
    """What a line on the wire is, judged by its keys."""

    REQUEST = "request"
    NOTIFICATION = "notification"
    RESPONSE = "response"
    INVALID = "invalid"


class Frame(msgspec.Struct):
    """One line read from the agent.

    Attributes:
        raw: The line exactly as received, without the trailing ``\\n`` (and ``\\r``).
            For a line longer than the reader's limit only its first bytes are kept.
        kind: The classification.
        msg: The decoded JSON object, ``None`` when ``kind`` is INVALID.
        problem: Why the line is INVALID (``None`` otherwise).
        strict: ``raw`` decoded with msgspec as it is (not through the stdlib fallback):
            one UTF-8 JSON value that msgspec reads back, as the replay log needs.
    """

    raw: bytes
    kind: Kind
    msg: dict[str, Any] | None = None
    problem: str | None = None
    strict: bool = False

    @property
    def method(self) -> str | None:
        """The method of a request or notification."""
        if self.msg is None:
            return None
        method = self.msg.get("method")
        return method if isinstance(method, str) else None

    @property
    def id(self) -> Any:
        """The id, echoed verbatim (may be ``0``, a string or ``None``)."""
        return None if self.msg is None else self.msg.get("id")

    @property
    def params(self) -> dict[str, Any]:
        """The params object; ``{}`` when absent or not an object."""
        if self.msg is None:
            return {}
        params = self.msg.get("params")
        return params if isinstance(params, dict) else {}

    @property
    def result(self) -> Any:
        """The ``result`` of a response (``None`` if absent)."""
        return None if self.msg is None else self.msg.get("result")

    @property
    def error(self) -> Any:
        """The ``error`` of a response; ``None`` for a success (also for ``"error": null``)."""
        return None if self.msg is None else self.msg.get("error")


def _quote(raw: bytes) -> str:
    text = raw[:_QUOTE].decode("utf-8", errors="replace")
    return repr(text) + ("…" if len(raw) > _QUOTE else "")


def _scrub(value: Any) -> Any:
    """Replace lone surrogates (from ``\\ud83d``-style escapes) with U+FFFD, recursively.

    They cannot be encoded to UTF-8 again, so leaving them would break whoever renders or
    re-encodes the message later.
    """
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    return value


def invalid_utf8_at(data: bytes | bytearray | memoryview) -> int | None:
    """Offset of the first byte that is not valid UTF-8, or None when all of it is.

    Checked explicitly rather than inferred from a decoder's exception: msgspec before
    0.23 raised ``UnicodeDecodeError`` for bad UTF-8, 0.23 raises ``msgspec.DecodeError``.
    """
    try:
        str(data, "utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _decode_json(raw: bytes) -> tuple[Any, bool]:
    """Decode with msgspec; fall back to the stdlib for what msgspec refuses but is JSON.
    Returns the value and whether msgspec decoded it.

    msgspec rejects lone surrogate escapes and integers beyond 64 bits, both of which are
    valid JSON that real agents emit (e.g. a JS agent slicing a string mid-emoji).
    """
    try:
        return _decode(raw), True
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as first:
        try:
            value = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            raise first from None
        return _scrub(value), False


def _invalid(raw: bytes, problem: str) -> Frame:
    return Frame(raw=raw, kind=Kind.INVALID, msg=None, problem=problem)


def _valid_id(value: Any) -> bool:
    # bool is an int subclass; True would silently match our pending id 1.
    return value is None or (isinstance(value, (int, float, str)) and not isinstance(value, bool))


def parse_line(raw: bytes) -> Frame:
    """Classify one line from the agent. Never raises.

    ``jsonrpc`` is not required (some agents omit it), but a present, wrong value makes the
    line INVALID. A response with both ``result`` and a non-null ``error`` counts as an error.

    Args:
        raw: One line, with or without its trailing newline.

    Returns:
        The frame; ``kind`` is INVALID (with ``problem`` set) for anything that is not a
        JSON-RPC request, notification or response.
    """
    raw = bytes(raw)
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    try:
        msg, strict = _decode_json(raw)
    except Exception as exc:  # parse_line must never raise, whatever the decoder does
        # Only decoding failures pay for the UTF-8 scan; valid lines went through msgspec,
        # which validates every string it builds.
        bad = invalid_utf8_at(raw)
        if bad is not None:
            return _invalid(raw, f"not JSON: invalid UTF-8 at byte {bad}")
        if isinstance(exc, msgspec.DecodeError | RecursionError):
            return _invalid(raw, f"not JSON: {exc}: {_quote(raw)}")
        return _invalid(raw, f"not JSON: {type(exc).__name__}: {exc}")

    if not isinstance(msg, dict):
        return _invalid(raw, f"not a JSON-RPC object: top-level {type(msg).__name__}")
    if "jsonrpc" in msg and msg["jsonrpc"] != JSONRPC_VERSION:
        return _invalid(raw, f"not a JSON-RPC 2.0 object: jsonrpc={msg['jsonrpc']!r}")
    has_id = "id" in msg
    if has_id and not _valid_id(msg["id"]):
        return _invalid(raw, f"invalid id: {msg['id']!r}")
    if "method" in msg:
        if not isinstance(msg["method"], str):
            return _invalid(raw, f"invalid method: {msg['method']!r}")
        kind = Kind.REQUEST if has_id else Kind.NOTIFICATION
        return Frame(raw=raw, kind=kind, msg=msg, strict=strict)
    if "result" in msg or "error" in msg:
        if not has_id:
            return _invalid(raw, "response without id")
        return Frame(raw=raw, kind=Kind.RESPONSE, msg=msg, strict=strict)
    return _invalid(raw, "not a JSON-RPC object: no method, result or error")


def encode(msg: dict[str, Any]) -> bytes:
    """Encode one message as a wire line (compact JSON plus ``\\n``).

    Raises:
        TypeError: If ``msg`` holds something JSON cannot represent.
    """
    return _encode(msg) + b"\n"


class LineSplitter:
    """Splits a byte stream into lines, bounding memory per line.

    A line longer than ``limit`` keeps only its first ``head`` bytes and reports how many
    bytes were dropped, so one endless line cannot exhaust memory or desynchronise the
    stream: the next line starts after the next newline.

    Args:
        limit: Longest line (bytes, without the newline) passed on whole.
        head: How much of a longer line is kept (at most ``limit``).
        emit: Called with ``(line, over)`` per line, where ``over`` is the number of bytes
            dropped beyond the kept head (0 for a whole line).
    """

    __slots__ = ("_limit", "_head", "_emit", "_buf", "_over")

    def __init__(self, limit: int, head: int, emit: Callable[[bytes, int], None]) -> None:
        self._limit = limit
        self._head = min(head, limit)
        self._emit = emit
        self._buf = bytearray()
        self._over = 0  # bytes of the current line beyond what _buf kept

    def feed(self, data: bytes, start: int = 0, deadline: float | None = None) -> int:
        """Consume ``data[start:]``, emitting every line it completes.

        With a ``deadline`` (a ``time.perf_counter()`` value) it stops after the first line
        emitted past it and returns where the rest begins (``len(data)`` when all was
        consumed), so a caller can bound the work done per call and feed the rest later.
        """
        end = len(data)
        while start < end:
            nl = data.find(b"\n", start)
            if nl < 0:
                self._take(data, start, end)
                return end
            if not self._buf and not self._over and nl - start <= self._limit:
                self._emit(data[start:nl], 0)  # common case: the whole line is in this chunk
            else:
                self._take(data, start, nl)
                self._flush()
            start = nl + 1
            if deadline is not None and perf_counter() >= deadline:
                return start
        return end

    def close(self) -> None:
        """End of stream: an unterminated last line still counts."""
        if self._buf or self._over:
            self._flush()

    def _take(self, data: bytes, start: int, stop: int) -> None:
        if self._over:
            self._over += stop - start
            return
        buf = self._buf
        total = len(buf) + (stop - start)
        if total <= self._limit:
            buf += memoryview(data)[start:stop]
            return
        if len(buf) >= self._head:
            del buf[self._head :]
        else:
            buf += memoryview(data)[start : start + self._head - len(buf)]
        self._over = total - len(buf)

    def _flush(self) -> None:
        line, over = bytes(self._buf), self._over
        self._buf.clear()
        self._over = 0
        self._emit(line, over)


class RpcError(Exception):
    """A JSON-RPC error response from the agent.

    Attributes:
        code: The error code (``-32601`` method not found, ``-32000`` auth required, ...).
        message: The agent's message.
        data: Optional extra detail; agents often put the human-readable cause here.
    """

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        self.code = code
        self.message = message
        self.data = data
        super().__init__(code, message, data)

    @classmethod
    def from_error(cls, error: Any) -> RpcError:
        """Build from the ``error`` member of a response, tolerating malformed ones."""
        if not isinstance(error, dict):
            return cls(-32603, "malformed error response", error)
        code = error.get("code")
        if not isinstance(code, int) or isinstance(code, bool):
            code = -32603
        message = error.get("message")
        if not isinstance(message, str):
            message = "" if message is None else str(message)
        return cls(code, message, error.get("data"))

    def to_error(self) -> dict[str, Any]:
        """The JSON-RPC error object (``data`` omitted when ``None``)."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error

    def __str__(self) -> str:
        text = f"{self.message or 'error'} (code {self.code})"
        if self.data is not None:
            detail = self.data if isinstance(self.data, str) else _json_text(self.data)
            text += f": {detail}"
        return text


def _json_text(value: Any) -> str:
    try:
        return _encode(value).decode("utf-8", errors="replace")
    except (TypeError, UnicodeEncodeError, OverflowError):
        return repr(value)


class AgentExited(Exception):
    """The agent process ended (or was never reachable) while something waited on it.

    Attributes:
        returncode: The exit status; negative means killed by that signal; ``None`` if
            unknown (e.g. stdin already closed while the process still runs).
    """

    def __init__(self, returncode: int | None, detail: str | None = None) -> None:
        self.returncode = returncode
        self.detail = detail
        super().__init__(returncode)

    def __str__(self) -> str:
        rc = self.returncode
        if rc is None:
            text = "agent is not running"
        elif rc < 0:
            try:
                name = signal.Signals(-rc).name
            except ValueError:
                name = str(-rc)
            text = f"agent was killed by signal {name}"
        else:
            text = f"agent exited with code {rc}"
        return f"{text} ({self.detail})" if self.detail else text
