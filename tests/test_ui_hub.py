"""The hub's pace: how often each room's transcript changes are handed to the screen."""

from __future__ import annotations

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
