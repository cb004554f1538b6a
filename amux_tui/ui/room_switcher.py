"""Moving between rooms: next, previous, by number, last, the one that needs you, the picker,
and the single / tiled layout (SPEC §1.4)."""

from __future__ import annotations

from amux_tui.engine.snapshot import agent_label
from amux_tui.text import one_line
from amux_tui.ui.commands import AppPart
from amux_tui.ui.format import agent_name
from amux_tui.ui.screens.dialog import open_dialog
from amux_tui.ui.widgets.room_list import room_number


class RoomSwitcher(AppPart):
    """The room-switching commands of the key table; the app does the showing."""

    COMMANDS = (
        "next_room",
        "prev_room",
        "jump",
        "last_room",
        "pick_room",
        "attention",
        "toggle_layout",
    )

    def _ids(self) -> list[str]:
        return list(self.app.engine.rooms)

    async def _step(self, step: int) -> None:
        ids = self._ids()
        if not ids:
            return
        current = self.app.engine.layout.focused
        index = ids.index(current) if current in ids else -step
        await self.app.focus_room(ids[(index + step) % len(ids)])

    async def next_room(self) -> None:
        await self._step(1)

    async def prev_room(self) -> None:
        await self._step(-1)

    async def jump(self, number: int) -> None:
        """Room ``number`` as shown in the list (1-based; key ``0`` is the 10th)."""
        number = number or 10
        ids = self._ids()
        if 1 <= number <= len(ids):
            await self.app.focus_room(ids[number - 1])
        else:
            self.app.bell()

    async def last_room(self) -> None:
        previous = self.app.previous_room
        if previous is not None and previous in self.app.engine.rooms:
            await self.app.focus_room(previous)
        else:
            self.app.bell()

    async def attention(self) -> None:
        """Next room (after the current one) that needs you, else the next unread one."""
        ids = self._ids()
        if not ids:
            return
        app = self.app
        current = app.engine.layout.focused
        start = ids.index(current) + 1 if current in ids else 0
        ring = ids[start:] + ids[:start]
        rooms = app.engine.rooms
        for pick in (
            lambda rid: bool(rooms[rid].loaded and rooms[rid].pending_permissions),
            lambda rid: rid in app.hub.unread,
        ):
            target = next((rid for rid in ring if pick(rid) and rid != current), None)
            if target is not None:
                await app.focus_room(target)
                return
        app.notify("no other room needs you or has unread output")

    async def pick_room(self) -> None:
        from amux_tui.ui.screens.picker import PickerEntry, RoomPickerScreen  # when opened

        app = self.app
        entries = [
            PickerEntry(
                room.id,
                room_number(i),
                one_line(room.title, 60),
                f"{agent_name(room)} · {room.status}",
            )
            for i, room in enumerate(app.engine.rooms.values())
        ]
        archived = {f"closed:{a.path.name}": a for a in app.engine.archived()}
        entries += [
            PickerEntry(key, "", one_line(a.title, 60),
                        f"{one_line(agent_label(a.meta), 30)} · closed {a.archived_at}", closed=True)
            for key, a in archived.items()
        ]  # fmt: skip
        if not entries:
            app.bell()
            return

        async def chosen(room_id: str | None) -> None:
            if room_id in archived:
                await app.text_tools.reopen(archived[room_id])
            elif room_id:
                await app.focus_room(room_id)

        await open_dialog(app, RoomPickerScreen(entries, app.engine.layout.focused), chosen)

    async def toggle_layout(self) -> None:
        app = self.app
        layout = app.engine.layout
        layout.mode = "single" if layout.mode == "tiled" else "tiled"
        app.save_layout_soon()
        await app.sync_panes()
        pane = app.current_pane
        if pane is not None:
            pane.focus_input()
        if layout.mode == "tiled":
            for room in list(app.engine.rooms.values()):
                app.run_worker(app.attach(room), group="attach", exit_on_error=False)
        app.refresh_rooms()
