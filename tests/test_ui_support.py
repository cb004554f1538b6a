"""Helpers for the UI tests (no tests here): engines on temp homes, waiting, reading the screen.

Every UI test drives the real app with ``App.run_test`` against the real demo agent
subprocess (``AMUX_DEMO_CHUNK_DELAY`` is set small by ``conftest.py``).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.pilot import Pilot

from amux_tui.engine.config import DEMO_AGENT
from amux_tui.engine.engine import Engine
from amux_tui.engine.room import Room
from amux_tui.paths import Paths
from amux_tui.ui.app import AmuxApp

SIZE = (160, 48)


def open_engine(home: Path | None = None) -> Engine:
    """An opened engine on ``home`` (default: ``$AMUX_HOME`` set by conftest)."""
    engine = Engine(Paths.resolve(home))
    engine.open()
    return engine


def add_demo_rooms(engine: Engine, *titles: str, cwd: str = "/tmp") -> list[Room]:
    """Create demo rooms (not started); a fixed cwd keeps screens deterministic."""
    return [engine.create_room(DEMO_AGENT, cwd=cwd, title=title) for title in titles]


class RecordingNotifier:
    """The attention sink, recorded: (title, reason) per notification."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, title: str, reason: str) -> None:
        self.calls.append((title, reason))


@asynccontextmanager
async def running(
    engine: Engine | None = None, **kwargs: Any
) -> AsyncIterator[tuple[AmuxApp, Pilot[Any]]]:
    """Run the app headless at 160x48; always shuts the engine down (agents stopped)."""
    engine = engine or open_engine()
    kwargs.setdefault("notifier", RecordingNotifier())
    app = AmuxApp(engine, **kwargs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        try:
            yield app, pilot
        finally:
            await app.shutdown()


async def wait_for(
    pilot: Pilot[Any], pred: Callable[[], Any], timeout: float = 15.0, what: str = "condition"
) -> None:
    """Let the app run until ``pred()`` is true.

    ``pred`` must describe a state that lasts once reached (a turn ended, a request is
    pending until answered, a dialog is open): polling for a passing state (a badge shown
    for half a second) fails on a slow machine. Hold such states open instead (the demo
    agent's ``AMUX_DEMO_GATE``) or assert on the recorded frames.
    """
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def wait_ready(pilot: Pilot[Any], room: Room, timeout: float = 20.0) -> None:
    await wait_for(
        pilot, lambda: room.status == "ready", timeout, f"{room.title} ready (is {room.status})"
    )


async def wait_idle(pilot: Pilot[Any], room: Room, timeout: float = 20.0) -> None:
    """Ready, no turn running and nothing runnable in the queue; then :func:`shown`."""
    await wait_for(
        pilot,
        lambda: (
            room.status == "ready" and not room.busy and not [q for q in room.queue if not q.held]
        ),
        timeout,
        f"{room.title} idle (is {room.status})",
    )
    await shown(pilot)


async def shown(pilot: Pilot[Any]) -> None:
    """Everything the rooms recorded so far is on screen (a barrier, not a delay).

    Hands the hub's coalesced batch to the app now instead of after its timer, then lets
    the app process the resulting messages and repaint once. After a positive event (a
    frame recorded, a turn ended) this is the moment to assert what is *not* shown.
    """
    pilot.app.hub.flush()
    await pilot.pause()


def screen_text(app: AmuxApp) -> str:
    """What the terminal shows, as plain text (what a user would read)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        record=True,
        color_system=None,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text(styles=False)


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Type ``text`` key by key (spaces and punctuation included)."""
    from textual.keys import _character_to_key

    await pilot.press(*(_character_to_key(ch) if not ch.isalnum() else ch for ch in text))


async def send(pilot: Pilot[Any], text: str) -> None:
    """Type a prompt into the focused prompt and press enter."""
    await type_text(pilot, text)
    await pilot.press("enter")


def logged_frames(room: Room) -> list[dict]:
    """Every frame in the room's log, in order (flushed first)."""
    room.log.flush()
    return [
        json.loads(line)["frame"] for line in room.log_path.read_text().splitlines() if line.strip()
    ]
