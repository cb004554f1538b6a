"""Creating, renaming, closing and restarting rooms, and the dialogs around them (new room,
rename, confirmations, inspector, help), plus quitting (SPEC §1.1, §1.4).

Each dialog's module is imported when it is first opened: none is on the first screen."""

from __future__ import annotations

import os
from typing import Any

from textual.content import Content

from amux_tui.engine.lifecycle import Lifecycle
from amux_tui.engine.room import Room
from amux_tui.text import one_line
from amux_tui.ui.commands import AppPart, guard
from amux_tui.ui.screens.dialog import open_dialog


class RoomLifecycle(AppPart):
    """The key table's commands that make, change or end rooms, and open dialogs."""

    COMMANDS = ("new_room", "rename_room", "close_room", "restart_room", "inspect", "help", "quit")

    # ---- creating, renaming, closing ----------------------------------------------------------
    async def new_room(self) -> None:
        from amux_tui.ui.screens.new_room import NewRoomScreen

        app = self.app
        config = app.engine.config
        room = app.current_room
        cwd = room.meta.cwd if room is not None and room.meta.cwd else os.getcwd()

        async def created(result: dict[str, Any] | None) -> None:
            if result is not None:
                await self.create_room(result["spec"], cwd=result["cwd"], title=result.get("title"))

        await open_dialog(
            app, NewRoomScreen(config.available(), config.default_agent, cwd), created
        )

    async def create_room(self, spec: Any, *, cwd: str, title: str | None) -> Room:
        """Create a room, show it, and start its agent."""
        app = self.app
        room = app.engine.create_room(spec, cwd=cwd, title=title)
        app.room_list.sync(list(app.engine.rooms.values()))
        await app.attach(room)
        await app.focus_room(room.id)
        return room

    async def rename_room(self) -> None:
        from amux_tui.ui.screens.rename import RenameScreen

        app = self.app
        room = app.current_room
        if room is None:
            return

        def renamed(title: str | None) -> None:
            if title is not None and room.id in app.engine.rooms:
                if not room.loaded:
                    app.notify(
                        "the room is still loading; try again in a moment", severity="warning"
                    )
                    return
                guard(app, lambda: room.rename(title))

        await open_dialog(app, RenameScreen(room.title), renamed)

    async def close_room(self) -> None:
        from amux_tui.ui.screens.confirm import ConfirmScreen

        room = self.app.current_room
        if room is None:
            return
        question = Content.assemble(
            "Close room ", (one_line(room.title, 60), "bold"),
            "?\nIts agent is stopped and its log is archived (not deleted).",
        )  # fmt: skip

        async def confirmed(yes: bool | None) -> None:
            if yes:
                await self.close(room.id)

        await open_dialog(self.app, ConfirmScreen(question, confirm="Close"), confirmed)

    async def close(self, room_id: str) -> None:
        """Detach, stop and archive a room, then focus its neighbour."""
        app = self.app
        ids = list(app.engine.rooms)
        if room_id not in ids:
            return
        index = ids.index(room_id)
        neighbour = ids[index + 1] if index + 1 < len(ids) else (ids[index - 1] if index else None)
        await app.detach(room_id)
        try:
            archived = await app.engine.close_room(room_id)
        except OSError as exc:
            app.notify(f"could not archive the room: {exc}", severity="error", markup=False)
            archived = None
        if app.previous_room == room_id:
            app.previous_room = None
        app.room_list.sync(list(app.engine.rooms.values()))
        if neighbour is not None and neighbour in app.engine.rooms:
            await app.focus_room(neighbour)
        else:
            await app.sync_panes()
        app.engine.save_layout()
        app.refresh_rooms()
        if archived is not None:
            app.notify(f"closed; log archived to {archived}", markup=False)

    # ---- the agent ----------------------------------------------------------------------------
    async def restart_room(self) -> None:
        app = self.app
        room = app.current_room
        if room is None:
            return
        await app.attach(room)
        if room.loaded and room.agent.launch is None:
            await self._choose_agent(room)  # its metadata could not say which agent
            return
        app.run_worker(self._restart(room), group="restart", exit_on_error=False)

    async def _choose_agent(self, room: Room) -> None:
        """Ask for the agent (and directory) of a room whose metadata was missing or
        corrupt, then start it."""
        from amux_tui.ui.screens.new_room import NewRoomScreen

        app = self.app
        config = app.engine.config

        async def chosen(result: dict[str, Any] | None) -> None:
            if result is None or room.id not in app.engine.rooms:
                return
            app.engine.assign_agent(room, result["spec"], result["cwd"])
            title = result.get("title")
            if title and title != room.title:
                guard(app, lambda: room.rename(title))
            app.run_worker(self._restart(room), group="restart", exit_on_error=False)

        screen = NewRoomScreen(
            config.available(),
            config.default_agent,
            room.meta.cwd or os.getcwd(),
            heading=f"Choose the agent for {one_line(room.title, 40)}",
            confirm="Start",
            title=room.title,
        )
        await open_dialog(app, screen, chosen)

    async def _restart(self, room: Room) -> None:
        try:
            await room.restart()
        except Exception as exc:
            self.app.notify(f"restart failed: {exc}", severity="error", markup=False)
        if room.status == Lifecycle.FAILED:
            self.app.notify(
                f"could not start: {one_line(room.failure or '', 200)}", markup=False,
                severity="error",
            )  # fmt: skip

    # ---- dialogs ------------------------------------------------------------------------------
    async def inspect(self) -> None:
        from amux_tui.ui.screens.inspector import InspectorScreen

        room = self.app.current_room
        if room is not None:
            await open_dialog(self.app, InspectorScreen(room))

    async def help(self) -> None:
        from amux_tui.ui.screens.help import HelpScreen, help_sections

        await open_dialog(self.app, HelpScreen(help_sections(self.app.keymap)))

    async def quit(self) -> None:
        """Quit at once, or ask first when a room is busy (its turn would be cancelled)."""
        from amux_tui.ui.screens.confirm import ConfirmScreen
        from amux_tui.ui.screens.unwritten import UnwrittenScreen

        app = self.app
        if isinstance(app.screen, (ConfirmScreen, UnwrittenScreen)):
            return  # already asking
        busy = [room for room in app.engine.rooms.values() if room.busy]
        if not busy:
            await app.quit_now()
            return
        names = ", ".join(one_line(r.title, 30) for r in busy[:4]) + (" …" if len(busy) > 4 else "")
        question = Content.assemble(
            (f"{len(busy)} room{'s are' if len(busy) > 1 else ' is'} busy: ", "bold"), names,
            "\nQuit anyway? Running turns are cancelled; everything is saved.",
        )  # fmt: skip

        async def confirmed(yes: bool | None) -> None:
            if yes:
                await app.quit_now()

        await open_dialog(app, ConfirmScreen(question, confirm="Quit"), confirmed)
