"""ACP wire layer: JSON-RPC line framing and the agent subprocess. Imports nothing of amux."""

from __future__ import annotations

from .framing import AgentExited, Frame, Kind, RpcError, encode, parse_line
from .process import AgentProcess, AgentStartError

__all__ = [
    "AgentExited",
    "AgentProcess",
    "AgentStartError",
    "Frame",
    "Kind",
    "RpcError",
    "encode",
    "parse_line",
]
