"""The key table (ui/keys.py) and what is generated from it: keymap, help, footer, palette."""

from __future__ import annotations

import pytest
from test_ui_support import (
    add_demo_rooms,
    open_engine,
    running,
    screen_text,
    send,
    type_text,
    wait_for,
    wait_ready,
)

from amux_tui.ui.commands import needs_handler
from amux_tui.ui.footer import footer_hints, prefix_hints
from amux_tui.ui.keymap import DEFAULT_KEYMAP, Keymap, KeymapError, expand, spec_display
from amux_tui.ui.keys import BY_ID, COMMANDS, FOOTER_ORDER, FOOTER_TAIL, KeyState, Scope
from amux_tui.ui.palette import AmuxCommands
from amux_tui.ui.screens.help import HelpScreen, help_sections, render_sections


def test_the_table_is_consistent():
    assert len(BY_ID) == len(COMMANDS)  # ids are unique
    assert all(c.name and c.name == c.name.strip() for c in COMMANDS)
    assert set(FOOTER_ORDER) | set(FOOTER_TAIL) <= set(BY_ID)
    for command in COMMANDS:
        assert command.keys or command.prefix, f"{command.id} has no key"
        if command.scope is not Scope.MAIN:
            assert command.action or command.builtin, f"{command.id}: what do its keys run?"


def test_help_shows_every_key_of_the_table():
    text = render_sections(help_sections(DEFAULT_KEYMAP)).plain
    for command in COMMANDS:
        assert command.name in text
        for spec in command.keys:
            assert spec_display(spec) in text, spec
        for spec in command.prefix:
            assert spec_display(spec) in text, spec
    assert "ctrl+b c" in text and "ctrl+b e, end" in text and "alt+1 … alt+9" in text


def test_key_specs_expand_to_families_and_double_presses():
    assert [b.key for b in expand("alt+{1-3}")] == ["alt+1", "alt+2", "alt+3"]
    assert [b.args for b in expand("{0-2}")] == [(0,), (1,), (2,)]
    (twice,) = expand("escape escape")
    assert twice.key == "escape" and twice.twice
    assert spec_display("escape escape", short=True) == "esc esc"
    assert spec_display("{1-9}") == "1–9"
    with pytest.raises(KeymapError):
        expand("ctrl+a b")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keys": {"no_such": ["x"]}}, "no such command"),
        ({"prefix_keys": {"help": ["c"]}}, "bound to both"),
        ({"keys": {"allow_once": ["ctrl+q"]}}, "taken by a main-screen key"),
        ({"prefix": "ctrl+q"}, "also bound"),
        ({"prefix": "escape escape"}, "single key"),
        ({"keys": {"jump": ["f1"]}}, "keep the shape"),
        ({"keys": {"cancel_turn": ["ctrl+x"]}}, "keep the shape"),
        ({"keys": {"focus_next": ["x"]}}, "Textual's own"),
        ({"keys": {"quit": []}}, "at least one key"),
        ({"prefix_keys": {"help": ["escape"]}}, "cancels it"),
        ({"keys": {"quit": ["Q"]}}, "types text"),
        ({"keys": {"newline": ["space"]}}, "types text"),
        ({"prefix": "x"}, "types text"),
        ({"keys": {"quit": ["ctrl+shfit+q"]}}, "not a key name"),
        ({"prefix": "ctlr+a"}, "not a key name"),
    ],
)
def test_keymap_refuses_what_cannot_work(kwargs, message):
    with pytest.raises(KeymapError, match=message):
        Keymap(**kwargs)


def test_keymap_rebinds_by_textual_binding_id():
    keymap = Keymap(prefix="ctrl+a", keys={"release_queue": ["ctrl+t"], "jump": ["ctrl+{1-9}"]})
    textual = keymap.textual_keymap()
    assert textual["release_queue"] == "ctrl+t"
    assert textual["jump.1"] == "ctrl+1" and textual["jump.9"] == "ctrl+9"
    assert "quit" not in textual  # unchanged keys stay Textual's defaults
    assert keymap.prefix_display("help", first=True) == "ctrl+a ?"
    assert "ctrl+t" in keymap.priority_keys and "ctrl+r" not in keymap.priority_keys


def test_footer_hints_follow_the_state_and_the_focus():
    idle = KeyState(room=None, focus=Scope.PROMPT)
    hints, tail = footer_hints(DEFAULT_KEYMAP, idle)
    assert hints[0] == ("ctrl+b", "prefix")
    assert ("ctrl+b ?", "help") in hints and ("ctrl+p", "commands") in hints
    assert tail == [("ctrl+q", "quit")]
    assert not any(label == "cancel" for _key, label in hints)
    armed, armed_tail = prefix_hints(DEFAULT_KEYMAP)
    assert (
        ("c", "new") in armed and ("0–9", "room N") in armed and armed_tail == [("esc", "cancel")]
    )


async def test_keys_resolved_at_start_rebind_prefix_commands_and_bindings():
    engine = open_engine()
    one, two = add_demo_rooms(engine, "one", "two")
    keymap = Keymap(
        prefix="ctrl+a",
        keys={"release_queue": ["ctrl+t"], "allow_once": ["y"]},
        prefix_keys={"new_room": ["N"]},
    )
    async with running(engine, keymap=keymap) as (app, pilot):
        assert "ctrl+a prefix" in app.key_bar.plain and "ctrl+a N new room" in app.key_bar.plain
        await pilot.press("ctrl+b", "n")  # the default prefix is an ordinary key now
        assert app.current_room.title == "one" and not app.prefix.armed
        await pilot.press("ctrl+a", "n")
        assert app.current_room.title == "two"
        await pilot.press("ctrl+t")  # release_queue, rebound: nothing is held
        await pilot.pause(0.1)
        assert any("nothing is held" in str(n.message) for n in app._notifications)
        await wait_ready(pilot, two)
        await send(pilot, "/permission")
        await wait_for(pilot, lambda: two.pending_permissions, what="asked")
        pane = app.current_pane
        await pilot.press("ctrl+g", "a")  # "a" no longer answers: it goes to the prompt
        assert pane.prompt.has_focus and pane.prompt.text == "a" and two.pending_permissions
        await pilot.press("ctrl+g", "y")  # Textual's keymap rebound the panel's binding
        await wait_for(pilot, lambda: not two.pending_permissions, what="answered")
        pane.prompt.focus()
        await pilot.press("ctrl+a", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Prefix commands (ctrl+a, then the key)" in text and "ctrl+a N" in text
        assert "ctrl+t" in text and "ctrl+r" not in text


async def test_commands_apply_only_in_their_state_and_say_why_not():
    engine = open_engine()
    (room,) = add_demo_rooms(engine, "state")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, room)
        assert not app.check_action("command", ("cancel_turn",))
        assert not app.check_action("command", ("release_queue",))
        assert app.check_action("command", ("restart_room",))
        await pilot.press("ctrl+r")
        await pilot.pause(0.1)
        assert any("nothing is held" in str(n.message) for n in app._notifications)
        await send(pilot, "/slow 10")
        await wait_for(pilot, lambda: room.busy, what="busy")
        await pilot.pause(0.1)
        assert app.check_action("command", ("cancel_turn",))
        assert not app.check_action("command", ("restart_room",))
        bar = app.key_bar.plain
        assert "enter queue" in bar and "ctrl+s steer" in bar and "esc esc cancel" in bar
        await pilot.press("ctrl+b", "r")  # restart while busy: refused, with the reason
        await pilot.pause(0.1)
        assert any("the agent is busy" in str(n.message) for n in app._notifications)
        room.cancel()
        await wait_for(pilot, lambda: not room.busy, what="cancelled")


async def test_palette_offers_room_actions_by_help_names_then_textual_commands():
    engine = open_engine()
    add_demo_rooms(engine, "one")
    async with running(engine) as (app, pilot):
        provider = AmuxCommands(app.screen)
        names = [hit.text async for hit in provider.discover()]
        offered = [c.title for c in app.runner.offered()]
        assert names[: len(offered)] == offered  # amux's commands first, in table order
        assert "Inspect room" in offered and "Cancel turn" not in offered  # idle: no turn
        assert names.count("Quit") == 1 and "Theme" in names
        assert names.index("Theme") > names.index("Switch to room 1: one")
        help_names = render_sections(help_sections(app.keymap)).plain.lower()
        assert all(name.lower() in help_names for name in offered)
        await pilot.press("ctrl+p")
        await type_text(pilot, "inspector")
        await pilot.pause(0.5)
        assert "Inspect room" in screen_text(app)


async def test_motion_flag_leaves_textual_animate_alone():
    engine = open_engine()
    add_demo_rooms(engine, "still")
    async with running(engine, motion=False) as (app, pilot):
        assert callable(app.animate)  # Textual's App.animate(), not shadowed by a flag
        assert app.motion is False
        assert not app.current_pane.prompt.cursor_blink


def test_every_app_command_has_a_handler():
    from amux_tui.ui.app import AmuxApp
    from amux_tui.ui.commands import CommandRunner

    engine = open_engine()
    try:
        app = AmuxApp(engine)  # checks the table against the collaborators' handlers
        assert all(app.runner.applies(c.id) in (True, False) for c in COMMANDS if needs_handler(c))
        handlers = {**app.switcher.handlers(), **app.lifecycle.handlers()}
        with pytest.raises(RuntimeError, match="cancel_turn"):
            CommandRunner(app, app.key_state, handlers)  # the turn's commands are missing
    finally:
        engine.lock.release()
