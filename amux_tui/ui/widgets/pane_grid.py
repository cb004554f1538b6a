"""The room panes: the focused room's alone (single) or every room's in a grid (tiled)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from textual.app import ComposeResult
from textual.containers import Container
from textual.widgets import Static

from amux_tui.engine.room import Room
from amux_tui.ui.keymap import DEFAULT_KEYMAP, Keymap
from amux_tui.ui.widgets.room_pane import RoomPane


def _pane_id(room_id: str) -> str:
    return f"pane-{room_id}"


class PaneGrid(Container):
    """Mounts a room's pane the first time it is shown (in room order) and keeps it.

    Args:
        keymap: handed to every pane.
        empty: the text shown when there is no room.
        newline_key: the newline key panes name (what this terminal reports).
    """

    def __init__(
        self,
        keymap: Keymap = DEFAULT_KEYMAP,
        empty: str = "",
        newline_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.keymap = keymap
        self.empty = empty
        self.newline_key = newline_key
        self.panes: dict[str, RoomPane] = {}
        self._retired: list[RoomPane] = []  # dropped, hidden, removed after the next layout

    def on_mount(self) -> None:
        # immediate: right after the layout, before a later drop could retire another pane
        self.screen.screen_layout_refresh_signal.subscribe(
            self, self._remove_retired, immediate=True
        )

    def compose(self) -> ComposeResult:
        empty = Static(self.empty, id="empty", markup=False)
        empty.display = not self.panes
        yield empty
        yield from self.panes.values()  # made by start_with

    def start_with(
        self, rooms: Sequence[Room], visible: Collection[str], focused: str | None, *, tiled: bool
    ) -> None:
        """Before the grid is mounted: the panes shown first are composed with it, so the
        first screen is laid out and painted once, as it will stay (mounted afterwards,
        each would be laid out half-made and painted so on the way)."""
        by_id = {room.id: room for room in rooms}
        for room_id in [r for r in by_id if r in visible]:
            self.panes[room_id] = self._new_pane(by_id[room_id], focused)
        self._arrange(tiled, len(visible), update=False)

    async def show(
        self,
        rooms: Sequence[Room],
        visible: Collection[str],
        focused: str | None,
        *,
        tiled: bool,
        attached: Collection[str],
    ) -> None:
        """Show the panes of ``visible`` rooms (of ``rooms``, in that order), hide the rest.

        A pane shown again after updates were skipped while hidden catches up with its
        room's transcript, if the room is ``attached`` (loaded and subscribed).
        """
        self._arrange(tiled, len(visible))
        by_id = {room.id: room for room in rooms}
        for room_id in visible:
            if room_id not in self.panes:
                pane_id = _pane_id(room_id)
                for old in [p for p in self._retired if p.id == pane_id]:  # reopened at once
                    self._retired.remove(old)
                    await old.remove()
                pane = self._new_pane(by_id[room_id], focused)
                self.panes[room_id] = pane
                await self.mount(pane)
        ordered = [self.panes[r] for r in by_id if r in self.panes]
        for before, after in zip(ordered, ordered[1:], strict=False):
            if self.children.index(after) < self.children.index(before):
                self.move_child(after, after=before)
        for room_id, pane in self.panes.items():
            shown = room_id in visible
            if shown and not pane.display:
                pane.stale = True  # updates were skipped while hidden
            pane.display = shown
            pane.set_class(room_id == focused, "-focused")
            if shown and pane.stale and room_id in attached:
                pane.show_transcript()
        self.query_one("#empty").display = not visible

    def _new_pane(self, room: Room, focused: str | None) -> RoomPane:
        pane = RoomPane(room, self.keymap, self.newline_key, id=_pane_id(room.id))
        # Classed before mounting: a class set after would restyle the new pane.
        pane.set_class(room.id == focused, "-focused", update=False)
        return pane

    def _arrange(self, tiled: bool, count: int, *, update: bool = True) -> None:
        self.set_class(tiled, "-tiled", update=update)
        if tiled:
            columns = 1 if count <= 1 else 2 if count <= 4 else 3
            self.styles.grid_size_columns = columns
            self.styles.grid_size_rows = -(-max(1, count) // columns)

    async def drop(self, room_id: str) -> None:
        """Remove a room's pane (the room is being closed).

        The pane is hidden now and removed once this screen has been laid out without it:
        a dialog on top (the close confirmation, the room picker) paints this screen from
        its last layout, and a widget removed but still in that layout cannot be drawn
        (Textual fails on it)."""
        pane = self.panes.pop(room_id, None)
        if pane is not None:
            pane.display = False
            self._retired.append(pane)
            self.refresh(layout=True)

    def _remove_retired(self, screen: Any) -> None:
        """After a layout of the screen: the panes retired before it are in it no more."""
        retired, self._retired = self._retired, []
        for pane in retired:
            pane.remove()
