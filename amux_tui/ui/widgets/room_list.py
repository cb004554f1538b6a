"""The room list sidebar: number, state glyph or spinner, title, agent, flags (SPEC §1.2)."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.reactive import var
from textual.widget import Widget

from amux_tui.engine.lifecycle import Lifecycle
from amux_tui.engine.room import Room
from amux_tui.text import one_line
from amux_tui.ui.format import Flags, agent_name, join, state_glyph


def room_number(index: int) -> str:
    """Display number of the room at ``index`` (1-based; the 10th is ``0`` like the key)."""
    n = index + 1
    return "0" if n == 10 else str(n) if n < 10 else " "


class RoomItem(Widget):
    """One room in the list; CSS classes mirror its state (-busy, -needs-you …)."""

    # (not `visible`/`focused`: Widget.visible is CSS visibility)
    current = var(False, toggle_class="-focused")
    in_view = var(False, toggle_class="-visible")
    busy = var(False, toggle_class="-busy")
    compacting = var(False, toggle_class="-compacting")
    needs_you = var(False, toggle_class="-needs-you")
    unread_flag = var(False, toggle_class="-unread")
    stopped = var(False, toggle_class="-exited")

    def __init__(self, room: Room) -> None:
        super().__init__(classes="room-item")
        self.room = room
        self.index = 0
        self.unread = False
        self.tick: int | None = 0

    def update_state(
        self, *, index: int, unread: bool, tick: int | None, focused: bool, visible: bool
    ) -> None:
        room = self.room
        self.index, self.unread, self.tick = index, unread, tick
        flags = Flags.of(room, unread)
        self.current, self.in_view, self.busy = focused, visible, room.busy
        self.compacting, self.needs_you, self.unread_flag = (
            flags.compacting,
            bool(flags.needs_you),
            flags.unread,
        )
        self.stopped = room.stopped
        self.refresh()

    def render(self) -> Content:
        room = self.room
        status = room.status
        glyph, style = state_glyph(status, self.tick)
        width = max(8, self.size.width - 5)
        first = Content.assemble(
            (room_number(self.index) + " ", "bold $text-muted"),
            (glyph + " ", style),
            (one_line(room.title, width), "bold" if self.unread else ""),
        )
        state = status
        if status == Lifecycle.EXITED and room.exit_code is not None:
            state = f"exited {room.exit_code}"
        parts: list[tuple[str, str]] = [(agent_name(room), "$secondary"), (state, style)]
        parts.extend(Flags.of(room, self.unread).parts(long=False))
        second = Content.assemble("    ", join(parts, " "))
        return Content("\n").join([first, second])

    def on_click(self, event: events.Click) -> None:
        self.post_message(RoomList.Selected(self.room.id))


class RoomList(VerticalScroll, can_focus=False):
    """Every room, in display order."""

    @dataclass
    class Selected(Message):
        """A room was clicked."""

        room_id: str

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._ids: list[str] = []
        self._items: dict[str, RoomItem] = {}

    def items(self) -> dict[str, RoomItem]:
        return dict(self._items)

    def item(self, room_id: str) -> RoomItem | None:
        """One room's entry (no copy of the whole list, for the spinner's ticks)."""
        return self._items.get(room_id)

    def sync(self, rooms: list[Room]) -> None:
        """Make the children match ``rooms`` (order included)."""
        ids = [r.id for r in rooms]
        if ids == self._ids:
            return
        self._ids = ids
        self._items = {room.id: RoomItem(room) for room in rooms}
        if self.is_mounted:  # before that, compose yields them
            self.remove_children()
            self.mount_all(list(self._items.values()))

    def compose(self) -> ComposeResult:
        yield from self._items.values()  # what sync was given before the list was mounted

    def show_room(self, room_id: str) -> None:
        """Scroll so that the room's entry is in view (the focused room, at any height)."""
        item = self._items.get(room_id)
        if item is not None:
            self.call_after_refresh(self.scroll_to_widget, item, animate=False)

    def update_room(self, room_id: str, **state: object) -> None:
        item = self.item(room_id)
        if item is not None:
            item.update_state(**state)  # type: ignore[arg-type]
