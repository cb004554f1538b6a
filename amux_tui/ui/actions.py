"""Room actions of the app: what keys, buttons and the command palette do.

Every action calls engine or room methods; a :class:`RoomError` becomes an error
notification (the message is written for users), never a crash.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.content import Content
from textual.css.query import NoMatches
from textual.screen import Screen

from amux_tui.engine.lifecycle import Lifecycle
from amux_tui.engine.room import Room, RoomError
from amux_tui.text import one_line
from amux_tui.ui import keys
from amux_tui.ui.format import agent_name
from amux_tui.ui.screens.confirm import ConfirmScreen
from amux_tui.ui.screens.help import HelpScreen, Section
from amux_tui.ui.screens.inspector import InspectorScreen
from amux_tui.ui.screens.new_room import NewRoomScreen
from amux_tui.ui.screens.picker import PickerEntry, RoomPickerScreen
from amux_tui.ui.screens.rename import RenameScreen
from amux_tui.ui.widgets.permission_panel import PermissionPanel
from amux_tui.ui.widgets.prompt_input import PromptInput
from amux_tui.ui.widgets.queue_strip import QueueStrip
from amux_tui.ui.widgets.room_header import FailureBanner
from amux_tui.ui.widgets.room_list import RoomList, room_number
from amux_tui.ui.widgets.room_pane import RoomPane

if TYPE_CHECKING:
    from amux_tui.ui.app import AmuxApp

    _Base = AmuxApp
else:
    _Base = object

PROMPT_KEYS: list[tuple[str, str]] = [
    ("enter", "send (queued while the agent is busy)"),
    ("shift+enter, ctrl+j", "newline"),
    ("up / down", "prompt history (on the first / last line)"),
    ("escape escape", "cancel the turn (if ignored 10 s: force stop)"),
    ("r (empty prompt)", "restart an exited or failed agent"),
    ("tab / shift+tab", "focus permission prompt, queue, transcript"),
]


def _key_display(key: str) -> str:
    """A binding's keys as typed: ``A,shift+a`` → ``A``; ``escape`` stays ``escape``."""
    return key.split(",")[0]


class RoomActions(_Base):
    """Mixin of :class:`~amux_tui.ui.app.AmuxApp`: the ``action_*`` methods and handlers."""

    def _guard(self, what: Callable[[], Any]) -> Any:
        """Run a room method; a RoomError is shown to the user and returns None."""
        try:
            return what()
        except RoomError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return None

    async def open_dialog(
        self, screen: Screen[Any], callback: Callable[[Any], Any] | None = None
    ) -> None:
        """Push a dialog and give its first field focus *now*.

        Keys typed ahead (``ctrl+b c`` then at once the directory) must land in the dialog:
        ``Widget.focus()`` is deferred behind those already-queued keys, so the mount is
        awaited and focus set synchronously.
        """
        await self.push_screen(screen, callback)
        selector = getattr(screen, "AUTO_FOCUS", None)
        if selector:
            with contextlib.suppress(NoMatches):
                screen.set_focus(screen.query_one(selector))

    def _room_or_bell(self) -> Room | None:
        room = self.current_room
        if room is None:
            self.bell()
        return room

    # ---- switching rooms ----------------------------------------------------------------------
    def _ids(self) -> list[str]:
        return list(self.engine.rooms)

    async def _step(self, step: int) -> None:
        ids = self._ids()
        if not ids:
            return
        current = self.engine.layout.focused
        index = ids.index(current) if current in ids else -step
        await self.focus_room(ids[(index + step) % len(ids)])

    async def action_next_room(self) -> None:
        await self._step(1)

    async def action_prev_room(self) -> None:
        await self._step(-1)

    async def action_jump(self, number: int) -> None:
        """Room number ``number`` as shown in the list (1-based; 10 for key ``0``)."""
        ids = self._ids()
        if 1 <= number <= len(ids):
            await self.focus_room(ids[number - 1])
        else:
            self.bell()

    async def action_last_room(self) -> None:
        if self.previous_room in self.engine.rooms:
            await self.focus_room(self.previous_room)  # type: ignore[arg-type]
        else:
            self.bell()

    async def action_attention(self) -> None:
        """Next room (after the current one) that needs you, else the next unread one."""
        ids = self._ids()
        if not ids:
            return
        current = self.engine.layout.focused
        start = ids.index(current) + 1 if current in ids else 0
        ring = ids[start:] + ids[:start]
        rooms = self.engine.rooms
        for pick in (
            lambda rid: bool(rooms[rid].loaded and rooms[rid].pending_permissions),
            lambda rid: rid in self.hub.unread,
        ):
            target = next((rid for rid in ring if pick(rid) and rid != current), None)
            if target is not None:
                await self.focus_room(target)
                return
        self.notify("no other room needs you or has unread output")

    async def action_pick_room(self) -> None:
        entries = [
            PickerEntry(
                room.id,
                room_number(i),
                one_line(room.title, 60),
                f"{agent_name(room)} · {room.status}",
            )
            for i, room in enumerate(self.engine.rooms.values())
        ]
        if not entries:
            self.bell()
            return

        async def chosen(room_id: str | None) -> None:
            if room_id:
                await self.focus_room(room_id)

        await self.open_dialog(RoomPickerScreen(entries, self.engine.layout.focused), chosen)

    async def on_room_list_selected(self, event: RoomList.Selected) -> None:
        await self.focus_room(event.room_id)

    async def on_room_pane_activated(self, event: RoomPane.Activated) -> None:
        if event.room_id != self.engine.layout.focused:
            await self.focus_room(event.room_id, move_focus=False)

    # ---- creating, renaming, closing ----------------------------------------------------------------
    async def action_new_room(self) -> None:
        config = self.engine.config
        room = self.current_room
        cwd = room.meta.cwd if room is not None and room.meta.cwd else os.getcwd()

        async def created(result: dict[str, Any] | None) -> None:
            if result is not None:
                await self.create_room(result["spec"], cwd=result["cwd"], title=result.get("title"))

        await self.open_dialog(
            NewRoomScreen(config.available(), config.default_agent, cwd), created
        )

    async def create_room(self, spec: Any, *, cwd: str, title: str | None) -> Room:
        """Create a room, show it, and start its agent."""
        room = self.engine.create_room(spec, cwd=cwd, title=title)
        self.room_list.sync(list(self.engine.rooms.values()))
        await self.attach(room)
        await self.focus_room(room.id)
        return room

    async def action_rename_room(self) -> None:
        room = self._room_or_bell()
        if room is None:
            return

        def renamed(title: str | None) -> None:
            if title is not None and room.id in self.engine.rooms:
                if not room.loaded:
                    self.notify(
                        "the room is still loading; try again in a moment", severity="warning"
                    )
                    return
                self._guard(lambda: room.rename(title))
                self.refresh_room(room.id)

        await self.open_dialog(RenameScreen(room.title), renamed)

    async def action_close_room(self) -> None:
        room = self._room_or_bell()
        if room is None:
            return
        question = Content.assemble(
            "Close room ", (one_line(room.title, 60), "bold"),
            "?\nIts agent is stopped and its log is archived (not deleted).",
        )  # fmt: skip

        async def confirmed(yes: bool | None) -> None:
            if yes:
                await self.close_room(room.id)

        await self.open_dialog(ConfirmScreen(question, confirm="Close"), confirmed)

    async def close_room(self, room_id: str) -> None:
        """Detach, stop and archive a room, then focus its neighbour."""
        ids = self._ids()
        if room_id not in ids:
            return
        index = ids.index(room_id)
        neighbour = ids[index + 1] if index + 1 < len(ids) else (ids[index - 1] if index else None)
        room = self.engine.rooms[room_id]
        if room_id in self._attached:
            room.unsubscribe(self.hub)
            self._attached.discard(room_id)
        self.hub.unread.discard(room_id)
        pane = self.panes.pop(room_id, None)
        if pane is not None:
            await pane.remove()
        try:
            archived = await self.engine.close_room(room_id)
        except OSError as exc:
            self.notify(f"could not archive the room: {exc}", severity="error", markup=False)
            archived = None
        if self.previous_room == room_id:
            self.previous_room = None
        self.room_list.sync(list(self.engine.rooms.values()))
        if neighbour is not None and neighbour in self.engine.rooms:
            await self.focus_room(neighbour)
        else:
            await self._sync_panes()
        self.engine.save_layout()
        self.refresh_rooms()
        if archived is not None:
            self.notify(Content.assemble("closed; log archived to ", str(archived)))

    # ---- layout, screens --------------------------------------------------------------------------
    async def action_toggle_layout(self) -> None:
        layout = self.engine.layout
        layout.mode = "single" if layout.mode == "tiled" else "tiled"
        self.panes_container.set_class(layout.mode == "tiled", "-tiled")
        self.save_layout_soon()
        await self._sync_panes()
        pane = self.current_pane
        if pane is not None:
            pane.focus_input()
        if layout.mode == "tiled":
            for room in list(self.engine.rooms.values()):
                self.run_worker(self.attach(room), group="attach", exit_on_error=False)
        self.refresh_rooms()

    def help_sections(self) -> list[Section]:
        """Every key, generated from the binding tables."""
        prefix = [(f"{keys.PREFIX_DISPLAY} {e.display}", e.description) for e in keys.PREFIX_KEYS]
        app_keys = [
            (_key_display(b.key), b.description)
            for b in self.BINDINGS  # type: ignore[attr-defined]
            if not b.key.startswith("alt+")
        ]
        app_keys.insert(0, ("alt+1 … alt+9", "jump to room 1–9"))
        app_keys.append(
            (self.COMMAND_PALETTE_BINDING, "command palette: every room action by name")
        )
        permission = [(_key_display(b.key), b.description) for b in PermissionPanel.BINDINGS[9:]]  # type: ignore[union-attr]
        permission.insert(0, ("1 … 9", "pick the option by position"))
        prompt = [
            *PROMPT_KEYS,
            *((_key_display(b.key), b.description) for b in PromptInput.BINDINGS),
        ]  # type: ignore[union-attr]
        return [
            ("Prefix commands (ctrl+b, then the key)", prefix),
            ("Anywhere", app_keys),
            ("Prompt", list(dict.fromkeys(prompt))),
            ("Permission prompt (when it has focus)", permission),
        ]

    async def action_help(self) -> None:
        await self.open_dialog(HelpScreen(self.help_sections()))

    async def action_inspect(self) -> None:
        room = self._room_or_bell()
        if room is not None:
            await self.open_dialog(InspectorScreen(room))

    # ---- the running turn ---------------------------------------------------------------------------
    def action_escape(self) -> None:
        """Escape twice within a second cancels the turn (force stop once that is offered)."""
        room = self.current_room
        if room is None or not room.busy:
            self.escape_press.reset()
            return
        if not self.escape_press.press():
            self.update_key_bar()
            self.set_timer(self.escape_press.window + 0.05, self.update_key_bar)
            return
        if room.force_stop_available:
            self.action_force_stop()
        elif self._guard(room.cancel):
            self.notify("cancel sent to the agent", timeout=3)
        self.update_key_bar()

    def action_cancel_turn(self) -> None:
        room = self._room_or_bell()
        if room is not None and not self._guard(room.cancel):
            self.notify("no turn is running")

    def action_force_stop(self) -> None:
        room = self._room_or_bell()
        if room is None:
            return
        if not room.busy:
            self.notify("no turn is running")
            return
        self._guard(room.force_stop)
        self.notify("force stopping the agent; it restarts and resumes", severity="warning")

    def action_release_queue(self) -> None:
        room = self._room_or_bell()
        if room is None:
            return
        if not room.queue_held:
            self.notify("nothing is held in this room's queue")
            return
        self._guard(room.release_queue)
        self.refresh_room(room.id)

    def action_unqueue_last(self) -> None:
        room = self._room_or_bell()
        items = room.public_queue if room is not None else []
        if not items:
            self.notify("the queue is empty")
            return
        self.unqueue(items[-1].id)  # type: ignore[arg-type]

    def unqueue(self, queue_item_id: str) -> None:
        room = self.current_room
        if room is not None:
            self._guard(lambda: room.unqueue(queue_item_id))
            self.refresh_room(room.id)

    async def action_restart_room(self) -> None:
        room = self._room_or_bell()
        if room is None:
            return
        if room.status in (Lifecycle.STARTING, Lifecycle.BUSY):
            self.notify(
                f"the agent is {room.status}; cancel first or use force stop", severity="warning"
            )
            return
        await self.attach(room)
        self.run_worker(self._restart(room), group="restart", exit_on_error=False)

    async def _restart(self, room: Room) -> None:
        try:
            await room.restart()
        except Exception as exc:
            self.notify(f"restart failed: {exc}", severity="error", markup=False)
        if room.status == Lifecycle.FAILED:
            self.notify(
                Content.assemble("could not start: ", one_line(room.failure or "", 200)),
                severity="error",
            )

    def action_toggle_thoughts(self) -> None:
        pane = self.current_pane
        if pane is not None:
            view = pane.transcript_view
            view.show_thoughts = not view.show_thoughts

    def action_jump_to_end(self) -> None:
        pane = self.current_pane
        if pane is not None:
            pane.transcript_view.jump_to_end()

    # ---- quitting --------------------------------------------------------------------------------
    async def action_quit(self) -> None:
        if isinstance(self.screen, ConfirmScreen):
            return  # already asking
        busy = [room for room in self.engine.rooms.values() if room.busy]
        if not busy:
            await self._quit()
            return
        names = ", ".join(one_line(r.title, 30) for r in busy[:4]) + (" …" if len(busy) > 4 else "")
        question = Content.assemble(
            (f"{len(busy)} room{'s are' if len(busy) > 1 else ' is'} busy: ", "bold"), names,
            "\nQuit anyway? Running turns are cancelled; everything is saved.",
        )  # fmt: skip

        async def confirmed(yes: bool | None) -> None:
            if yes:
                await self._quit()

        await self.open_dialog(ConfirmScreen(question, confirm="Quit"), confirmed)

    async def _quit(self) -> None:
        self.notify("saving and stopping agents…", timeout=5)
        await self.shutdown()
        self.exit(return_code=0)

    # ---- messages from the panes ---------------------------------------------------------------------
    def _pane_room(self, widget: Any) -> Room | None:
        for node in widget.ancestors_with_self:
            if isinstance(node, RoomPane):
                return node.room
        return None

    def on_prompt_input_submitted(self, event: PromptInput.Submitted) -> None:
        room = self._pane_room(event.prompt)
        if room is None or not event.text.strip():
            return
        if not room.loaded:
            self.notify("the room is still loading; try again in a moment", severity="warning")
            event.prompt.give_back(event.text)
            return
        if self._guard(lambda: room.prompt(event.text)) is None:
            event.prompt.give_back(event.text)
            return
        self._sent(event.prompt, room)

    def on_prompt_input_steered(self, event: PromptInput.Steered) -> None:
        room = self._pane_room(event.prompt)
        if room is None or not event.text.strip():
            return
        result = self._guard(lambda: room.steer(event.text)) if room.loaded else None
        if result is None:
            event.prompt.give_back(event.text)
            return
        if result == "steered":
            self.notify(
                "steering: the turn is cancelled and redone with your correction", timeout=4
            )
        self._sent(event.prompt, room)

    def _sent(self, prompt: PromptInput, room: Room) -> None:
        room.set_draft(prompt.text)  # usually empty; keeps anything typed after enter
        self.refresh_room(room.id)
        self.update_key_bar()

    async def on_prompt_input_restart_requested(self, event: PromptInput.RestartRequested) -> None:
        await self.action_restart_room()

    async def on_failure_banner_restart_pressed(self, event: FailureBanner.RestartPressed) -> None:
        if event.room_id != self.engine.layout.focused:
            await self.focus_room(event.room_id)
        await self.action_restart_room()

    def on_permission_panel_answered(self, event: PermissionPanel.Answered) -> None:
        room = self._pane_room(event.panel)
        if room is not None:
            self._guard(lambda: room.answer_permission(event.request_id, event.option_id))
            self.refresh_room(room.id)
            if not room.pending_permissions:
                pane = self.panes.get(room.id)
                if pane is not None:
                    pane.prompt.focus()

    def on_queue_strip_remove_requested(self, event: QueueStrip.RemoveRequested) -> None:
        room = self._pane_room(event.strip) or self.current_room
        if room is not None:
            self._guard(lambda: room.unqueue(event.queue_item_id))
            self.refresh_room(room.id)
