"""The UI's subscription to every room: coalescing frames and tracking attention.

Rooms call :meth:`RoomHub.room_frame` synchronously for every recorded frame, up to
thousands of times a second per room while an agent streams (SPEC §7). Touching widgets
per frame would starve keyboard input, so the hub only notes *which* blocks and rooms
changed (set operations) and hands the batch to the app at most every ``interval``
seconds. Attention (unread, needs-you notifications) is decided here, per frame, because
it depends on which rooms are visible at the moment the frame arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from amux_tui.engine import frames as F
from amux_tui.engine.room import RoomSubscriber

if TYPE_CHECKING:
    from amux_tui.engine.room import Room
    from amux_tui.engine.transcript_blocks import Block

FLUSH_INTERVAL = 0.04  # seconds: at most 25 widget updates a second per room


class RoomHub(RoomSubscriber):
    """Subscriber of every room (the ``local`` peer); batches updates for the app.

    Args:
        flush: called with ``{room_id: blocks}`` and the set of rooms whose status changed.
        is_visible: whether a room's pane is on screen right now.
        attention: called as ``attention(room, reason)`` when a room that is not visible
            finishes a turn or starts waiting for permission.
        interval: the coalescing period.
    """

    def __init__(
        self,
        flush: Callable[[dict[str, set[Block]], set[str]], None],
        is_visible: Callable[[str], bool],
        attention: Callable[[Room, str], None],
        interval: float = FLUSH_INTERVAL,
    ) -> None:
        self._flush_cb = flush
        self._is_visible = is_visible
        self._attention = attention
        self.interval = interval
        self.unread: set[str] = set()
        self._blocks: dict[str, set[Block]] = {}
        self._status: set[str] = set()
        self._handle: asyncio.TimerHandle | None = None
        self.frames_seen = 0  # every frame of every room, for diagnostics and tests

    # ---- RoomSubscriber --------------------------------------------------------------------
    def room_frame(self, room: Room, frame: dict[str, Any], seq: int, blocks: list[Block]) -> None:
        self.frames_seen += 1
        if not blocks:
            return
        rid = room.id
        pending = self._blocks.get(rid)
        if pending is None:
            self._blocks[rid] = set(blocks)
        else:
            pending.update(blocks)
        if (
            rid not in self.unread
            and not F.is_amux_method(frame.get("method"))
            and not self._is_visible(rid)
        ):
            # The agent's output (something to read) while off screen.
            self.unread.add(rid)
            self._status.add(rid)
        self._schedule()

    def room_status(self, room: Room) -> None:
        self._status.add(room.id)
        self._schedule()

    def room_attention(self, room: Room, reason: str) -> None:
        """A turn ended or a permission waits: worth a notification if not on screen."""
        if self._is_visible(room.id):
            return
        self.unread.add(room.id)
        self._status.add(room.id)
        self._schedule()
        self._attention(room, reason)

    def seen(self, room_id: str) -> bool:
        """The room is now visible: clear its unread flag; True if it was set."""
        if room_id in self.unread:
            self.unread.discard(room_id)
            self._status.add(room_id)
            self._schedule()
            return True
        return False

    # ---- batching --------------------------------------------------------------------------
    def mark(self, room_id: str) -> None:
        """Ask for a status refresh of one room at the next flush."""
        self._status.add(room_id)
        self._schedule()

    def _schedule(self) -> None:
        if self._handle is None:
            self._handle = asyncio.get_running_loop().call_later(self.interval, self.flush)

    def flush(self) -> None:
        """Hand everything collected since the last flush to the app.

        Runs from the coalescing timer; a direct call (e.g. a test that needs every frame
        recorded so far on screen now) hands the batch over at once and drops the timer.
        """
        if self._handle is not None:
            self._handle.cancel()  # a no-op when the timer is what called us
            self._handle = None
        if not self._blocks and not self._status:
            return
        blocks, status = self._blocks, self._status
        self._blocks, self._status = {}, set()
        self._flush_cb(blocks, status)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
