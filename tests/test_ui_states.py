"""Room states and flags driven by the real demo agent (SPEC §1.2), and permission keys."""

from __future__ import annotations

import msgspec
import pytest
from test_ui_support import (
    add_demo_rooms,
    logged_frames,
    open_engine,
    running,
    screen_text,
    send,
    shown,
    type_text,
    wait_for,
    wait_idle,
    wait_ready,
)

from amux_tui.engine import frames as F
from amux_tui.ui.widgets.permission_panel import PermissionPanel


def _answers(room) -> list[object]:
    """Outcomes the user gave, in order (optionId, or "cancelled")."""
    out = []
    for f in logged_frames(room):
        if (
            f.get("method") == F.AGENT_REQUEST_RESOLVED
            and f["params"].get("resolvedBy") == F.RESOLVED_LOCAL
        ):
            outcome = f["params"]["result"]["outcome"]
            out.append(outcome.get("optionId", outcome["outcome"]))
    return out


def _header(app) -> str:
    return app.current_pane.query_one(".room-header").render().plain


def _list_entry(app, room) -> str:
    return app.room_list.items()[room.id].render().plain


async def test_busy_shows_a_spinner_that_moves():
    engine = open_engine()
    (room,) = add_demo_rooms(engine, "spin")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, room)
        await send(pilot, "/slow 300")  # busy until cancelled below
        await wait_for(pilot, lambda: room.status == "busy", what="busy")
        await shown(pilot)
        # Drive the spinner's tick by hand (no await in between, so the app's own timer
        # cannot interleave): two consecutive ticks must show two different frames. The
        # hub is emptied first: output waiting there would carry the frame instead.
        app.hub.flush()
        app._spin()
        first = _list_entry(app, room)
        app._spin()
        second = _list_entry(app, room)
        assert "busy" in first and "busy" in _header(app)
        assert first.splitlines()[0] != second.splitlines()[0]  # the spinner frame changed
        # A tick that finds the room's output waiting in the hub draws the frame with that
        # output (one repaint of the room's widgets), not on its own.
        before, header = second.splitlines()[0], _header(app)
        app.hub.room_frame(room, {"method": F.SESSION_UPDATE}, 0, [room.model.blocks[-1]])
        assert app.hub.waiting(room.id)
        app._spin()
        assert _list_entry(app, room).splitlines()[0] == before and _header(app) == header
        app.hub.flush()  # the output is handed over: the frame comes with it
        with_output = _list_entry(app, room).splitlines()[0]
        assert with_output != before and _header(app) != header
        app._spin()  # nothing waiting now: drawn at once
        assert _list_entry(app, room).splitlines()[0] != with_output
        room.cancel()
        await wait_idle(pilot, room)
        assert "ready" in _list_entry(app, room)


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (["1"], "allow"),
        (["2"], "allow-always"),
        (["a"], "allow"),
        (["A"], "allow-always"),
        (["r"], "reject"),
        (["R"], "reject-always"),
        (["escape"], "cancelled"),
    ],
)
async def test_permission_keys(keys, expected):
    engine = open_engine()
    (room,) = add_demo_rooms(engine, "perm")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, room)
        await send(pilot, "/permission")
        await wait_for(pilot, lambda: room.pending_permissions, what="permission asked")
        await wait_for(pilot, lambda: app.current_pane.permission.display, what="panel shown")
        assert app.current_pane.prompt.has_focus  # it never takes the focus by itself
        await pilot.press("ctrl+g")  # the one deliberate key
        assert isinstance(app.focused, PermissionPanel)
        text = screen_text(app)
        assert "Permission needed: Write notes.txt" in text
        assert "! needs you (1)" in _header(app)
        # Each option shows the one key that picks it.
        assert " a  Allow once" in text and " R  Always reject" in text
        await pilot.press(*keys)
        await wait_for(pilot, lambda: not room.pending_permissions, what="answered")
        assert _answers(room) == [expected]
        await wait_idle(pilot, room)
        assert not app.current_pane.permission.display
        assert "needs you" not in _header(app)
        assert app.current_pane.prompt.has_focus  # back to the prompt


async def test_several_permissions_queue_fifo_with_more_count():
    engine = open_engine()
    (room,) = add_demo_rooms(engine, "perm2")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, room)
        await send(pilot, "/permission 2")
        await wait_for(pilot, lambda: len(room.pending_permissions) == 2, what="two asked")
        await wait_for(pilot, lambda: "(+1 more)" in screen_text(app), what="panel with +1")
        text = screen_text(app)
        assert "Write notes-1.txt" in text and "(+1 more)" in text
        assert "! needs you (2)" in _header(app)
        assert "!2" in _list_entry(app, room)
        await pilot.press("ctrl+g")
        await pilot.press("a")
        await wait_for(pilot, lambda: len(room.pending_permissions) == 1, what="first answered")
        await wait_for(pilot, lambda: "Write notes-2.txt" in screen_text(app), what="second")
        await shown(pilot)
        assert "Write notes-2.txt" in screen_text(app) and "(+1 more)" not in screen_text(app)
        await pilot.press("r")
        await wait_idle(pilot, room)
        assert _answers(room) == ["allow", "reject"]


async def test_compacting_badge_appears_and_is_gone_after_turn_complete_without_done(
    monkeypatch, tmp_path
):
    gate = tmp_path / "gate"  # the demo agent holds the compaction open until this exists
    monkeypatch.setenv("AMUX_DEMO_GATE", str(gate))
    engine = open_engine()
    (room,) = add_demo_rooms(engine, "compact")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, room)
        await send(pilot, "/compact stranded")
        await wait_for(pilot, lambda: room.compacting, timeout=20, what="compaction started")
        await shown(pilot)
        assert "⟳ compacting" in _header(app)
        assert "⟳" in _list_entry(app, room)
        assert app.current_pane.has_class("-compacting")
        gate.touch()  # let the turn end (still without a done signal)
        await wait_idle(pilot, room, timeout=30)
        methods = [f.get("method") for f in logged_frames(room)]
        assert F.COMPACTION_STARTED in methods and F.COMPACTION_DONE not in methods  # stranded
        assert "compacting" not in _header(app) and "⟳" not in _list_entry(app, room)
        assert not app.current_pane.has_class("-compacting")


async def test_crash_shows_exit_code_and_prefix_r_restarts():
    engine = open_engine()
    (room,) = add_demo_rooms(engine, "crashy")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, room)
        await send(pilot, "/crash 3")
        await wait_for(pilot, lambda: room.status == "exited", what="exited")
        await wait_for(
            pilot, lambda: "Restart (ctrl+b r)" in screen_text(app), what="restart offered"
        )
        assert "exited (code 3) — ctrl+b r or a prompt restarts it" in _header(app)
        text = screen_text(app)
        assert "the agent exited with code 3" in text and "Restart (ctrl+b r)" in text
        assert "exited 3" in _list_entry(app, room)
        assert app.current_pane.prompt.has_focus and app.current_pane.prompt.text == ""
        await pilot.press("r")  # a bare letter is text, even on an empty prompt
        assert app.current_pane.prompt.text == "r" and room.status == "exited"
        await pilot.press("backspace", "ctrl+b", "r")
        await wait_ready(pilot, room)
        assert app.current_pane.prompt.text == ""
        await send(pilot, "/recall")
        await wait_idle(pilot, room)
        assert "session resumed" in " ".join(
            getattr(b, "text", "") for b in room.transcript.blocks
        ) or any(f.get("method") == F.SESSION_RESUMED for f in logged_frames(room))


async def test_prefix_r_restarts_and_failed_room_shows_reason(monkeypatch):
    engine = open_engine()
    (room,) = add_demo_rooms(engine, "fails")
    room.agent.launch = msgspec.structs.replace(
        room.agent.launch, argv=["/nonexistent/agent-binary"]
    )
    async with running(engine) as (app, pilot):
        await wait_for(pilot, lambda: room.status == "failed", what="failed")
        await wait_for(pilot, lambda: "failed:" in screen_text(app), what="failure shown")
        assert "failed — ctrl+b r to retry" in _header(app)
        assert "failed:" in screen_text(app)
        from amux_tui.engine.config import DEMO_AGENT

        room.agent.launch = msgspec.structs.replace(room.agent.launch, argv=DEMO_AGENT.argv)
        await pilot.press("ctrl+b", "r")
        await wait_ready(pilot, room)


async def test_unread_set_in_background_and_cleared_on_view():
    engine = open_engine()
    front, back = add_demo_rooms(engine, "front", "back")
    notifier_calls = []
    async with running(engine, notifier=lambda t, r: notifier_calls.append((t, r))) as (app, pilot):
        await wait_ready(pilot, front)
        await app.activate(back)
        await wait_ready(pilot, back)
        back.prompt("background work")  # as if sent before switching away
        await wait_idle(pilot, back)
        assert back.id in app.hub.unread
        assert "●" in _list_entry(app, back).splitlines()[1]
        assert app.room_list.items()[back.id].has_class("-unread")
        await pilot.press("ctrl+b", "2")
        await wait_for(pilot, lambda: back.id not in app.hub.unread, what="back seen")
        await shown(pilot)
        assert back.id not in app.hub.unread
        assert "●" not in _list_entry(app, back).splitlines()[1]
        assert "unread" not in _header(app)


async def test_needs_you_count_in_list_and_prefix_a_jumps_to_it():
    engine = open_engine()
    a, b, c = add_demo_rooms(engine, "a", "b", "c")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, a)
        await app.activate(c)
        await wait_ready(pilot, c)
        c.prompt("/permission 2")
        await wait_for(pilot, lambda: len(c.pending_permissions) == 2, what="c needs you")
        await shown(pilot)
        assert "!2" in _list_entry(app, c)
        assert app.room_list.items()[c.id].has_class("-needs-you")
        await pilot.press("ctrl+b", "a")
        assert app.current_room is c
        assert app.current_pane.prompt.has_focus  # jumping there answers nothing
        await pilot.press("ctrl+g", "a")
        await wait_for(pilot, lambda: len(c.pending_permissions) == 1, what="one left")
        await pilot.press("escape")
        await wait_idle(pilot, c)
        assert _answers(c) == ["allow", "cancelled"]
        await pilot.press("ctrl+b", "a")  # nothing needs attention: stays
        assert app.current_room is c


async def test_held_queue_after_restart_is_released_with_ctrl_r(tmp_path):
    home = tmp_path / "home"
    engine = open_engine(home)
    (room,) = add_demo_rooms(engine, "held")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, room)
        await send(pilot, "/slow 300")  # busy until the crash below
        await wait_for(pilot, lambda: room.busy, what="busy")
        await send(pilot, "after restart")
        await wait_for(pilot, lambda: len(room.queue) == 1, what="queued")
        # Crash the agent: the queue is held so nothing runs on its own.
        room.proc.kill()
        await wait_for(pilot, lambda: room.status == "exited", what="exited")
    engine2 = open_engine(home)
    async with running(engine2) as (app, pilot):
        room2 = app.current_room
        await wait_ready(pilot, room2)
        await wait_for(
            pilot, lambda: "held — ctrl+r releases" in screen_text(app), what="held queue shown"
        )
        assert room2.queue_held
        assert "held — ctrl+r releases" in screen_text(app)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not room2.queue, what="released")
        await wait_idle(pilot, room2)
        texts = [
            f["params"]["content"][0]["text"]
            for f in logged_frames(room2)
            if f.get("method") == F.TURN_STARTED
        ]
        assert texts[-1] == "after restart"


async def test_markup_from_the_agent_is_shown_literally():
    pytest.importorskip("amux_tui.ui.widgets.transcript_view")
    engine = open_engine()
    (room,) = add_demo_rooms(engine, "[red]markup[/red] room")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, room)
        await send(pilot, "/markup")
        await wait_idle(pilot, room)
        await wait_for(pilot, lambda: "[bold]x[/bold]" in screen_text(app), what="reply shown")
        text = screen_text(app)
        assert "[bold]x[/bold]" in text and "[red on blue]colours[/red on blue]" in text
        assert "[@click=app.quit]click me[/]" in text
        assert "[red]markup[/red] room" in text


async def test_permission_prompt_never_takes_the_focus_and_typing_never_answers_it():
    engine = open_engine()
    (room,) = add_demo_rooms(engine, "typing")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, room)
        pane = app.current_pane
        prompt = pane.prompt
        await pilot.press("a", "b", "c")
        room.prompt("/permission")  # arrives while the user is writing
        await wait_for(pilot, lambda: room.pending_permissions, what="asked")
        await wait_for(pilot, lambda: pane.permission.display, what="panel shown")
        await shown(pilot)
        await type_text(pilot, " aArR1")  # every answer key, typed into the prompt
        assert prompt.text == "abc aArR1" and room.pending_permissions != []
        assert prompt.has_focus
        await pilot.press("tab")  # tab does not reach it either
        assert not pane.permission.has_focus
        pane.focus_input()
        pane.permission.focus()  # nor does a plain focus() (a click, a stray call)
        await pilot.pause()
        assert not pane.permission.has_focus
        await pilot.press("ctrl+g")
        assert pane.permission.has_focus
        await pilot.press("x")  # not an answer: back to the prompt, typed there
        assert prompt.has_focus and prompt.text == "abc aArR1x"
        await pilot.press("ctrl+g", "r")
        await wait_idle(pilot, room)
        assert _answers(room) == ["reject"] and prompt.text == "abc aArR1x"
        assert prompt.has_focus


async def test_two_options_of_one_kind_show_a_letter_then_a_digit():
    from amux_tui.ui.keymap import DEFAULT_KEYMAP
    from amux_tui.ui.widgets.permission_panel import option_keys

    hermes = [  # Hermes: allow_session and allow_always are both "allow_always"
        {"optionId": "once", "name": "Allow once", "kind": "allow_once"},
        {"optionId": "session", "name": "Allow for session", "kind": "allow_always"},
        {"optionId": "always", "name": "Always allow", "kind": "allow_always"},
        {"optionId": "deny", "name": "Deny", "kind": "reject_once"},
        {"optionId": "never", "name": "Never", "kind": "reject_always"},
        {"optionId": "odd", "name": "Something else"},
    ]
    assert option_keys(hermes, DEFAULT_KEYMAP) == ["a", "A", "3", "r", "R", "6"]
