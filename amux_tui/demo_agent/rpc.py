"""JSON-RPC vocabulary of the demo agent: error codes, the handler error, request state."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from amux_tui.demo_agent.turn import Turn

# JSON-RPC / ACP error codes.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
AUTH_REQUIRED = -32000
RESOURCE_NOT_FOUND = -32002
REQUEST_CANCELLED = -32800


class RpcError(Exception):
    """An error response for the request being handled."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


class InFlight(msgspec.Struct):
    """A client request being handled."""

    task: asyncio.Task[None] | None = None
    turn: Turn | None = None
    answered: bool = False
    # Work to do right after the response is written (updates sent "outside the turn").
    after: list[Callable[[], None]] = msgspec.field(default_factory=list)
