"""The prompt: send, newline, history, draft, queue while busy, steer, escape twice."""

from __future__ import annotations

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
from amux_tui.ui.widgets.prompt_input import PromptInput
from amux_tui.ui.widgets.queue_strip import QueueStrip


def _turn_texts(room) -> list[str]:
    return [
        f["params"]["content"][0]["text"]
        for f in logged_frames(room)
        if f.get("method") == F.TURN_STARTED
    ]


async def test_first_run_creates_the_demo_room_and_enter_sends():
    engine = open_engine()
    assert engine.rooms == {}
    async with running(engine) as (app, pilot):
        assert len(engine.rooms) == 1
        room = app.current_room
        assert room.title == "demo" and (room.meta.agent or {}).get("name") == "demo"
        await wait_ready(pilot, room)
        assert isinstance(app.focused, PromptInput)
        await send(pilot, "hello there")
        await wait_for(pilot, lambda: _turn_texts(room) == ["hello there"], what="turn started")
        await wait_idle(pilot, room)
        assert app.focused.text == ""  # the prompt was cleared
        assert any(b.kind == "message" and "Demo reply" in b.text for b in room.transcript.blocks)
        text = screen_text(app)
        assert "demo" in text and "ready" in text


async def test_shift_enter_and_ctrl_j_insert_newlines_and_send_multiline():
    engine = open_engine()
    (room,) = add_demo_rooms(engine, "multi")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, room)
        await type_text(pilot, "one")
        await pilot.press("shift+enter")
        await type_text(pilot, "two")
        await pilot.press("ctrl+j")
        await type_text(pilot, "three")
        assert app.focused.text == "one\ntwo\nthree"
        assert _turn_texts(room) == []  # nothing sent yet
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: _turn_texts(room) == ["one\ntwo\nthree"], what="multi-line turn"
        )
        await wait_idle(pilot, room)


async def test_up_and_down_walk_the_prompt_history():
    engine = open_engine()
    (room,) = add_demo_rooms(engine, "history")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, room)
        for text in ("first", "second"):
            await send(pilot, text)
            await wait_idle(pilot, room)
        prompt = app.focused
        await type_text(pilot, "draft")
        await pilot.press("up")
        assert prompt.text == "second"
        await pilot.press("up")
        assert prompt.text == "first"
        await pilot.press("up")  # oldest: stays
        assert prompt.text == "first"
        await pilot.press("down")
        assert prompt.text == "second"
        await pilot.press("down")
        assert prompt.text == "draft"  # back to what was being written
        await pilot.press("up", "enter")
        await wait_for(
            pilot, lambda: _turn_texts(room) == ["first", "second", "second"], what="history resend"
        )
        await wait_idle(pilot, room)


async def test_draft_is_saved_to_the_room_and_restored_after_a_restart(tmp_path):
    home = tmp_path / "home"
    engine = open_engine(home)
    (room,) = add_demo_rooms(engine, "drafty")
    async with running(engine) as (app, pilot):
        await type_text(pilot, "half a thought")
        await wait_for(pilot, lambda: room.meta.draft == "half a thought", what="draft saved")
    engine2 = open_engine(home)
    async with running(engine2) as (app, pilot):
        assert app.current_room.meta.draft == "half a thought"
        assert app.focused.text == "half a thought"


async def test_sending_while_busy_queues_shows_and_removes():
    engine = open_engine()
    (room,) = add_demo_rooms(engine, "queue")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, room)
        await send(pilot, "/slow 300")  # busy until cancelled below
        await wait_for(pilot, lambda: room.busy, what="busy")
        await send(pilot, "later one")
        await send(pilot, "later two")
        await wait_for(pilot, lambda: len(room.queue) == 2, what="two queued")
        await wait_for(
            pilot, lambda: "q-2 later two" in screen_text(app), what="the queue strip shown"
        )
        strip = app.current_pane.query_one(QueueStrip)
        assert strip.display and strip.item_ids == ["q-1", "q-2"]
        text = screen_text(app)
        assert "q-1 later one" in text and "q-2 later two" in text
        assert "queued 2" in text  # header flag with its label
        entry = app.room_list.items()[room.id].render().plain
        assert "≡2" in entry  # and the room list badge
        # Remove q-1 with its ✕ button (keyboard: tab to the button, enter).
        button = strip.query(".queue-remove").first()
        button.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: [q.id for q in room.queue] == ["q-2"], what="q-1 removed")
        await shown(pilot)
        assert "q-1 later one" not in screen_text(app)
        assert app.current_pane.prompt.has_focus  # not lost with the button
        # Text typed on a remaining button goes to the prompt.
        strip.query(".queue-remove").first().focus()
        await pilot.press("h", "i")
        assert app.current_pane.prompt.has_focus and app.current_pane.prompt.text == "hi"
        await pilot.press("backspace", "backspace")
        # ctrl+b q removes the last queued prompt too.
        await pilot.press("ctrl+b", "q")
        await wait_for(pilot, lambda: room.queue == [], what="queue empty")
        room.cancel()
        await wait_idle(pilot, room)
        assert _turn_texts(room) == ["/slow 300"]  # nothing removed ever ran


async def test_ctrl_s_steers_the_running_turn():
    engine = open_engine()
    (room,) = add_demo_rooms(engine, "steer")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, room)
        await send(pilot, "/slow 300")  # still running when ctrl+s steers it
        await wait_for(pilot, lambda: room.busy, what="busy")
        await type_text(pilot, "do it faster")
        await pilot.press("ctrl+s")
        await wait_for(
            pilot, lambda: len(_turn_texts(room)) == 2, timeout=20, what="replacement turn"
        )
        frames = logged_frames(room)
        steer = [f for f in frames if f.get("method") == F.CONTROL_SUBMITTED]
        assert (
            steer
            and steer[0]["params"]["mode"] == "hard"
            and steer[0]["params"]["text"] == "do it faster"
        )
        assert any(
            f.get("method") == F.TURN_CANCELLED and f["params"].get("reason") == "hard_steer"
            for f in frames
        )
        replacement = _turn_texts(room)[1]
        assert "/slow 300" in replacement and "do it faster" in replacement
        assert app.focused.text == ""
        room.cancel()
        await wait_idle(pilot, room)


async def test_escape_twice_cancels_and_once_does_not():
    engine = open_engine()
    (room,) = add_demo_rooms(engine, "cancel")
    async with running(engine) as (app, pilot):
        now = [1000.0]  # the double-press window on a clock the test moves
        app.key_router.clock = lambda: now[0]
        escape_press = app.key_router.double_press("cancel_turn")
        await wait_ready(pilot, room)
        await send(pilot, "/slow 300")  # busy until cancelled below
        await wait_for(pilot, lambda: room.busy, what="busy")
        await pilot.press("escape")
        assert escape_press.pending  # the first press was taken: the window is open
        now[0] += escape_press.window + 0.3  # the window closes
        assert not escape_press.pending
        # A single escape did nothing (cancelling records its frame synchronously).
        assert room.busy and not any(
            f.get("method") == F.TURN_CANCELLED for f in logged_frames(room)
        )
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: not room.busy, what="cancelled")
        complete = [f for f in logged_frames(room) if f.get("method") == F.TURN_COMPLETE]
        assert complete[-1]["params"]["stopReason"] == "cancelled"


async def test_escape_twice_offers_force_stop_when_the_agent_ignores_cancel(monkeypatch):
    from test_ui_support import add_demo_rooms as _add

    from amux_tui.engine import room as room_module

    monkeypatch.setattr(room_module, "FORCE_STOP_AFTER", 0.5)
    monkeypatch.setenv("AMUX_DEMO_IGNORE_CANCEL", "1")
    engine = open_engine()
    (room,) = _add(engine, "stubborn")
    async with running(engine) as (app, pilot):
        await wait_ready(pilot, room)
        await send(pilot, "/slow 300")  # the agent ignores the cancel: busy until stopped
        await wait_for(pilot, lambda: room.busy, what="busy")
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: room.force_stop_available, what="force stop offered")
        await wait_for(pilot, lambda: "force stop" in screen_text(app), what="force stop shown")
        await pilot.press("escape", "escape")
        await wait_for(
            pilot,
            lambda: any(f.get("method") == F.TURN_INTERRUPTED for f in logged_frames(room)),
            what="interrupted",
        )
        await wait_ready(pilot, room)  # restarted and resumed
