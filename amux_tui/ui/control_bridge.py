"""The app's side of the control socket: run the server, show what it changes.

:class:`ControlBridge` starts and stops the engine's
:class:`~amux_tui.engine.control.ControlServer` with the app, and listens to the engine:
a room created through the socket (``amux new``) is added to the room list and focused
unless it came with ``--background``; a room closed through it (``amux close``) loses its
pane and the focus moves to its neighbour. Rooms the app creates or closes itself pass
through here too; everything done here is idempotent, so that costs nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from amux_tui.engine.control import ControlServer
from amux_tui.engine.engine import EngineListener
from amux_tui.engine.room import Room

if TYPE_CHECKING:
    from amux_tui.ui.app import AmuxApp

log = logging.getLogger("amux.ui")


class ControlBridge(EngineListener):
    """Owns the app's control server and keeps the screen in step with the engine."""

    def __init__(self, app: AmuxApp) -> None:
        self.app = app
        self.server = ControlServer(app.engine)
        self._refocus: dict[str, str | None] = {}  # closing room → neighbour to focus

    async def start(self) -> None:
        """Listen to the engine and open the socket (a failure is shown, never fatal)."""
        self.app.engine.add_listener(self)
        try:
            await self.server.start()
        except OSError as exc:
            log.warning("control socket unavailable: %s", exc)
            self.app.notify(
                f"amux cannot be driven from the shell: control socket {self.server.path}: "
                f"{exc.strerror or exc}",
                severity="warning",
                timeout=10,
                markup=False,
            )

    async def stop(self) -> None:
        self.app.engine.remove_listener(self)
        await self.server.stop()

    # ---- EngineListener ----------------------------------------------------------------------
    def room_added(self, room: Room, *, focus: bool) -> None:
        self.app.run_worker(self._show(room, focus), group="control", exit_on_error=False)

    async def _show(self, room: Room, focus: bool) -> None:
        app = self.app
        if app._shut_down or room.id not in app.engine.rooms:
            return
        app.room_list.sync(list(app.engine.rooms.values()))
        await app.attach(room)
        if focus:
            await app.focus_room(room.id)
        else:
            app.refresh_rooms()

    def room_closing(self, room: Room) -> None:
        app = self.app
        if room.id in app._attached:  # closed from outside: let go before it stops
            room.unsubscribe(app.hub)
            app._attached.discard(room.id)
        if room.id in app.panes and app.engine.layout.focused == room.id:
            # Closed from outside while in front (the app's own close drops the pane first
            # and moves the focus itself): its neighbour takes its place.
            ids = list(app.engine.rooms)
            index = ids.index(room.id)
            after = ids[index + 1] if index + 1 < len(ids) else None
            self._refocus[room.id] = after or (ids[index - 1] if index else None)

    def room_closed(self, room_id: str) -> None:
        focus = self._refocus.pop(room_id, None)
        self.app.run_worker(self._forget(room_id, focus), group="control", exit_on_error=False)

    async def _forget(self, room_id: str, focus: str | None) -> None:
        app = self.app
        if app._shut_down:
            return
        await app.detach(room_id)  # its pane, if it still has one
        if app.previous_room == room_id:
            app.previous_room = None
        app.room_list.sync(list(app.engine.rooms.values()))
        if focus is not None and focus in app.engine.rooms:
            await app.focus_room(focus, move_focus=app.screen is app.screen_stack[0])
        else:
            await app.sync_panes()
        app.refresh_rooms()
