"""The UI's subscription to every room: coalescing frames and tracking attention.

Rooms call :meth:`RoomHub.room_frame` synchronously for every recorded frame, up to
thousands of times a second per room while an agent streams (SPEC §7). Touching widgets
per frame would starve keyboard input, so the hub only notes *which* blocks and rooms
changed (set operations) and hands the batch to the app at most every ``interval``
seconds. A room's changes are due one period after its previous hand-over, and at least
``interval`` after the first of them: the timer is set for that moment when the first
change arrives (not once per frame), so a repaint does not stretch the period (four panes
at 5,000 chunks/s each: hand-overs every ~108 ms → 80 ms, chunk to screen median 93 → ~80
ms). Attention (unread, needs-you notifications) is decided here, per frame, because
it depends on which rooms are visible at the moment the frame arrives.

Keys go first: while the engine's pacer is held (a key on its way to the screen) the
batch waits, so the repaint that shows the key has no transcripts to redraw. Rooms other
than the focused one (the other panes of a tiled layout) get their transcript changes at
most every ``background_interval`` seconds, and so does the focused room while another
pane on screen streams too (one repaint of every pane at that pace costs less than the
focused pane's own repaints in between: with four panes at 5,000 chunks/s each, chunk to
screen p90 150–175 → 138–142 ms); while the user is typing (a key in the last
``TYPING_WINDOW`` seconds) every room's period is ``TYPING_FACTOR`` times longer: each
repaint of a streaming pane is loop time a key may have to wait for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from amux_tui.acp.pacing import Pacer
from amux_tui.engine import frames as F
from amux_tui.engine.room import RoomSubscriber

if TYPE_CHECKING:
    from amux_tui.engine.room import Room
    from amux_tui.engine.transcript_blocks import Block

FLUSH_INTERVAL = 0.04  # seconds: at most 25 widget updates a second per room
BACKGROUND_INTERVAL = 0.08  # seconds: rooms other than the focused one, 12 a second
TYPING_WINDOW = 0.5  # seconds after a key during which the user counts as typing
TYPING_FACTOR = 4  # periods are this much longer while the user types


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


class RoomHub(RoomSubscriber):
    """Subscriber of every room (the ``local`` peer); batches updates for the app.

    Args:
        flush: called with ``{room_id: blocks}`` and the set of rooms whose status changed.
        is_visible: whether a room's pane is on screen right now.
        attention: called as ``attention(room, reason)`` when a room that is not visible
            finishes a turn or starts waiting for permission.
        interval: the coalescing period.
        is_focused: whether a room is the focused one (default: every room is).
        pacer: the engine's; batches wait while it is held.
        background_interval: the coalescing period of transcript changes of rooms that
            are not focused, and of the focused one while other visible rooms stream
            (status changes of every room go at ``interval``).
            Both periods grow by ``TYPING_FACTOR`` while the user types (``pacer``).
        clock: seconds on the event loop's clock (default ``loop.time``); tests pass
            their own to stand at a given point of a period.
    """

    def __init__(
        self,
        flush: Callable[[dict[str, set[Block]], set[str]], None],
        is_visible: Callable[[str], bool],
        attention: Callable[[Room, str], None],
        interval: float = FLUSH_INTERVAL,
        *,
        is_focused: Callable[[str], bool] | None = None,
        pacer: Pacer | None = None,
        background_interval: float = BACKGROUND_INTERVAL,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._clock = clock if clock is not None else _loop_time
        self._flush_cb = flush
        self._is_visible = is_visible
        self._attention = attention
        self._is_focused = is_focused
        self._pacer = pacer
        self.interval = interval
        self.background_interval = background_interval
        self._handed: dict[str, float] = {}  # clock time a room's blocks were last handed over
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
        if pending is None:  # the room's first change since its last hand-over
            self._blocks[rid] = set(blocks)
            self._schedule(self._due_in(rid))
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
    def waiting(self, room_id: str) -> bool:
        """Whether transcript changes of ``room_id`` wait to be handed over (a flush of
        them is scheduled)."""
        return room_id in self._blocks

    def mark(self, room_id: str) -> None:
        """Ask for a status refresh of one room at the next flush."""
        self._status.add(room_id)
        self._schedule()

    def _schedule(self, delay: float | None = None) -> None:
        """Run :meth:`_due` in ``delay`` seconds (default ``interval``), or sooner if it
        is already due sooner. Called for a room's first change after a hand-over and for
        status changes, not for every frame."""
        loop = asyncio.get_running_loop()
        when = loop.time() + (self.interval if delay is None else delay)
        handle = self._handle
        if handle is not None:
            if handle.when() <= when:
                return
            handle.cancel()
        self._handle = loop.call_at(when, self._due)

    def _due(self) -> None:
        """The coalescing timer fired."""
        self._handle = None
        self._hand_over_due()

    def _hand_over_due(self) -> None:
        """Hand over what is due, unless a key is on its way (then once it is painted).
        Not the timer itself: run by the pacer, it must not forget a timer set meanwhile
        (:meth:`flush` cancels that one)."""
        pacer = self._pacer
        if pacer is not None and pacer.held:
            pacer.when_free(self._hand_over_due)
            return
        self.flush(due_only=True)

    def flush(self, *, due_only: bool = False) -> None:
        """Hand everything collected since the last flush to the app.

        Runs from the coalescing timer (``due_only``: the transcript changes of rooms that
        are not focused wait for their slower period); a direct call (e.g. a test that
        needs every frame recorded so far on screen now) hands the whole batch over at once.
        """
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if not self._blocks and not self._status:
            return
        now = self._clock()
        blocks, later = self._blocks, {}
        if due_only:
            periods = {room_id: self.period(room_id) for room_id in blocks}
            handed = self._handed
            for room_id, period in periods.items():
                if now - handed.get(room_id, -period) < period:
                    later[room_id] = blocks.pop(room_id)
        for room_id in blocks:
            self._handed[room_id] = now
        status = self._status
        self._blocks, self._status = later, set()
        if later:
            wait = min(self._handed[r] + periods[r] for r in later) - now
            self._schedule(wait)  # at its due time: a later timer would stretch the period
        if blocks or status:
            self._flush_cb(blocks, status)

    @property
    def next_handover(self) -> float | None:
        """Loop time of the next scheduled hand-over (None: nothing is scheduled)."""
        return None if self._handle is None else self._handle.when()

    def _due_in(self, room_id: str) -> float:
        """Seconds until a room's first change since its hand-over is due: one period
        after that hand-over, and at least ``interval`` after the change (the changes
        that follow it join it; a repaint leaves the loop that long for other work)."""
        handed = self._handed.get(room_id)
        if handed is None:
            return self.interval
        return max(self.interval, handed + self.period(room_id) - self._clock())

    def period(self, room_id: str) -> float:
        """Seconds between two hand-overs of a room's transcript changes."""
        focused = self._is_focused is None or self._is_focused(room_id)
        if focused and any(r != room_id and self._is_visible(r) for r in self._blocks):
            focused = False  # other panes stream too: one repaint of them all, at their pace
        period = self.interval if focused else self.background_interval
        pacer = self._pacer
        if pacer is not None and pacer.input_within(TYPING_WINDOW):
            period *= TYPING_FACTOR
        return period

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
