"""Find in the room, find in every room, and reopening a closed room, in the real app."""

from __future__ import annotations

from test_search import conversation, write_room
from test_ui_support import (
    add_demo_rooms,
    open_engine,
    running,
    send,
    shown,
    type_text,
    wait_for,
    wait_idle,
    wait_ready,
)

from amux_tui.engine.meta import Layout
from amux_tui.engine.store import write_json_atomic
from amux_tui.ui.screens.picker import RoomPickerScreen
from amux_tui.ui.screens.search import SearchRoomsScreen
from amux_tui.ui.widgets.find_bar import FindBar


def many_turns(room_id: str, turns: int) -> list[dict]:
    """Turns whose replies say "needle N" once each, padded so that hits are screens apart."""
    frames: list[dict] = []
    for n in range(turns):
        # One paragraph (single newlines are line breaks), then the hit on its own line.
        reply = [f"paragraph {n} line {k} " for k in range(12)] + [f"\nthe needle {n}\n"]
        frames += conversation(room_id, reply, prompt=f"question {n}")
    return frames


async def test_enter_and_shift_enter_walk_the_hits_in_order_scrolling_each_into_view(tmp_path):
    rooms = tmp_path / "rooms"
    write_room(rooms, "r-big", "big", many_turns("r-big", 30))
    engine = open_engine(tmp_path)
    async with running(engine) as (app, pilot):
        room = engine.rooms["r-big"]
        await wait_for(pilot, lambda: room.loaded, what="room loaded")
        await shown(pilot)
        pane = app.current_pane
        assert pane is not None
        view = pane.transcript_view
        assert view.follow  # at the end, following new output
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: bool(pane.query(FindBar)), what="find bar")
        bar = pane.query_one(FindBar)
        await type_text(pilot, "needle")
        await pilot.pause()
        assert bar.finder.label.endswith("/ 30")
        seen: list[tuple[int, int]] = []

        def current_line() -> tuple[int, int]:
            current = view.marks.current
            assert current is not None
            y = view.point_y((current[0], current[1]))
            top = view.scroll_offset.y
            assert top <= y < top + view.scrollable_content_region.height, "hit off screen"
            text = view.line_texts(y, y + 1)[0]
            assert text[current[1] : current[2]].lower() == "needle"
            return bar.finder.index, y

        seen.append(current_line())
        for _ in range(4):
            await pilot.press("enter")
            await pilot.pause()
            seen.append(current_line())
        indexes = [i for i, _ in seen]
        lines = [y for _, y in seen]
        assert indexes == sorted(indexes) and len(set(indexes)) == 5
        assert lines == sorted(lines) and len(set(lines)) == 5  # each further down
        await pilot.press("shift+enter")
        await pilot.pause()
        assert current_line() == seen[-2]  # back to the previous hit, same place
        await pilot.press("escape")  # back to where we were
        await wait_for(pilot, lambda: not pane.query(FindBar), what="bar closed")
        await pilot.pause()
        assert view.marks.pattern is None and view.follow
        assert view.scroll_offset.y == view.max_scroll_y
        assert app.focused is pane.prompt


async def test_tab_stays_at_the_hit_and_n_walks_on_only_in_the_transcript(tmp_path):
    rooms = tmp_path / "rooms"
    write_room(rooms, "r-big", "big", many_turns("r-big", 5))
    engine = open_engine(tmp_path)
    async with running(engine) as (app, pilot):
        room = engine.rooms["r-big"]
        await wait_for(pilot, lambda: room.loaded, what="room loaded")
        pane = app.current_pane
        assert pane is not None
        view = pane.transcript_view
        await pilot.press("ctrl+b", "/")
        await wait_for(pilot, lambda: bool(pane.query(FindBar)), what="find bar")
        await type_text(pilot, "needle 3")
        await pilot.press("tab")
        await wait_for(pilot, lambda: not pane.query(FindBar), what="bar closed")
        assert app.focused is view and view.finder is not None and view.finder.index == 0
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: bool(pane.query(FindBar)), what="find bar")
        bar = pane.query_one(FindBar)
        await pilot.press("ctrl+u")  # clear the field (Input: delete to start)
        await type_text(pilot, "needle")
        await pilot.press("tab")
        await wait_for(pilot, lambda: not pane.query(FindBar), what="bar closed")
        first = bar.finder.index
        await pilot.press("n")
        assert view.finder.index == (first + 1) % 5
        await pilot.press("N", "N")
        assert view.finder.index == (first - 1) % 5
        pane.prompt.focus()
        await pilot.pause()
        await pilot.press("n")  # typed into the prompt, never a search key there
        assert pane.prompt.text == "n" and view.finder.index == (first - 1) % 5


async def test_find_in_every_room_lists_rooms_never_focused_and_opens_the_hit(tmp_path):
    rooms = tmp_path / "rooms"
    write_room(rooms, "r-one", "one", conversation("r-one", ["nothing here\n"], "hello"))
    write_room(rooms, "r-two", "two", many_turns("r-two", 8))
    write_json_atomic(rooms / "layout.json", Layout(["r-one", "r-two"], "r-one").to_json())
    engine = open_engine(tmp_path)
    async with running(engine) as (app, pilot):
        await pilot.press("ctrl+b", "f")
        await wait_for(pilot, lambda: isinstance(app.screen, SearchRoomsScreen), what="search")
        screen = app.screen
        assert isinstance(screen, SearchRoomsScreen)
        await type_text(pilot, "needle 6")
        await wait_for(pilot, lambda: bool(screen.hits), what="hits")
        assert [(room.title, hit.line) for room, hit in screen.hits] == [("two", "the needle 6")]
        await pilot.press("enter")
        await wait_for(pilot, lambda: engine.layout.focused == "r-two", what="room two focused")
        pane = app.panes["r-two"]
        view = pane.transcript_view
        await wait_for(pilot, lambda: view.marks.current is not None, what="hit shown")
        current = view.marks.current
        assert current is not None
        y = view.point_y((current[0], current[1]))
        line = view.line_texts(y, y + 1)[0]
        assert line[current[1] : current[2]] == "needle 6" and line.endswith("the needle 6")
        top = view.scroll_offset.y
        assert top <= y < top + view.scrollable_content_region.height


async def test_close_then_reopen_from_the_picker_same_transcript_and_session(tmp_path):
    engine = open_engine(tmp_path)
    add_demo_rooms(engine, "keep", "closing")
    async with running(engine) as (app, pilot):
        room = engine.rooms[list(engine.rooms)[1]]
        await app.focus_room(room.id)
        await wait_ready(pilot, room)
        await send(pilot, "remember the walrus")
        await wait_idle(pilot, room)
        session = room.model.state.acp_session_id
        blocks_before = [(b.kind, getattr(b, "text", None)) for b in room.transcript.blocks]
        assert session and any("walrus" in (t or "") for _, t in blocks_before)
        await app.runner.run("close_room")  # asks first
        await wait_for(pilot, lambda: app.screen is not app.screen_stack[0], what="confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: room.id not in engine.rooms, what="room closed")
        assert [a.title for a in engine.archived()] == ["closing"]

        await pilot.press("ctrl+b", "w")
        await wait_for(pilot, lambda: isinstance(app.screen, RoomPickerScreen), what="picker")
        await type_text(pilot, "closing")
        await pilot.press("enter")
        await wait_for(pilot, lambda: room.id in engine.rooms, what="room reopened")
        back = engine.rooms[room.id]
        assert engine.layout.focused == room.id and engine.archived() == []
        await wait_ready(pilot, back)
        assert back.model.state.acp_session_id == session  # the agent resumed its session
        blocks_after = [(b.kind, getattr(b, "text", None)) for b in back.transcript.blocks]
        assert blocks_after[: len(blocks_before)] == blocks_before
        assert not [b for b in back.transcript.blocks[len(blocks_before) :] if b.kind == "divider"
                    and "new session" in getattr(b, "text", "")]  # fmt: skip
        await send(pilot, "/recall")
        await wait_idle(pilot, back)
        assert "remember the walrus" in back.transcript.blocks[-1].text
