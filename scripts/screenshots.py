#!/usr/bin/env python
"""Regenerate ``screenshots/*.svg``: the main screens of amux against the demo agent.

Usage: ``python scripts/screenshots.py [--out DIR] [--text]``. Each screen runs the real
app headless at 160x48 on a throw-away ``AMUX_HOME`` with the built-in demo agent, drives
it with keys like a user would, and saves an SVG (``--text`` also prints what is on screen).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from textual.pilot import Pilot  # noqa: E402

from amux_tui.engine import config as config_module  # noqa: E402
from amux_tui.engine import store  # noqa: E402
from amux_tui.engine.config import DEMO_AGENT  # noqa: E402
from amux_tui.engine.engine import Engine  # noqa: E402
from amux_tui.paths import Paths  # noqa: E402
from amux_tui.ui.app import AmuxApp  # noqa: E402

SIZE = (160, 48)
FIXED_NS = 1_780_000_000_000_000_000  # 2026-05-28T20:26:40Z
Scenario = Callable[[Pilot[Any]], Awaitable[None]]


async def until(pilot: Pilot[Any], pred: Callable[[], Any], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise SystemExit("timed out driving the app")
        await pilot.pause(0.02)


async def idle(pilot: Pilot[Any], room: Any) -> None:
    await until(pilot, lambda: room.status == "ready" and not room.busy and not room.queue)
    await pilot.pause(0.2)


async def send(pilot: Pilot[Any], text: str) -> None:
    from textual.keys import _character_to_key

    await pilot.press(*(ch if ch.isalnum() else _character_to_key(ch) for ch in text), "enter")


def rooms(pilot: Pilot[Any]) -> list[Any]:
    return list(pilot.app.engine.rooms.values())  # type: ignore[attr-defined]


async def main_screen(pilot: Pilot[Any]) -> None:
    room = rooms(pilot)[0]
    await until(pilot, lambda: room.status == "ready")
    await send(pilot, "hello")
    await idle(pilot, room)
    await send(pilot, "/tool")
    await idle(pilot, room)
    await send(pilot, "/plan")
    await idle(pilot, room)


async def tiled(pilot: Pilot[Any]) -> None:
    app: Any = pilot.app
    all_rooms = rooms(pilot)
    for room in all_rooms[:3]:
        await app.activate(room)
        await until(pilot, lambda room=room: room.status == "ready")
    all_rooms[1].prompt("/plan")
    all_rooms[2].prompt("/tool")
    await send(pilot, "hello")
    for room in all_rooms[:3]:
        await idle(pilot, room)
    all_rooms[3].ensure_started()
    await until(pilot, lambda: all_rooms[3].status == "ready")
    all_rooms[3].prompt("/permission")
    await until(pilot, lambda: all_rooms[3].pending_permissions)
    await pilot.pause(0.3)


async def permission(pilot: Pilot[Any]) -> None:
    room = rooms(pilot)[0]
    await until(pilot, lambda: room.status == "ready")
    await send(pilot, "/permission 2")
    await until(pilot, lambda: len(room.pending_permissions) == 2)
    await pilot.pause(0.3)


async def commands(pilot: Pilot[Any]) -> None:
    room = rooms(pilot)[0]
    await until(pilot, lambda: room.status == "ready")
    await pilot.press("slash", "p")
    await pilot.pause(0.3)


async def compacting(pilot: Pilot[Any]) -> None:
    room = rooms(pilot)[0]
    await until(pilot, lambda: room.status == "ready")
    await send(pilot, "/compact")
    await until(pilot, lambda: room.compacting)
    await pilot.pause(0.3)


async def new_room(pilot: Pilot[Any]) -> None:
    room = rooms(pilot)[0]
    await until(pilot, lambda: room.status == "ready")
    await pilot.press("ctrl+b", "c")
    await pilot.pause(0.3)


async def help_screen(pilot: Pilot[Any]) -> None:
    room = rooms(pilot)[0]
    await until(pilot, lambda: room.status == "ready")
    await pilot.press("ctrl+b", "question_mark")
    await pilot.pause(0.3)


# name → (scenario, room titles, layout mode, demo chunk delay)
SCREENS: dict[str, tuple[Scenario, tuple[str, ...], str, str]] = {
    "main": (main_screen, ("api-server", "frontend", "docs", "infra"), "single", "0.001"),
    "tiled": (
        tiled,
        ("api-server", "frontend", "docs", "infra", "notes", "scratch"),
        "tiled",
        "0.001",
    ),
    "permission": (permission, ("needs-you", "other"), "single", "0.001"),
    "commands": (commands, ("api-server",), "single", "0.001"),
    "compacting": (compacting, ("long-session",), "single", "1.0"),
    "new-room": (new_room, ("api-server",), "single", "0.001"),
    "help": (help_screen, ("api-server",), "single", "0.001"),
}


def screen_text(app: AmuxApp) -> str:
    console = Console(
        width=SIZE[0], height=SIZE[1], file=io.StringIO(), record=True, color_system=None
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text(styles=False)


def shoot(name: str, out: Path, show_text: bool) -> None:
    scenario, titles, mode, delay = SCREENS[name]
    with tempfile.TemporaryDirectory(prefix="amux-shots-") as home:
        os.environ["AMUX_HOME"] = home
        os.environ["AMUX_DEMO_CHUNK_DELAY"] = delay
        engine = Engine(Paths.resolve(home))
        engine.open()
        for title in titles:
            engine.create_room(DEMO_AGENT, cwd="/tmp", title=title)
        engine.layout.mode = mode
        app = AmuxApp(engine, notifier=lambda title, reason: None, motion=False)

        async def auto_pilot(pilot: Pilot[Any]) -> None:
            await scenario(pilot)
            await pilot.pause(0.2)
            svg = app.export_screenshot(title=f"amux — {name}")
            (out / f"{name}.svg").write_text(svg, encoding="utf-8")
            if show_text:
                print(f"----- {name}\n{screen_text(app)}")
            app.exit()

        app.run(headless=True, size=SIZE, auto_pilot=auto_pilot)
    print(f"wrote {out / (name + '.svg')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "screenshots"), help="output directory")
    parser.add_argument("--text", action="store_true", help="also print each screen as text")
    parser.add_argument(
        "names", nargs="*", choices=[*SCREENS, []], help="screens to shoot (default: all)"
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config_module.WELL_KNOWN = ()  # type: ignore[assignment]  # the dialog looks the same everywhere
    # A fixed clock and zone for recorded frames: regenerating changes nothing that did not change.
    store._time_ns = lambda: FIXED_NS  # type: ignore[assignment]
    os.environ["TZ"] = "UTC"
    time.tzset()
    for name in args.names or SCREENS:
        shoot(name, out, args.text)
    return 0


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    raise SystemExit(main())
