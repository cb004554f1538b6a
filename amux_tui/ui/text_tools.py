"""Getting text out of rooms: find in the room, find in every room, copy mode, quick copies,
and bringing a closed room back (from the room picker or a search hit)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from amux_tui.engine.archive import ArchivedRoom
from amux_tui.engine.room import Room
from amux_tui.ui.commands import AppPart
from amux_tui.ui.copy_mode import CopyModeBar, code_block_at, copy_text, last_reply
from amux_tui.ui.screens.dialog import open_dialog
from amux_tui.ui.widgets.find_bar import FindBar
from amux_tui.ui.widgets.room_pane import RoomPane

if TYPE_CHECKING:
    from amux_tui.ui.screens.search import SearchChoice


class TextTools(AppPart):
    """The key table's find and copy commands."""

    COMMANDS = ("find", "find_rooms", "copy_mode", "copy_reply", "copy_code")

    def _pane(self) -> RoomPane | None:
        pane = self.app.current_pane
        if pane is None or not pane.is_mounted or not pane.room.loaded:
            self.app.bell()
            return None
        return pane

    def _close_bars(self, pane: RoomPane) -> None:
        for bar in pane.query(FindBar):
            bar.close(stay=False)
        for copy in pane.query(CopyModeBar):
            copy.action_leave()

    # ---- find -----------------------------------------------------------------------------------
    async def find(self) -> FindBar | None:
        """Open the find bar of the focused room (again: focus it)."""
        pane = self._pane()
        if pane is None:
            return None
        existing = pane.query(FindBar)
        if existing:
            existing.first().input.focus()
            return existing.first()
        self._close_bars(pane)
        back = self.app.focused if self.app.focused is not None else pane.prompt
        bar = FindBar(pane.transcript_view, self.app.keymap, back_to=back)
        bar.back_to = None if back is pane.transcript_view else back
        await pane.mount(bar, after=pane.transcript_view)
        return bar

    async def find_rooms(self) -> None:
        """Search every room's log; the hit chosen opens its room there."""
        from amux_tui.ui.screens.search import RoomLog, SearchRoomsScreen  # when opened

        app = self.app
        rooms_dir = app.engine.paths.rooms_dir
        rooms = [RoomLog(r.id, r.title, r.log_path) for r in app.engine.rooms.values()]
        rooms += [RoomLog(a.room_id, a.title, a.log_path, a.path) for a in app.engine.archived()]
        if not rooms_dir.is_dir() or not rooms:
            app.bell()
            return

        async def chosen(choice: SearchChoice | None) -> None:
            if choice is not None:
                await self.open_hit(choice)

        await open_dialog(app, SearchRoomsScreen(rooms), chosen)

    async def open_hit(self, choice: SearchChoice) -> None:
        """Focus the hit's room (reopening it if closed) and show the hit, bar closed."""
        app = self.app
        room_id = choice.room.room_id
        if choice.room.archived is not None:
            archived = next((a for a in app.engine.archived() if a.path == choice.room.archived),
                            None)  # fmt: skip
            if archived is None:
                app.notify("that room is no longer in the archive", severity="error")
                return
            room = await self.reopen(archived)
            if room is None:
                return
            room_id = room.id
        await app.focus_room(room_id)
        room = app.engine.rooms.get(room_id)
        if room is None:
            return
        await app.attach(room)
        pane = app.panes.get(room_id)
        if pane is None:
            return
        pane.show_transcript()
        # A pane shown for the first time has no size yet; the hit is revealed once it has.
        await pane.transcript_view.until_laid_out()
        bar = await self.find()
        if bar is None:
            return
        bar.regex = choice.regex
        bar.input.value = choice.query
        bar.search_now()
        bar.finder.select(choice.hit.block, choice.hit.offset)
        bar.close(stay=True)

    async def reopen(self, archived: ArchivedRoom) -> Room | None:
        """Bring a closed room back and show it; its agent resumes its session."""
        app = self.app
        try:
            room = await app.engine.reopen_room(archived)
        except OSError as exc:
            app.notify(f"could not reopen {archived.title}: {exc}", severity="error",
                       markup=False)  # fmt: skip
            return None
        app.room_list.sync(list(app.engine.rooms.values()))
        await app.attach(room)
        await app.focus_room(room.id)
        app.notify(f"reopened {room.title}", markup=False)
        return room

    # ---- copy -----------------------------------------------------------------------------------
    async def copy_mode(self) -> None:
        pane = self._pane()
        if pane is None:
            return
        self._close_bars(pane)
        back = self.app.focused if self.app.focused is not None else pane.prompt
        await pane.mount(CopyModeBar(pane.transcript_view, self.app.keymap, back_to=back),
                         after=pane.transcript_view)  # fmt: skip

    def copy_reply(self) -> None:
        room = self.app.current_room
        if room is None or not room.loaded:
            self.app.bell()
            return
        copy_text(self.app, last_reply(room.transcript.blocks), "last reply")

    def copy_code(self) -> None:
        room = self.app.current_room
        if room is None or not room.loaded:
            self.app.bell()
            return
        blocks = room.transcript.blocks
        copy_text(self.app, code_block_at(blocks, len(blocks) - 1, ""), "code block")
