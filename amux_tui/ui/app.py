"""The Textual app shell: room list, room panes (single or tiled), keys, attention.

The UI is one subscriber of every room (:class:`~amux_tui.ui.hub.RoomHub`): it never
mutates engine state itself, it calls room methods (``prompt``, ``steer``, ``cancel`` …)
and redraws from what the rooms report, coalesced to at most one update per room every
40 ms. Room actions live in :class:`~amux_tui.ui.actions.RoomActions`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import threading
import time
from typing import Any

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal
from textual.widgets import Button, Input, Static, TextArea

from amux_tui.engine.lifecycle import Lifecycle
from amux_tui.engine.registry import Engine
from amux_tui.engine.room import Room
from amux_tui.ui import keys
from amux_tui.ui.actions import RoomActions
from amux_tui.ui.commands import RoomCommands
from amux_tui.ui.hub import RoomHub
from amux_tui.ui.notify import Notifier, TerminalNotifier
from amux_tui.ui.screens.dialog import Dialog
from amux_tui.ui.terminal_watch import watch_terminal
from amux_tui.ui.widgets.key_bar import KeyBar
from amux_tui.ui.widgets.permission_panel import PermissionPanel
from amux_tui.ui.widgets.prompt_input import PromptInput
from amux_tui.ui.widgets.room_list import RoomList
from amux_tui.ui.widgets.room_pane import RoomPane

log = logging.getLogger("amux.ui")

SPIN_INTERVAL = 0.1
LAYOUT_SAVE_DELAY = 0.5
_SETTLE_KEYS = frozenset({"enter", "tab", "shift+tab", "escape"})
_SETTLE_ROUNDS = 8
_SETTLE_TIMEOUT = 0.25
STARTING_WAIT = 5.0  # seconds a quit waits for agents that are still handshaking


class AmuxApp(RoomActions, App[None]):
    """amux's terminal UI over an opened :class:`Engine`.

    Args:
        engine: opened (lock taken, metadata read); rooms load lazily from here.
        create: ``{"spec", "cwd", "title"}`` from ``amux new``: create and focus that room.
        notifier: where attention for rooms off screen goes (default: bell + OSC 9).
        motion: False freezes spinners and cursor blinking (deterministic screenshots).
    """

    CSS_PATH = "app.tcss"
    TITLE = "amux"
    # Focus is the focused room's business (focus_room): Textual's default would focus the
    # first focusable widget, i.e. the first tiled pane, and so switch rooms by itself.
    AUTO_FOCUS = None
    COMMANDS = App.COMMANDS | {RoomCommands}
    BINDINGS = [
        Binding("ctrl+q", "quit", "quit (asks first when a room is busy)", priority=True),
        *(
            Binding(f"alt+{n}", f"jump({n})", f"room {n}", show=False, priority=True)
            for n in range(1, 10)
        ),
        Binding("ctrl+pagedown", "next_room", "next room", priority=True),
        Binding("ctrl+pageup", "prev_room", "previous room", priority=True),
        Binding("ctrl+r", "release_queue", "release a held queue", priority=True),
        Binding("escape", "escape", "twice: cancel the running turn"),
    ]

    def __init__(
        self,
        engine: Engine,
        create: dict[str, Any] | None = None,
        *,
        notifier: Notifier | None = None,
        motion: bool = True,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.create = create
        self.notifier: Notifier = notifier if notifier is not None else TerminalNotifier(self)
        self.motion = motion
        self.hub = RoomHub(self._apply_updates, self.is_visible, self._on_attention)
        self.prefix = keys.PrefixState(lambda _armed: self.update_key_bar())
        self.escape_press = keys.DoublePress(1.0)
        self.panes: dict[str, RoomPane] = {}
        self.previous_room: str | None = None
        self._attached: set[str] = set()
        self._start_tasks: dict[str, asyncio.Future[None]] = {}
        self._tick = 0
        self._layout_timer: Any = None
        self._shut_down = False
        self._terminal_watch: threading.Event | None = None

    # ---- composition and startup -------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # Kept as attributes: `query_one` on the app searches the *active* screen, which is
        # a dialog while one is open.
        self.key_bar = KeyBar(id="key-bar")
        self._room_list = RoomList(id="room-list")
        self.panes_container = Container(id="panes")
        self._empty = Static("No rooms. Press ctrl+b c to create one.", id="empty", markup=False)
        with Horizontal(id="main"):
            yield self._room_list
            with self.panes_container:
                yield self._empty
        yield self.key_bar

    async def on_mount(self) -> None:
        engine = self.engine
        for problem in engine.config.problems:
            self.notify(
                str(problem), title="agents.toml", severity="warning", timeout=15, markup=False
            )
        if self.create is not None:
            room = engine.create_room(
                self.create["spec"], cwd=self.create.get("cwd"), title=self.create.get("title")
            )
            engine.layout.focused = room.id
        elif not engine.rooms:
            room = engine.create_first_run_room()
            engine.layout.focused = room.id
        self.room_list.sync(list(engine.rooms.values()))
        self.panes_container.set_class(engine.layout.mode == "tiled", "-tiled")
        focused = (
            engine.layout.focused
            if engine.layout.focused in engine.rooms
            else next(iter(engine.rooms), None)
        )
        if focused is not None:
            await self.focus_room(focused)
        else:
            await self._sync_panes()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            # The terminal went away (ssh dropped, window closed): quit cleanly, so turns
            # are closed, logs synced and agents stopped rather than orphaned.
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._hangup)
        if not self.is_headless and sys.__stdin__ is not None and sys.__stdin__.isatty():
            self._terminal_watch = watch_terminal(
                sys.__stdin__.fileno(), self.engine.emergency_stop
            )
        self.run_worker(self._hydrate_all(), group="hydrate", exit_on_error=False)
        self.set_interval(SPIN_INTERVAL, self._spin)
        self.update_key_bar()

    async def _hydrate_all(self) -> None:
        """Lazy start: every room's log is loaded in the background, agents are not started."""
        for room in list(self.engine.rooms.values()):
            await self.attach(room)

    async def attach(self, room: Room) -> None:
        """Hydrate ``room`` if needed and subscribe to it (once)."""
        if room.id in self._attached:
            return
        try:
            await self.engine.load(room)
        except Exception as exc:  # a broken log must not take the app down
            log.exception("loading room %s failed", room.id)
            self.notify(f"could not load {room.title}: {exc}", severity="error", markup=False)
            return
        if room.id in self._attached or room.id not in self.engine.rooms or self._shut_down:
            return
        room.subscribe(self.hub)
        self._attached.add(room.id)
        pane = self.panes.get(room.id)
        if pane is not None and pane.is_mounted and self.is_visible(room.id):
            pane.show_transcript()
        self.hub.mark(room.id)

    async def activate(self, room: Room) -> None:
        """Load, subscribe and (lazy start) start the agent of a room that never ran."""
        await self.attach(room)
        if room.id not in self._attached or self._shut_down:
            return
        if room.status != Lifecycle.NOT_STARTED:
            return
        pending = self._start_tasks.get(room.id)
        if pending is not None and not pending.done():
            return  # already starting: a second ensure_started() before the first task
            # runs would spawn a second agent (the room's lifecycle flips only in start())
        task = room.ensure_started()  # Engine.activate(), minus the load done above
        if task is not None:
            self._start_tasks[room.id] = task

    # ---- which rooms are on screen -------------------------------------------------------------
    @property
    def room_list(self) -> RoomList:
        return self._room_list

    @property
    def current_room(self) -> Room | None:
        return self.engine.rooms.get(self.engine.layout.focused or "")

    @property
    def current_pane(self) -> RoomPane | None:
        return self.panes.get(self.engine.layout.focused or "")

    @property
    def tiled(self) -> bool:
        return self.engine.layout.mode == "tiled"

    def visible_ids(self) -> list[str]:
        if self.tiled:
            return list(self.engine.rooms)
        focused = self.engine.layout.focused
        return [focused] if focused in self.engine.rooms else []

    def is_visible(self, room_id: str) -> bool:
        if self.tiled:
            return room_id in self.engine.rooms
        return room_id == self.engine.layout.focused

    async def focus_room(self, room_id: str, *, move_focus: bool = True) -> None:
        """Make ``room_id`` the focused room: show it, clear unread, start it if needed."""
        engine = self.engine
        room = engine.rooms.get(room_id)
        if room is None:
            return
        if engine.layout.focused != room_id:
            self.previous_room = engine.layout.focused
            engine.layout.focused = room_id
            self.save_layout_soon()
        self.escape_press.reset()
        await self._sync_panes()
        if move_focus:
            pane = self.panes.get(room_id)
            if pane is not None:
                pane.focus_input()
        self.run_worker(self.activate(room), group="activate", exit_on_error=False)
        self.refresh_rooms()

    async def _sync_panes(self) -> None:
        """Mount panes for visible rooms (lazily, in room order) and show only those."""
        container = self.panes_container
        visible = self.visible_ids()
        for room_id in visible:
            if room_id not in self.panes:
                pane = RoomPane(self.engine.rooms[room_id], id=f"pane-{room_id}")
                self.panes[room_id] = pane
                await container.mount(pane)
        ordered = [self.panes[r] for r in self.engine.rooms if r in self.panes]
        for before, after in zip(ordered, ordered[1:], strict=False):
            if container.children.index(after) < container.children.index(before):
                container.move_child(after, after=before)
        for room_id, pane in self.panes.items():
            shown = room_id in visible
            if shown and not pane.display:
                pane.stale = True  # updates were skipped while hidden
            pane.display = shown
            pane.set_class(room_id == self.engine.layout.focused, "-focused")
            if shown and pane.stale and room_id in self._attached:
                pane.show_transcript()
        self._empty.display = not visible
        if self.tiled:
            count = max(1, len(visible))
            columns = 1 if count == 1 else 2 if count <= 4 else 3
            container.styles.grid_size_columns = columns
            container.styles.grid_size_rows = -(-count // columns)
        for room_id in visible:
            self.hub.seen(room_id)

    def save_layout_soon(self) -> None:
        """Focus and layout persist, but at most one small file write per half second."""
        if self._layout_timer is None:
            self._layout_timer = self.set_timer(LAYOUT_SAVE_DELAY, self._save_layout)

    def _save_layout(self) -> None:
        self._layout_timer = None
        if not self._shut_down:
            self.engine.save_layout()

    # ---- updates from the rooms --------------------------------------------------------------
    def _apply_updates(self, blocks: dict[str, set[Any]], status: set[str]) -> None:
        if self._shut_down:
            return
        for room_id, changed in blocks.items():
            pane = self.panes.get(room_id)
            if pane is None or not pane.is_mounted or room_id not in self._attached:
                continue
            if pane.display and self.is_visible(room_id):
                pane.blocks_changed(changed)
            else:
                pane.stale = True
        for room_id in status:
            self.refresh_room(room_id)
        if self.engine.layout.focused in status:
            self.update_key_bar()

    def refresh_room(self, room_id: str) -> None:
        """Redraw one room's list entry and, when on screen, its pane chrome."""
        room = self.engine.rooms.get(room_id)
        if room is None:
            return
        index = list(self.engine.rooms).index(room_id)
        unread = room_id in self.hub.unread
        tick = self._tick if self.motion else None
        focused = room_id == self.engine.layout.focused
        self.room_list.update_room(
            room_id,
            index=index,
            unread=unread,
            tick=tick,
            focused=focused,
            visible=self.is_visible(room_id),
        )
        pane = self.panes.get(room_id)
        if pane is not None and pane.is_mounted and pane.display:
            pane.update_status(unread=unread, tick=tick, index=index + 1, focused=focused)

    def refresh_rooms(self) -> None:
        self.room_list.sync(list(self.engine.rooms.values()))
        for room_id in self.engine.rooms:
            self.refresh_room(room_id)
        self.update_key_bar()

    def _spin(self) -> None:
        """Advance spinners of busy rooms (and re-check force stop, which is time based)."""
        if self._shut_down:
            return
        self._tick += 1
        tick = self._tick if self.motion else None
        for index, room in enumerate(self.engine.rooms.values()):
            if room.status not in (Lifecycle.BUSY, Lifecycle.STARTING):
                continue
            item = self.room_list.items().get(room.id)
            if item is not None:
                item.tick = tick
                item.refresh()
            pane = self.panes.get(room.id)
            if pane is not None and pane.is_mounted and pane.display:
                pane.tick(tick, index + 1, room.id in self.hub.unread)
        if not self.escape_press.pending and self.key_bar.badge == "esc again":
            self.update_key_bar()

    def _on_attention(self, room: Room, reason: str) -> None:
        """A room off screen finished a turn or needs permission (SPEC §1.5)."""
        if self.engine.config.notify:
            try:
                self.notifier(room.title, reason)
            except Exception:
                log.exception("notifier failed")

    # ---- keys ------------------------------------------------------------------------------------
    async def on_event(self, event: events.Event) -> None:
        # The prefix is taken here, before the focused widget (the prompt) sees the key.
        if isinstance(event, events.Key) and not event.is_forwarded:
            if len(self.screen_stack) == 1:
                if self.prefix.armed:
                    self.prefix.disarm()
                    await self.run_prefix(event)
                    return
                if event.key == keys.PREFIX:
                    self.prefix.arm()
                    return
            if event.key in ("tab", "shift+tab") and self._move_focus_now(event.key):
                return
            if not self._typed_into_focus(event) and await self._bindings_now(event.key):
                if event.key in _SETTLE_KEYS:
                    await self._settle()
                return
            if event.key in _SETTLE_KEYS:
                await super().on_event(event)
                await self._settle()
                return
        await super().on_event(event)

    def _typed_into_focus(self, event: events.Key) -> bool:
        """Keys the focused widget handles itself (text, and the prompt's own keys)."""
        focused = self.focused
        if isinstance(focused, PromptInput) and event.key in PromptInput.OWN_KEYS:
            return True
        return isinstance(focused, (Input, TextArea)) and (
            event.is_printable or event.key == "enter" and isinstance(focused, TextArea)
        )

    async def _bindings_now(self, key: str) -> bool:
        """Run the key's binding now, in typing order.

        Textual runs non-priority bindings when the key has bubbled back to the app, i.e.
        behind keys typed meanwhile: ``ctrl+u`` then ``alpha`` in an input would delete
        the ``alp`` too. Checking the bindings of the focus chain here keeps the order.
        """
        await self._drain_focused()  # keys already sent to the widget go first
        if await self._check_bindings(key, priority=True):
            return True
        return await self._check_bindings(key)

    async def _drain_focused(self) -> None:
        """Wait (bounded) until the focused widget has processed what is queued for it."""
        focused = self.focused
        if focused is None:
            return
        done = asyncio.Event()
        focused.call_later(done.set)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), _SETTLE_TIMEOUT)

    def _move_focus_now(self, key: str) -> bool:
        """Tab / shift+tab on our own screens, at once rather than after the key bubbled
        back to the app (behind keys typed meanwhile, which would land in the old field)."""
        focused = self.focused
        if (
            not isinstance(self.screen, (Dialog, type(self.screen_stack[0])))
            or self.screen is not self.screen_stack[-1]
        ):
            return False
        if focused is None or not isinstance(focused, (Input, PromptInput, Button)):
            return False  # other widgets may use tab themselves
        if key == "tab":
            self.screen.focus_next()
        else:
            self.screen.focus_previous()
        return True

    async def _settle(self) -> None:
        """Let a key that may move focus or close a dialog take effect before the next one.

        Textual routes each key to the widget focused *when the key is read*; keys typed
        ahead (enter then more text, tab then a title) would otherwise land in the old
        widget. Each round lets the focused widget and its ancestors process what is
        queued (a message bubbles one level per round); bounded, so it never hangs.
        """
        for _ in range(_SETTLE_ROUNDS):
            focused = self.focused
            if focused is None:
                return
            nodes = [node for node in (focused, *focused.ancestors) if node is not self]
            done = [asyncio.Event() for _ in nodes]
            for node, event in zip(nodes, done, strict=True):
                node.call_later(event.set)
            try:
                await asyncio.wait_for(asyncio.gather(*(e.wait() for e in done)), _SETTLE_TIMEOUT)
            except TimeoutError:
                return
            if self.focused is not focused:
                return

    async def run_prefix(self, event: events.Key) -> None:
        """Run the command for the key pressed after ``ctrl+b``."""
        if event.key in ("escape", keys.PREFIX):
            return
        entry = keys.lookup(event.key, event.character)
        if entry is None:
            self.bell()
            self.notify(
                f"ctrl+b {event.character or event.key}: no such command (ctrl+b ? lists them)",
                severity="warning",
                markup=False,
            )
            return
        if entry.action == "jump":
            digit = int(event.character or event.key)
            await self.action_jump(digit if digit else 10)
        else:
            await self.run_action(entry.action)

    def update_key_bar(self) -> None:
        """The footer: prefix commands while armed, else what the current state allows."""
        bar = self.key_bar
        if self._shut_down:
            return
        if self.prefix.armed:
            hints = [(entry.display, entry.footer) for entry in keys.PREFIX_KEYS if entry.footer]
            bar.set_hints(hints, "PREFIX", tail=[("esc", "cancel")])
            return
        room = self.current_room
        hints: list[tuple[str, str]] = [("ctrl+b", "prefix")]
        badge = "esc again" if self.escape_press.pending else None
        if isinstance(self.focused, PermissionPanel):
            hints += [
                ("1-9", "pick"),
                ("a", "allow"),
                ("A", "always"),
                ("r", "reject"),
                ("R", "never"),
                ("esc", "dismiss"),
            ]
        elif room is not None:
            if room.stopped:
                hints.append(("r", "restart"))
            hints.append(("enter", "queue" if room.busy else "send"))
            hints.append(("shift+enter", "newline"))
            if room.busy:
                hints += [
                    ("ctrl+s", "steer"),
                    ("esc esc", "force stop" if room.force_stop_available else "cancel"),
                ]
            if room.queue_held:
                hints.append(("ctrl+r", "release queue"))
            if room.pending_permissions:
                hints.append(("tab", "answer permission"))
            pane = self.current_pane
            if (
                pane is not None
                and pane.is_mounted
                and not getattr(pane.transcript_view, "follow", True)
            ):
                hints.insert(1, ("ctrl+b e", "↓ new output: follow"))
        hints += [("ctrl+b ?", "help"), ("ctrl+b w", "rooms"), ("ctrl+b z", "single" if self.tiled else "tiled"),
                  ("ctrl+b c", "new room"), ("ctrl+p", "commands")]  # fmt: skip
        bar.set_hints(hints, badge, tail=[("ctrl+q", "quit")])

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.update_key_bar()

    def on_transcript_view_follow_changed(self, event: Any) -> None:
        # The user scrolled up (or back to the end): offer the way back to live output.
        self.update_key_bar()

    # ---- shutdown --------------------------------------------------------------------------------
    async def shutdown(self) -> None:
        """Save drafts, detach, and let the engine cancel turns, sync logs, stop agents."""
        if self._shut_down:
            return
        self._shut_down = True
        for pane in self.panes.values():
            if pane.is_mounted:
                pane.save_draft()
        self.hub.close()
        for room_id in list(self._attached):
            room = self.engine.rooms.get(room_id)
            if room is not None:
                room.unsubscribe(self.hub)
        self._attached.clear()
        # A room still handshaking would be missed by the stop (its process is not known
        # yet) and outlive amux: let handshakes finish first (bounded).
        deadline = time.monotonic() + STARTING_WAIT
        while (
            any(r.status == Lifecycle.STARTING for r in self.engine.rooms.values())
            and time.monotonic() < deadline
        ):
            await asyncio.sleep(0.05)
        await self.engine.shutdown()

    def _hangup(self) -> None:
        self.run_worker(self._quit(), group="quit", exit_on_error=False)

    async def on_unmount(self) -> None:
        if self._terminal_watch is not None:
            self._terminal_watch.set()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        # Any exit path (an error, a test harness calling exit()) still stops the agents.
        try:
            await self.shutdown()
        except Exception:
            log.exception("shutdown failed")
