"""The hub's pace: how often each room's transcript changes are handed to the screen."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from amux_tui.engine import frames as F
from amux_tui.ui.hub import BACKGROUND_INTERVAL, FLUSH_INTERVAL, RoomHub

FRAME = {"method": F.SESSION_UPDATE}


async def test_the_focused_pane_joins_the_others_pace_while_they_stream():
    """Alone, the focused room's output is handed over every FLUSH_INTERVAL; while other
    panes on screen stream too, at their pace, so one repaint shows them all."""
    on_screen = {"front", "back"}
    hub = RoomHub(
        lambda blocks, status: None, on_screen.__contains__, lambda room, why: None,
        is_focused=lambda room_id: room_id == "front",
    )  # fmt: skip
    front, back, hidden = (SimpleNamespace(id=i) for i in ("front", "back", "hidden"))
    try:
        hub.room_frame(front, FRAME, 1, [object()])
        assert hub.period("front") == FLUSH_INTERVAL
        hub.room_frame(hidden, FRAME, 1, [object()])  # off screen: nothing to repaint
        assert hub.period("front") == FLUSH_INTERVAL
        hub.room_frame(back, FRAME, 1, [object()])
        assert hub.period("front") == hub.period("back") == BACKGROUND_INTERVAL
        hub.flush()  # everything handed over: the focused room alone again
        hub.room_frame(front, FRAME, 2, [object()])
        assert hub.period("front") == FLUSH_INTERVAL
        assert BACKGROUND_INTERVAL > FLUSH_INTERVAL
    finally:
        hub.close()


async def test_streaming_panes_are_handed_over_one_period_apart_not_later():
    """The next hand-over is due one period after the last one: neither the repaint
    before the next frame arrives nor a timer that fires early stretches the period."""
    loop = asyncio.get_running_loop()
    now = [0.0]  # the hub's clock, moved by hand: no waiting in this test
    hub = RoomHub(
        lambda blocks, status: None, lambda room_id: True, lambda room, why: None,
        interval=0.5, is_focused=lambda room_id: room_id == "front",
        background_interval=2.0, clock=lambda: now[0],
    )  # fmt: skip
    front, back = (SimpleNamespace(id=i) for i in ("front", "back"))
    try:
        for room in (front, back):
            hub.room_frame(room, FRAME, 1, [object()])
        hub.flush()  # both handed over at 0.0
        now[0] = 0.3  # the repaint took 0.3 s; the next frames arrive
        for room in (back, front):
            hub.room_frame(room, FRAME, 2, [object()])
        due = hub.next_handover
        assert due is not None and due <= loop.time() + 1.7  # at 2.0, not 0.3 + 2.0
        assert due >= loop.time() + 1.7 - 0.1  # and not before (0.1: time this test took)
        now[0] = 1.8  # a status timer fires first: the panes are not due yet
        hub.flush(due_only=True)
        due = hub.next_handover
        assert due is not None and due <= loop.time() + 0.2  # at 2.0, not 1.8 + interval
    finally:
        hub.close()


async def test_a_change_waits_at_least_one_interval_for_others_to_join_it():
    """The focused room alone: a change that arrives after a long repaint still waits
    ``interval`` (a full-speed flood is repainted at most that often), not zero."""
    loop = asyncio.get_running_loop()
    now = [0.0]
    hub = RoomHub(
        lambda blocks, status: None, lambda room_id: True, lambda room, why: None,
        interval=0.5, clock=lambda: now[0],
    )  # fmt: skip
    front = SimpleNamespace(id="front")
    try:
        hub.room_frame(front, FRAME, 1, [object()])
        hub.flush()  # handed over at 0.0
        now[0] = 0.45  # its period (0.5) is nearly over when the next change arrives
        before = loop.time()
        hub.room_frame(front, FRAME, 2, [object()])
        due = hub.next_handover
        assert due is not None and due >= before + 0.5  # not at 0.5 (0.05 from now)
    finally:
        hub.close()
