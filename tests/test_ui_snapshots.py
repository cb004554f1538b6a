"""SVG snapshots of the main screens (``pytest --snapshot-update`` regenerates them).

Deterministic by construction: a fixed clock for recorded frames, UTC, a fixed cwd, frozen
spinners and cursor, agents shown only after their turns settle (or while the demo agent is
held inside a compaction by ``AMUX_DEMO_GATE``), no auto-detected agents in the dialog, and
each screen taken once everything recorded has been handed to the app (``shown``), never
after a delay.
"""

from __future__ import annotations

import time

import pytest
from test_ui_support import (
    SIZE,
    add_demo_rooms,
    open_engine,
    send,
    shown,
    wait_for,
    wait_idle,
    wait_ready,
)

from amux_tui.engine import config as config_module
from amux_tui.engine import store
from amux_tui.ui.app import AmuxApp
from amux_tui.ui.notify import Notifier
from amux_tui.ui.screens.help import HelpScreen
from amux_tui.ui.screens.new_room import NewRoomScreen

FIXED_NS = 1_780_000_000_000_000_000  # 2026-05-28T20:26:40Z


@pytest.fixture(autouse=True)
def _deterministic(monkeypatch):
    monkeypatch.setattr(store, "_time_ns", lambda: FIXED_NS)
    monkeypatch.setattr(config_module, "WELL_KNOWN", ())
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _quiet() -> Notifier:
    return lambda title, reason: None


def _app(*titles: str, mode: str = "single") -> tuple[AmuxApp, list]:
    engine = open_engine()
    rooms = add_demo_rooms(engine, *titles)
    engine.layout.mode = mode
    return AmuxApp(engine, notifier=_quiet(), motion=False), rooms


def test_snapshot_single_layout_mid_conversation(snap_compare):
    app, (room, *_rest) = _app("api-server", "frontend", "docs")

    async def run_before(pilot) -> None:
        await wait_ready(pilot, room)
        await send(pilot, "hello")
        await wait_idle(pilot, room)
        await send(pilot, "/tool")
        await wait_idle(pilot, room)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_tiled_layout(snap_compare):
    app, rooms = _app("api-server", "frontend", "docs", "infra", mode="tiled")

    async def run_before(pilot) -> None:
        for room in rooms[:2]:
            await pilot.app.activate(room)
            await wait_ready(pilot, room)
        rooms[1].prompt("/plan")
        await send(pilot, "hello")
        for room in rooms[:2]:
            await wait_idle(pilot, room)
        await wait_for(pilot, lambda: all(r.loaded for r in rooms), what="all hydrated")
        await shown(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_permission_prompt(snap_compare):
    app, (room,) = _app("needs-you")

    async def run_before(pilot) -> None:
        await wait_ready(pilot, room)
        await send(pilot, "/permission 2")
        await wait_for(pilot, lambda: len(room.pending_permissions) == 2, what="two requests")
        await wait_for(pilot, lambda: pilot.app.current_pane.permission.display, what="panel shown")
        await pilot.press("ctrl+g")  # its own key: focused, its answer keys apply
        await shown(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_compacting_badge(snap_compare, monkeypatch, tmp_path):
    # The gate file never exists: the demo agent holds the compaction open until shutdown.
    monkeypatch.setenv("AMUX_DEMO_GATE", str(tmp_path / "never"))
    app, (room,) = _app("long-session")

    async def run_before(pilot) -> None:
        await wait_ready(pilot, room)
        await send(pilot, "/compact")
        await wait_for(pilot, lambda: room.compacting, what="compacting")
        await shown(pilot)
        assert room.compacting

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_new_room_dialog(snap_compare):
    app, (room,) = _app("first")

    async def run_before(pilot) -> None:
        await wait_ready(pilot, room)
        await pilot.press("ctrl+b", "c")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, NewRoomScreen), what="dialog")
        await shown(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_help_screen(snap_compare):
    app, (room,) = _app("first")

    async def run_before(pilot) -> None:
        await wait_ready(pilot, room)
        await pilot.press("ctrl+b", "question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="help")
        await shown(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
