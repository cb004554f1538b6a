"""Tiled layout under load: four rooms flooding while the user types into a fifth (SPEC §7)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from test_ui_support import add_demo_rooms, open_engine, running, shown, wait_for, wait_ready
from textual import events
from textual.keys import _character_to_key

FLOOD = 20_000


@asynccontextmanager
async def tiled_rooms(*titles: str) -> AsyncIterator[tuple[Any, Any, list[Any]]]:
    """The app in the tiled layout with a demo room per title, every pane shown and ready."""
    engine = open_engine()
    rooms = add_demo_rooms(engine, *titles)
    engine.layout.mode = "tiled"
    async with running(engine) as (app, pilot):
        for room in rooms:
            await app.activate(room)
        for room in rooms:
            await wait_ready(pilot, room)
        yield app, pilot, rooms


async def test_keystrokes_land_while_four_tiled_rooms_flood():
    async with tiled_rooms("f1", "f2", "f3", "f4", "typist") as (app, pilot, rooms):
        *flooders, typist = rooms
        assert len([p for p in app.panes.values() if p.display]) == 5
        await pilot.press("ctrl+b", "5")
        assert app.current_room is typist
        for room in flooders:
            room.prompt(f"/flood {FLOOD}")
        await wait_for(pilot, lambda: all(r.busy for r in flooders), what="all flooding")
        message = "typing while four rooms stream"
        prompt = app.current_pane.prompt
        during_flood, backlog = 0, []  # frames the app took in while each key waited
        for ch in message:
            # Keys are posted the way the driver posts them (Pilot.press would wait for the
            # app to go idle, which it never does while four rooms stream).
            before, seen = len(prompt.text), app.hub.frames_seen
            app.post_message(events.Key(_character_to_key(ch) if not ch.isalnum() else ch, ch))
            await wait_for(
                pilot,
                lambda before=before: len(prompt.text) > before,
                timeout=30,
                what=f"key {ch!r}",
            )
            backlog.append(app.hub.frames_seen - seen)
            during_flood += any(r.busy for r in flooders)
        assert prompt.text == message
        assert during_flood >= 5, (
            f"only {during_flood} keys landed during the floods: the test proves nothing"
        )
        # Not starved: every key landed while the app took in less than a quarter of the
        # floods (a key held back until they end would see most of the 4 x FLOOD frames).
        # Measured in the app's own work rather than seconds, so a slow or busy machine
        # cannot fail it.
        assert max(backlog) < FLOOD, f"a key waited while {max(backlog)} frames came in"
        await wait_for(
            pilot, lambda: not any(r.busy for r in flooders), timeout=120, what="floods done"
        )
        await shown(pilot)
        for room in flooders:
            text = room.transcript.blocks[-1].text if room.transcript.blocks else ""
            streamed = [b for b in room.transcript.blocks if b.kind == "message"]
            assert streamed and f"chunk {FLOOD} " in streamed[-1].text, room.title
            assert room.status == "ready", text[:40]
        # Every pane's view got the final text (flushes are coalesced, not dropped).
        for room in flooders:
            view = app.panes[room.id].transcript_view
            assert view.transcript is room.transcript


async def test_spinners_wait_for_the_repaint_of_every_pane_while_several_rooms_stream():
    """The focused room's frequent batches do not carry spinner frames while other panes
    stream too: the other panes' next batch, which repaints every pane, carries them all."""
    from amux_tui.engine import frames as F

    async with tiled_rooms("front", "back") as (app, pilot, rooms):
        front, back = rooms
        await pilot.press("ctrl+b", "1")
        assert app.current_room is front
        for room in rooms:
            room.prompt("/slow 300")
        await wait_for(pilot, lambda: all(r.busy for r in rooms), what="both busy")
        await shown(pilot)

        def entries() -> list[str]:
            return [app.room_list.items()[r.id].render().plain.splitlines()[0] for r in rooms]

        # No await from here on: the hub gets nothing else in between.
        app.hub.flush()
        for room in rooms:  # output of both rooms waits in the hub
            app.hub.room_frame(room, {"method": F.SESSION_UPDATE}, 0, [room.model.blocks[-1]])
        before = entries()
        app._spin()
        assert entries() == before
        app._apply_updates({front.id: {front.model.blocks[-1]}}, set())  # the focused batch
        assert entries() == before  # the other pane's output is still on its way
        app._apply_updates({back.id: {back.model.blocks[-1]}}, set())  # every pane repaints
        after = entries()
        assert after[0] != before[0] and after[1] != before[1]
        app.hub.flush()
        for room in rooms:
            room.cancel()
