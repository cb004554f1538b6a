"""Helpers for control-socket tests: a served engine and an asyncio protocol client."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from engine_helpers import open_engine

from amux_tui.engine.control import ControlServer
from amux_tui.engine.control_socket import addressable
from amux_tui.engine.engine import Engine

READ_TIMEOUT = 30.0  # bounds a failure only


@asynccontextmanager
async def served(home: Path, **server_kw: Any):
    """An opened engine with its control server listening; both stopped at the end."""
    engine = open_engine(home)
    server = ControlServer(engine, **server_kw)
    await server.start()
    try:
        yield engine, server
    finally:
        await server.stop()
        await engine.shutdown()


class Client:
    """One protocol connection, read and written from the test's event loop."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.hello: dict[str, Any] = {}

    @classmethod
    async def open(cls, path: Path, *, hello: bool = True) -> Client:
        with addressable(path) as name:
            reader, writer = await asyncio.open_unix_connection(name, limit=256 << 20)
        client = cls(reader, writer)
        if hello:
            client.hello = await client.read()
        return client

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, cmd: str, **fields: Any) -> None:
        await self.write(json.dumps({"cmd": cmd, **fields}).encode() + b"\n")

    async def read(self, timeout: float = READ_TIMEOUT) -> dict[str, Any]:
        line = await asyncio.wait_for(self.reader.readline(), timeout)
        assert line, "the server closed the connection"
        return json.loads(line)

    async def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        await self.send(cmd, **fields)
        return await self.read()

    async def until(self, pred: Any, timeout: float = READ_TIMEOUT) -> list[dict[str, Any]]:
        """Events read until one satisfies ``pred`` (included)."""
        seen = []
        while True:
            event = await self.read(timeout)
            seen.append(event)
            if pred(event):
                return seen

    async def at_eof(self, timeout: float = READ_TIMEOUT) -> bool:
        """Read what is left; True once the server has closed the connection."""
        while await asyncio.wait_for(self.reader.read(1 << 16), timeout):
            pass
        return True

    async def close(self) -> None:
        self.writer.close()
        with suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


def method(event: dict[str, Any]) -> str | None:
    """The method of a ``frame`` event's frame."""
    frame = event.get("frame")
    return frame.get("method") if isinstance(frame, dict) else None


def ended(event: dict[str, Any]) -> bool:
    return method(event) in ("amux/turn_complete", "amux/turn_interrupted")


def log_records(engine: Engine, room_id: str) -> list[dict[str, Any]]:
    room = engine.rooms[room_id]
    room.log.flush()
    text = room.log.path.read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]
