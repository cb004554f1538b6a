"""Attention for rooms off screen (SPEC §1.5): bell + OSC 9 naming the room, never for the
room on screen."""

from __future__ import annotations

from test_ui_support import (
    RecordingNotifier,
    add_demo_rooms,
    open_engine,
    running,
    send,
    wait_for,
    wait_idle,
    wait_ready,
)

from amux_tui.ui.notify import TerminalNotifier, osc9


def test_osc9_strips_control_characters_from_titles():
    assert osc9("a\x07b\x1b]x", "needs permission") == "\x1b]9;amux: ab]x: needs permission\x07"


async def test_background_turn_finishing_rings_bell_and_sends_osc9(monkeypatch, tmp_path):
    gate = tmp_path / "gate"  # the demo agent ends its turns only once this exists
    monkeypatch.setenv("AMUX_DEMO_GATE", str(gate))
    engine = open_engine()
    front, back = add_demo_rooms(engine, "front", "back room")
    written: list[str] = []
    bells: list[int] = []
    async with running(engine) as (app, pilot):
        app.notifier = TerminalNotifier(app, write=written.append)
        app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
        await pilot.press("ctrl+b", "2")
        await wait_ready(pilot, back)
        await send(pilot, "/slow 1")
        await wait_for(pilot, lambda: back.busy, what="back busy")
        await pilot.press("ctrl+b", "1")  # back is no longer visible
        await wait_for(pilot, lambda: app.current_room is front, what="front on screen")
        assert written == [] and bells == []  # nothing yet: back is still busy
        gate.touch()  # now back's turn may finish, off screen
        await wait_idle(pilot, back)
        await wait_for(pilot, lambda: written, what="notification")
        assert written == ["\x1b]9;amux: back room: finished a turn\x07"]
        assert bells == [1]
        assert back.id in app.hub.unread


async def test_background_permission_notifies_and_visible_room_does_not():
    engine = open_engine()
    front, back = add_demo_rooms(engine, "front", "asker")
    notifier = RecordingNotifier()
    async with running(engine, notifier=notifier) as (app, pilot):
        await wait_ready(pilot, front)
        # The visible room finishing a turn: nothing is sent.
        await send(pilot, "hello")
        await wait_idle(pilot, front)
        assert notifier.calls == []
        await app.activate(back)
        await wait_ready(pilot, back)
        back.prompt("/permission")
        await wait_for(pilot, lambda: back.pending_permissions, what="permission in background")
        assert notifier.calls == [("asker", "needs permission")]
        # Visible again: answering it and the turn finishing send nothing more.
        await pilot.press("ctrl+b", "2")
        await wait_for(pilot, lambda: app.current_pane.permission.display, what="panel shown")
        await pilot.press("ctrl+g", "a")
        await wait_idle(pilot, back)
        assert notifier.calls == [("asker", "needs permission")]


async def test_tiled_rooms_are_all_visible_so_nothing_notifies():
    engine = open_engine()
    one, two = add_demo_rooms(engine, "one", "two")
    notifier = RecordingNotifier()
    async with running(engine, notifier=notifier) as (app, pilot):
        await pilot.press("ctrl+b", "z")
        await app.activate(two)
        await wait_ready(pilot, two)
        two.prompt("hello")
        await wait_idle(pilot, two)
        assert notifier.calls == [] and two.id not in app.hub.unread


async def test_notify_off_in_config_marks_unread_but_sends_nothing():
    engine = open_engine()
    engine.config.notify = False
    front, back = add_demo_rooms(engine, "front", "quiet")
    notifier = RecordingNotifier()
    async with running(engine, notifier=notifier) as (app, pilot):
        await app.activate(back)
        await wait_ready(pilot, back)
        back.prompt("hello")
        await wait_idle(pilot, back)
        assert back.id in app.hub.unread
        assert notifier.calls == []
