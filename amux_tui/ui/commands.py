"""Runs the key table's app commands: one entry point for keys, the prefix and the palette.

The app's collaborators (:class:`~amux_tui.ui.room_switcher.RoomSwitcher`,
:class:`~amux_tui.ui.room_lifecycle.RoomLifecycle`,
:class:`~amux_tui.ui.turn_control.TurnControl`) each hand over a ``{command id: handler}``
map; :class:`CommandRunner` checks it against the table once, at app start, and decides at
every call whether the command applies now (:attr:`~amux_tui.ui.keys.Command.when`).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from amux_tui.engine.room import RoomError
from amux_tui.ui.keys import BY_ID, COMMANDS, Command, KeyState

if TYPE_CHECKING:
    from textual.app import App

    from amux_tui.ui.app import AmuxApp

Handler = Callable[..., Awaitable[None] | None]


def guard(app: App[Any], what: Callable[[], Any]) -> Any:
    """Run a room method; a :class:`RoomError` is shown to the user and returns None."""
    try:
        return what()
    except RoomError as exc:
        app.notify(str(exc), severity="error", markup=False)
        return None


class AppPart:
    """A collaborator of the app that runs some of the key table's commands.

    Its methods named in :attr:`COMMANDS` (a command id each) are the handlers; they act
    through the app's public methods.
    """

    COMMANDS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, app: AmuxApp) -> None:
        self.app = app

    def handlers(self) -> dict[str, Handler]:
        return {command_id: getattr(self, command_id) for command_id in self.COMMANDS}


def needs_handler(command: Command) -> bool:
    """App commands: run by the app (no widget action), or reachable through the prefix."""
    return (command.action is None and not command.builtin) or bool(command.prefix)


class CommandRunner:
    """Every app command's handler, and whether it applies in the current state.

    Args:
        app: the app (for feedback: bell and notifications).
        state: the current :class:`KeyState` (the app knows focus and the focused room).
        handlers: command id → handler, for every command :func:`needs_handler` names.

    Raises:
        RuntimeError: a handler is missing or names no command of the table.
    """

    def __init__(
        self, app: App[Any], state: Callable[[], KeyState], handlers: Mapping[str, Handler]
    ) -> None:
        missing = {c.id for c in COMMANDS if needs_handler(c)} - handlers.keys()
        unknown = handlers.keys() - BY_ID.keys()
        if missing or unknown:
            raise RuntimeError(
                f"key table and handlers disagree: missing {sorted(missing)}, "
                f"unknown {sorted(unknown)}"
            )
        self.app = app
        self.state = state
        self._handlers = dict(handlers)

    def applies(self, command_id: str) -> bool:
        """Whether the command can run now (unknown ids: yes, they are not ours to judge)."""
        command = BY_ID.get(command_id)
        return command is None or command.when(self.state())

    async def run(self, command_id: str, *args: Any) -> bool:
        """Run a command if it applies now, else say why; True when it ran."""
        command = BY_ID[command_id]
        state = self.state()
        if not command.when(state):
            self.refuse(command, state)
            return False
        result = self._handlers[command_id](*args)
        if inspect.isawaitable(result):
            await result
        return True

    def refuse(self, command: Command, state: KeyState | None = None) -> None:
        """A command that does not apply now: its reason, or a bell when it has none."""
        room = (state or self.state()).room
        if room is None or not command.unavailable:
            self.app.bell()
        else:
            self.app.notify(command.unavailable.format(status=room.status), markup=False)

    def offered(self) -> list[Command]:
        """The commands the palette offers now: app commands that apply, in table order."""
        state = self.state()
        return [c for c in COMMANDS if c.palette and c.id in self._handlers and c.when(state)]
