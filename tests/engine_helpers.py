"""Helpers for engine tests: rooms on the real demo agent, waiting, reading logs."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from amux_tui.engine.config import DEMO_AGENT, AgentSpec
from amux_tui.engine.engine import Engine
from amux_tui.engine.room import Room, RoomSubscriber
from amux_tui.paths import Paths


class Recorder(RoomSubscriber):
    """A subscriber that remembers every frame and status change."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.statuses: list[str] = []

    def room_frame(self, room: Room, frame: dict[str, Any], seq: int, blocks: list[Any]) -> None:
        self.frames.append(frame)

    def room_status(self, room: Room) -> None:
        self.statuses.append(room.status)

    def methods(self, prefix: str = "amux/") -> list[str]:
        return [f["method"] for f in self.frames if f.get("method", "").startswith(prefix)]


def demo_spec(**env: str) -> AgentSpec:
    """The demo agent with extra knobs in its environment."""
    return AgentSpec(
        "demo", DEMO_AGENT.command, DEMO_AGENT.args, env=env, compaction="hermes", source="builtin"
    )


def open_engine(home: Path) -> Engine:
    engine = Engine(Paths.resolve(home))
    engine.open()
    return engine


async def started_room(
    engine: Engine, spec: AgentSpec | None = None, **kw: Any
) -> tuple[Room, Recorder]:
    room = engine.create_room(
        spec or demo_spec(), cwd=kw.pop("cwd", None) or str(engine.paths.rooms_dir.parent), **kw
    )
    rec = Recorder()
    room.subscribe(rec)
    await room.start()
    assert room.status == "ready", room.failure
    return room, rec


async def wait_for(
    pred: Callable[[], bool], timeout: float = 15.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def idle(room: Room, timeout: float = 15.0) -> None:
    """Wait until no turn is active and nothing runnable is queued."""
    await wait_for(
        lambda: not room.busy and not any(not q.held for q in room.queue), timeout, "room idle"
    )


def fill_up(directory: Path) -> Path:
    """Take every byte left on ``directory``'s filesystem (a real full disk); returns the
    filler file, whose removal gives the space back."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    return filler


def log_lines(room: Room) -> list[dict[str, Any]]:
    room.log.flush()
    return [json.loads(line) for line in room.log.path.read_text().splitlines() if line.strip()]


def logged_methods(room: Room, prefix: str = "amux/") -> list[str]:
    return [
        r["frame"].get("method", "")
        for r in log_lines(room)
        if r["frame"].get("method", "").startswith(prefix)
    ]
