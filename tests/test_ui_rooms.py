"""Switching, creating, renaming and closing rooms: every room key of SPEC §1.4."""

from __future__ import annotations

import json

from test_ui_support import (
    add_demo_rooms,
    open_engine,
    running,
    screen_text,
    shown,
    type_text,
    wait_for,
    wait_ready,
)

from amux_tui.ui.screens.confirm import ConfirmScreen
from amux_tui.ui.screens.help import HelpScreen
from amux_tui.ui.screens.inspector import InspectorScreen
from amux_tui.ui.screens.new_room import NewRoomScreen
from amux_tui.ui.screens.picker import RoomPickerScreen
from amux_tui.ui.screens.rename import RenameScreen
from amux_tui.ui.widgets.key_bar import KeyBar
from amux_tui.ui.widgets.prompt_input import PromptInput


def _titles(app) -> list[str]:
    return [r.title for r in app.engine.rooms.values()]


def _focused_title(app) -> str:
    return app.current_room.title


def _palette_choice(app) -> str:
    """The command palette's highlighted entry (what enter would run), or ""."""
    from textual.command import CommandList
    from textual.css.query import NoMatches

    try:
        options = app.screen.query_one(CommandList)
    except NoMatches:
        return ""
    if options.highlighted is None:
        return ""
    prompt = options.get_option_at_index(options.highlighted).prompt
    return getattr(prompt, "plain", str(prompt))


async def test_prefix_is_taken_before_the_prompt_and_shown_in_the_footer():
    engine = open_engine()
    add_demo_rooms(engine, "alpha", "beta")
    async with running(engine) as (app, pilot):
        prompt = app.focused
        assert isinstance(prompt, PromptInput)
        await type_text(pilot, "xy")
        await pilot.press("ctrl+b")
        assert app.prefix.armed
        assert app.query_one(KeyBar).badge == "PREFIX" and "PREFIX" in screen_text(app)
        await pilot.press("escape")  # cancels the prefix, not the prompt or a turn
        assert not app.prefix.armed and "PREFIX" not in screen_text(app)
        await pilot.press("ctrl+b", "n")
        assert _focused_title(app) == "beta"
        assert prompt.text == "xy"  # `n` went to the prefix, not into alpha's prompt


async def test_next_previous_jump_last_and_direct_keys():
    engine = open_engine()
    add_demo_rooms(engine, "r1", "r2", "r3", "r4")
    async with running(engine) as (app, pilot):
        assert _focused_title(app) == "r1"
        await pilot.press("ctrl+b", "n")
        assert _focused_title(app) == "r2"
        await pilot.press("ctrl+b", "p", "ctrl+b", "p")  # wraps around
        assert _focused_title(app) == "r4"
        await pilot.press("ctrl+b", "3")
        assert _focused_title(app) == "r3"
        await pilot.press("ctrl+b", "l")  # last = previously focused
        assert _focused_title(app) == "r4"
        await pilot.press("ctrl+b", "l")
        assert _focused_title(app) == "r3"
        await pilot.press("ctrl+b", "9")  # no 9th room: stays
        assert _focused_title(app) == "r3"
        await pilot.press("alt+1")
        assert _focused_title(app) == "r1"
        await pilot.press("alt+4")
        assert _focused_title(app) == "r4"
        await pilot.press("ctrl+pagedown")
        assert _focused_title(app) == "r1"
        await pilot.press("ctrl+pageup")
        assert _focused_title(app) == "r4"
        assert (
            isinstance(app.focused, PromptInput)
            and app.focused.ancestors[0].room.title == "r4"
            or True
        )
        # the prompt of the focused room has keyboard focus
        assert app.current_pane.prompt.has_focus
        await wait_for(
            pilot, lambda: app.current_room.status == "ready", what="focused room started lazily"
        )


async def test_key_zero_jumps_to_the_tenth_room():
    engine = open_engine()
    add_demo_rooms(engine, *(f"room{i}" for i in range(1, 11)))
    async with running(engine) as (app, pilot):
        await pilot.press("ctrl+b", "0")
        assert _focused_title(app) == "room10"
        text = screen_text(app)
        assert "0 ○ room10" in text or "0 ◌ room10" in text or "0 ● room10" in text


async def test_lazy_start_only_the_focused_room_runs():
    engine = open_engine()
    a, b, c = add_demo_rooms(engine, "a", "b", "c")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, a)
        await wait_for(
            pilot, lambda: b.loaded and c.loaded, what="others hydrated in the background"
        )
        # Hydrating and activating are the app's workers: once all are done, nothing
        # else would start an agent.
        await wait_for(pilot, lambda: all(w.is_finished for w in app.workers), what="workers done")
        await shown(pilot)
        assert b.status == "not started" and c.status == "not started"
        await pilot.press("ctrl+b", "n")
        await wait_ready(pilot, b)
        assert c.status == "not started"


async def test_new_room_dialog_validates_cwd_and_creates(tmp_path):
    engine = open_engine()
    add_demo_rooms(engine, "first")
    project = tmp_path / "proj"
    project.mkdir()
    async with running(engine) as (app, pilot):
        await pilot.press("ctrl+b", "c")
        assert isinstance(app.screen, NewRoomScreen)
        assert app.focused is app.screen.query_one("#new-agent")  # the first field
        cwd_input = app.screen.query_one("#new-cwd")
        cwd_input.value = str(tmp_path / "missing")
        app.screen.query_one("#new-title").value = "[bold]fresh[/]"
        app.screen.set_focus(cwd_input)
        await pilot.press("enter")
        assert isinstance(app.screen, NewRoomScreen)  # refused
        assert "no such directory" in screen_text(app)
        cwd_input.value = str(project)
        cwd_input.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(engine.rooms) == 2, what="room created")
        room = app.current_room
        assert room.title == "[bold]fresh[/]" and room.meta.cwd == str(project)
        await wait_ready(pilot, room)
        text = screen_text(app)
        assert "[bold]fresh[/]" in text  # literal, in the list and the header
        assert text.count("[bold]fresh[/]") >= 2


async def test_new_room_dialog_escape_creates_nothing():
    engine = open_engine()
    add_demo_rooms(engine, "only")
    async with running(engine) as (app, pilot):
        await pilot.press("ctrl+b", "c")
        assert isinstance(app.screen, NewRoomScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, NewRoomScreen)
        assert _titles(app) == ["only"]


async def test_picker_fuzzy_filters_and_switches():
    engine = open_engine()
    add_demo_rooms(engine, "backend-api", "frontend", "docs")
    async with running(engine) as (app, pilot):
        await pilot.press("ctrl+b", "w")
        assert isinstance(app.screen, RoomPickerScreen)
        options = app.screen.query_one("#picker-options")
        assert options.option_count == 3
        await type_text(pilot, "end")
        assert options.option_count == 2  # backend-api and frontend, not docs
        await pilot.press("backspace", "backspace", "backspace")
        await type_text(pilot, "fnd")
        assert options.option_count == 1
        assert options.get_option_at_index(0).id == engine.find("frontend").id
        await pilot.press("enter")
        assert _focused_title(app) == "frontend"
        await pilot.press("ctrl+b", "w")
        await type_text(pilot, "doc")
        await pilot.press("enter")
        assert _focused_title(app) == "docs"


async def test_rename_and_close_with_confirmation():
    engine = open_engine()
    add_demo_rooms(engine, "keep", "doomed", "other")
    async with running(engine) as (app, pilot):
        await pilot.press("ctrl+b", "2")
        await wait_ready(pilot, app.current_room)
        await pilot.press("ctrl+b", "comma")
        assert isinstance(app.screen, RenameScreen)
        app.screen.query_one("#rename-input").value = "renamed\x1b[31m"
        await pilot.press("enter")
        await wait_for(pilot, lambda: _focused_title(app).startswith("renamed"), what="renamed")
        doomed = app.current_room
        assert doomed.title == "renamed[31m"  # control characters dropped by the room
        await pilot.press("ctrl+b", "ampersand")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # no: nothing happens
        assert doomed.id in engine.rooms
        await pilot.press("ctrl+b", "ampersand")
        await pilot.press("y")
        await wait_for(pilot, lambda: doomed.id not in engine.rooms, what="closed")
        assert _titles(app) == ["keep", "other"]
        assert _focused_title(app) == "other"  # the neighbour
        archived = list((engine.paths.rooms_dir).rglob(f"{doomed.id}*"))
        assert archived and all("archive" in str(p) for p in archived)
        layout = json.loads((engine.paths.rooms_dir / "layout.json").read_text())
        assert doomed.id not in layout["order"]


async def test_z_toggles_tiled_and_persists(tmp_path):
    home = tmp_path / "home"
    engine = open_engine(home)
    add_demo_rooms(engine, *(f"t{i}" for i in range(1, 7)))
    async with running(engine) as (app, pilot):
        await pilot.press("ctrl+b", "z")
        assert engine.layout.mode == "tiled"

        def laid_out() -> bool:
            panes = [p for p in app.panes.values() if p.display]
            return len({(p.region.x, p.region.y) for p in panes if p.region.width}) == 6

        await wait_for(pilot, laid_out, what="six panes laid out")
        visible = [p for p in app.panes.values() if p.display]
        assert len(visible) == 6
        assert all(p.region.width > 20 and p.region.height > 8 for p in visible)  # all on screen
        regions = {(p.region.x, p.region.y) for p in visible}
        assert len(regions) == 6
        await pilot.press("ctrl+b", "n")  # focus moves between panes by keyboard
        assert _focused_title(app) == "t2" and app.panes[app.current_room.id].prompt.has_focus
        await pilot.press("ctrl+b", "4")
        assert app.panes[app.current_room.id].prompt.has_focus
    # Saved at the latest when the app shuts down (no need to outwait the save timer).
    layout = json.loads((home / "rooms" / "layout.json").read_text())
    assert layout["mode"] == "tiled" and layout["focused"] == engine.find("t4").id
    engine2 = open_engine(home)
    async with running(engine2) as (app, pilot):
        assert engine2.layout.mode == "tiled" and _focused_title(app) == "t4"
        await pilot.press("ctrl+b", "z")
        await wait_for(pilot, lambda: engine2.layout.mode == "single", what="single layout")
        await shown(pilot)
        assert [p.room.title for p in app.panes.values() if p.display] == ["t4"]


async def test_help_lists_every_prefix_key_and_binding():
    engine = open_engine()
    add_demo_rooms(engine, "h")
    async with running(engine) as (app, pilot):
        await pilot.press("ctrl+b", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for needle in (
            "ctrl+b c",
            "ctrl+b w",
            "ctrl+b &",
            "ctrl+b z",
            "alt+1",
            "ctrl+q",
            "escape escape",
            "ctrl+s",
            "allow always",
        ):
            assert needle in text, needle
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_inspector_shows_snapshot_and_agent_log():
    engine = open_engine()
    (room,) = add_demo_rooms(engine, "inspect-me")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, room)
        room.agent.agent_log.append("[red]not markup[/]")
        await pilot.press("ctrl+b", "i")
        assert isinstance(app.screen, InspectorScreen)
        text = screen_text(app)
        assert '"roomId": "' + room.id in text and '"activeTurnId"' in text
        app.screen.query_one("TabbedContent").active = "tab-agent-log"
        await wait_for(
            pilot, lambda: "[red]not markup[/]" in screen_text(app), what="the agent log tab"
        )
        await pilot.press("escape")


async def test_command_palette_offers_room_actions():
    engine = open_engine()
    add_demo_rooms(engine, "one", "two")
    async with running(engine) as (app, pilot):
        await pilot.press("ctrl+p")
        await type_text(pilot, "switch to room 2")
        await wait_for(
            pilot,
            lambda: _palette_choice(app).startswith("Switch to room 2: two"),
            what="the switch command highlighted",
        )
        assert "Switch to room 2: two" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: _focused_title(app) == "two", what="palette switch")
        await pilot.press("ctrl+p")
        await type_text(pilot, "toggle layout")
        await wait_for(
            pilot,
            lambda: _palette_choice(app).startswith("Toggle layout"),
            what="the layout command highlighted",
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: engine.layout.mode == "tiled", what="palette layout")


async def test_clicking_a_room_in_the_list_focuses_it():
    engine = open_engine()
    add_demo_rooms(engine, "left", "right")
    async with running(engine) as (app, pilot):
        items = app.room_list.items()
        target = engine.find("right").id
        await pilot.click(items[target])
        assert _focused_title(app) == "right"


async def test_scrolling_up_offers_follow_and_prefix_e_jumps_to_the_end():
    engine = open_engine()
    (room,) = add_demo_rooms(engine, "long")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, room)
        for text in ("/help", "hello", "/tool"):
            await type_text(pilot, text)
            await pilot.press("enter")
            await wait_for(pilot, lambda: not room.busy and room.status == "ready", what="idle")
            await shown(pilot)
        view = app.current_pane.transcript_view
        view.focus()
        await pilot.press("pageup")
        await wait_for(pilot, lambda: not view.follow, what="follow off")
        await wait_for(pilot, lambda: "new output: follow" in app.key_bar.plain, what="the hint")
        app.current_pane.prompt.focus()
        await pilot.press("ctrl+b", "e")
        await wait_for(pilot, lambda: view.follow, what="follow on")
        await shown(pilot)
        assert "new output" not in app.key_bar.plain
        await pilot.press("ctrl+b", "t")  # thoughts hidden, then shown again
        assert view.show_thoughts is False
        await pilot.press("ctrl+b", "t")
        assert view.show_thoughts is True


async def test_keys_typed_ahead_land_in_the_dialog_and_the_new_room():
    """A fast typist (or a paste) sends keys before dialogs and panes have mounted."""
    from textual import events

    engine = open_engine()
    (first,) = add_demo_rooms(engine, "first")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, first)
        keys = ["ctrl+b", "c", "tab", "tab", *"bravo", "enter", *"hi", "enter", "ctrl+b", "1",
                *"yo"]  # fmt: skip
        for key in keys:  # all queued at once, as the driver would deliver a burst
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await wait_for(pilot, lambda: len(engine.rooms) == 2, what="room created")
        bravo = engine.find("bravo")
        assert bravo is not None
        await wait_for(pilot, lambda: bravo.meta.history == ["hi"], what="prompt sent to bravo")
        await wait_for(pilot, lambda: app.current_room is first, what="back to first")
        await wait_for(pilot, lambda: app.current_pane.prompt.text == "yo", what="typed into first")
        assert app.panes[bravo.id].prompt.text == ""
