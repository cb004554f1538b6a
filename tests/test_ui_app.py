"""App-level behaviour: quitting, `amux new`, config problems, hostile titles, restart button."""

from __future__ import annotations

import json

from test_ui_support import (
    SIZE,
    RecordingNotifier,
    add_demo_rooms,
    open_engine,
    running,
    screen_text,
    send,
    shown,
    wait_for,
    wait_idle,
    wait_ready,
)

from amux_tui.engine import frames as F
from amux_tui.engine.config import DEMO_AGENT
from amux_tui.ui.app import AmuxApp
from amux_tui.ui.screens.confirm import ConfirmScreen
from amux_tui.ui.screens.picker import RoomPickerScreen


def _methods(room) -> list[str]:
    return [
        json.loads(line)["frame"].get("method", "")
        for line in room.log_path.read_text().splitlines()
        if line.strip()
    ]


async def test_ctrl_q_quits_at_once_when_nothing_is_busy(tmp_path):
    home = tmp_path / "home"
    engine = open_engine(home)
    (room,) = add_demo_rooms(engine, "calm")
    app = AmuxApp(engine, notifier=RecordingNotifier())
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot, room)
        await pilot.press("ctrl+q")
        assert not isinstance(app.screen, ConfirmScreen)  # no question when nothing is busy
        await wait_for(pilot, lambda: engine.lock is None, what="shut down")
    assert app.return_code == 0
    assert not room.proc.running
    again = open_engine(home)  # the lock was released: the rooms directory opens again
    assert list(again.rooms) == [room.id]
    again.lock.release()


async def test_ctrl_q_asks_when_a_room_is_busy_then_cancels_and_saves(tmp_path):
    home = tmp_path / "home"
    engine = open_engine(home)
    (room,) = add_demo_rooms(engine, "busy one")
    app = AmuxApp(engine, notifier=RecordingNotifier())
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot, room)
        await send(pilot, "/slow 300")  # busy until quitting cancels it
        await wait_for(pilot, lambda: room.busy, what="busy")
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, ConfirmScreen)
        assert "1 room is busy: busy one" in screen_text(app)
        await pilot.press("n")  # stay
        assert not isinstance(app.screen, ConfirmScreen) and room.busy and engine.lock is not None
        await pilot.press("ctrl+q")
        await pilot.press("y")
        await wait_for(pilot, lambda: engine.lock is None, timeout=20, what="shut down")
    methods = _methods(room)
    assert F.TURN_CANCELLED in methods  # the running turn was cancelled, and it settled
    assert methods.index(F.TURN_CANCELLED) < len(methods) - 1
    assert any(
        m in (F.TURN_COMPLETE, F.TURN_INTERRUPTED)
        for m in methods[methods.index(F.TURN_CANCELLED) :]
    )
    assert not room.proc.running


async def test_amux_new_creates_focuses_and_starts_the_room(tmp_path):
    engine = open_engine()
    add_demo_rooms(engine, "existing")
    project = tmp_path / "proj"
    project.mkdir()
    create = {"spec": DEMO_AGENT, "cwd": str(project), "title": "from-cli"}
    async with running(engine, create=create) as (app, pilot):
        room = app.current_room
        assert room.title == "from-cli" and room.meta.cwd == str(project)
        assert list(engine.rooms.values())[-1] is room
        await wait_ready(pilot, room)


async def test_config_problems_are_shown_at_startup(tmp_path, monkeypatch):
    engine = open_engine()
    engine.paths.config_file.parent.mkdir(parents=True, exist_ok=True)
    engine.paths.config_file.write_text("[agents.bad]\nargs = 3\n")
    from amux_tui.engine.config import load_config

    engine.config = load_config(engine.paths.config_file)
    assert engine.config.problems
    async with running(engine) as (app, pilot):
        await wait_for(pilot, lambda: "agents.toml" in screen_text(app), what="problem shown")
        messages = [str(n.message) for n in app._notifications]
        assert any("agents.toml" in m for m in messages), messages
        assert "agents.toml" in screen_text(app)


async def test_hostile_titles_are_shown_literally_and_break_nothing():
    engine = open_engine()
    (a,) = add_demo_rooms(engine, "plain")
    b = engine.create_room(DEMO_AGENT, cwd="/tmp")  # not named by the user: meta has the title
    # As if read from a metadata file written by something else: markup, escapes, newline.
    b.meta.title = "[bold red]evil[/] \x1b[31mred\x07 [@click=app.quit]x[/]\nline2"
    shown_title = "[bold red]evil[/] ?[31mred? [@click=app.quit]x[/] line2"
    async with running(engine) as (app, pilot):
        listed = "2 ○ [bold red]evil[/] ?[3…"
        await wait_for(pilot, lambda: listed in screen_text(app), what="the list")
        assert listed in screen_text(app)  # the list (truncated)
        await pilot.press("ctrl+b", "2")
        await wait_for(pilot, lambda: shown_title in screen_text(app), what="b's header")
        assert app.current_room is b
        header = app.current_pane.query_one(".room-header").render().plain
        assert shown_title in header
        assert shown_title in screen_text(app)
        await pilot.press("ctrl+b", "w")
        await wait_for(pilot, lambda: isinstance(app.screen, RoomPickerScreen), what="picker")
        await shown(pilot)
        assert "[bold red]evil[/] ?[31mred?" in screen_text(app)
        await pilot.press("escape")
        await pilot.press("ctrl+b", "2")
        assert app.is_running


async def test_restart_button_restarts_an_exited_room():
    engine = open_engine()
    (room,) = add_demo_rooms(engine, "crash")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, room)
        await send(pilot, "/crash 7")
        await wait_for(pilot, lambda: room.status == "exited", what="exited")
        banner = app.current_pane.query_one(".failure-banner")
        await wait_for(pilot, lambda: banner.display, what="the restart banner")
        assert room.exit_code == 7
        # The button is made when the banner is first shown: click it once it is drawn.
        await wait_for(pilot, lambda: "Restart (" in screen_text(app), what="the button")
        await pilot.click("#banner-restart")
        await wait_ready(pilot, room)
        await shown(pilot)
        assert not app.current_pane.query_one(".failure-banner").display


async def test_switching_shows_what_a_hidden_room_streamed():
    engine = open_engine()
    front, back = add_demo_rooms(engine, "front", "back")
    async with running(engine) as (app, pilot):
        await pilot.press("ctrl+b", "2")  # mount back's pane, then hide it
        await wait_ready(pilot, back)
        await pilot.press("ctrl+b", "1")
        back.prompt("streamed while hidden")
        await wait_idle(pilot, back)  # the whole turn is recorded, and flushed to the app
        assert "streamed while hidden" not in screen_text(app)
        await pilot.press("ctrl+b", "2")
        await wait_for(
            pilot, lambda: "streamed while hidden" in screen_text(app), what="back's transcript"
        )
        text = screen_text(app)
        assert "streamed while hidden" in text and "Demo reply" in text
