"""The Textual app shell: room list, room panes (single or tiled), keys, attention.

The UI is one subscriber of every room (:class:`~amux_tui.ui.hub.RoomHub`): it never
mutates engine state itself, it calls room methods (``prompt``, ``steer``, ``cancel`` …)
and redraws from what the rooms report, coalesced to at most one update per room every
40 ms. The app composes the screen, wires rooms to the hub, decides what is on screen and
shuts down; its collaborators do the rest:

* :class:`~amux_tui.ui.key_router.KeyRouter`: the key path (prefix, typing order);
* :class:`~amux_tui.ui.commands.CommandRunner`: the key table's commands, run by key, prefix
  or palette, with :class:`~amux_tui.ui.room_switcher.RoomSwitcher`,
  :class:`~amux_tui.ui.room_lifecycle.RoomLifecycle` and
  :class:`~amux_tui.ui.turn_control.TurnControl` doing the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Collection, Iterable
from typing import Any

from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Horizontal
from textual.driver import Driver
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget

from amux_tui.engine.config import ConfigProblem
from amux_tui.engine.engine import Engine
from amux_tui.engine.lifecycle import Lifecycle
from amux_tui.engine.room import Room
from amux_tui.gc_pause import end_startup_pause
from amux_tui.ui.commands import CommandRunner
from amux_tui.ui.control_bridge import ControlBridge
from amux_tui.ui.copy_mode import CopyModeBar, copy_text
from amux_tui.ui.direct_output import direct_output_driver
from amux_tui.ui.footer import footer_hints, prefix_hints
from amux_tui.ui.hub import RoomHub
from amux_tui.ui.input_first import EchoScreen, InputFirst
from amux_tui.ui.key_router import KeyRouter, PrefixState
from amux_tui.ui.keymap import DEFAULT_KEYMAP, Keymap, keymap_from_config
from amux_tui.ui.keys import PREFIX, KeyState, Scope
from amux_tui.ui.notify import Notifier, TerminalNotifier
from amux_tui.ui.palette import AmuxCommands
from amux_tui.ui.quiet_gc import CHECK_EVERY as GC_CHECK_EVERY
from amux_tui.ui.quiet_gc import QuietCollector
from amux_tui.ui.room_lifecycle import RoomLifecycle
from amux_tui.ui.room_switcher import RoomSwitcher
from amux_tui.ui.screens.unwritten import finish_quit
from amux_tui.ui.terminal_watch import watch_terminal
from amux_tui.ui.text_tools import TextTools
from amux_tui.ui.textual_compat import (
    breakpoint_classes,
    read_legacy_alt_keys,
    write_to_terminal,
)
from amux_tui.ui.turn_control import TurnControl
from amux_tui.ui.widgets.find_bar import FindInput
from amux_tui.ui.widgets.key_bar import KeyBar
from amux_tui.ui.widgets.pane_grid import PaneGrid
from amux_tui.ui.widgets.permission_panel import PermissionPanel
from amux_tui.ui.widgets.prompt_input import PromptInput
from amux_tui.ui.widgets.queue_strip import QueueStrip
from amux_tui.ui.widgets.room_header import FailureBanner
from amux_tui.ui.widgets.room_list import RoomList
from amux_tui.ui.widgets.room_pane import RoomPane
from amux_tui.ui.widgets.transcript_view import TranscriptView

log = logging.getLogger("amux.ui")

SPIN_INTERVAL = 0.1
LAYOUT_SAVE_DELAY = 0.5
# xterm's modifyOtherKeys (level 1): terminals without the kitty keyboard protocol (xterm,
# tmux with `extended-keys on`) then report shift+enter apart from enter.
MODIFY_OTHER_KEYS_ON = "\x1b[>4;1m"
MODIFY_OTHER_KEYS_OFF = "\x1b[>4;0m"
TMUX_PREFIX_HINT = "tmux-prefix"

_FOCUS_SCOPES: tuple[tuple[type[Widget], Scope], ...] = (
    (PromptInput, Scope.PROMPT),
    (PermissionPanel, Scope.PERMISSION),
    (TranscriptView, Scope.TRANSCRIPT),
    (FindInput, Scope.FIND),
    (CopyModeBar, Scope.COPY),
)


class AmuxApp(App[None]):
    """amux's terminal UI over an opened :class:`Engine`.

    Args:
        engine: opened (lock taken, metadata read); rooms load lazily from here.
        create: ``{"spec", "cwd", "title"}`` from ``amux new``: create and focus that room.
        notifier: where attention for rooms off screen goes (default: bell + OSC 9).
        motion: False freezes spinners and cursor blinking (deterministic screenshots).
        keymap: the keys (default: the key table's, with the config file's ``[keys]``).
    """

    CSS_PATH = "app.tcss"
    TITLE = "amux"
    # Focus is the focused room's business (focus_room): Textual's default would focus the
    # first focusable widget, i.e. the first tiled pane, and so switch rooms by itself.
    AUTO_FOCUS = None
    COMMANDS = {AmuxCommands}  # amux's commands, then Textual's own, in one ordered list
    # Screens (dialogs too) get -short / -narrow classes: 80x24 keeps everything reachable.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    BINDINGS = DEFAULT_KEYMAP.bindings(Scope.MAIN)

    def __init__(
        self,
        engine: Engine,
        create: dict[str, Any] | None = None,
        *,
        notifier: Notifier | None = None,
        motion: bool = True,
        keymap: Keymap | None = None,
    ) -> None:
        self.engine = engine
        # Before Textual's __init__, which asks for the driver class (get_driver_class).
        self.input_first = InputFirst(self, engine.pacer)
        self.quiet_gc = QuietCollector(engine.pacer)
        self._sync_panes_lock = asyncio.Lock()
        self._painted = False  # the first screen is on the terminal
        super().__init__()
        self.create = create
        self.notifier: Notifier = notifier if notifier is not None else TerminalNotifier(self)
        self.motion = motion
        self.key_problems: list[ConfigProblem] = []
        if keymap is None:
            keymap, self.key_problems = keymap_from_config(engine.config)
        self.keymap = keymap
        read_legacy_alt_keys()  # alt+1 in tmux: ESC 1, not "¡"
        # Class-level BINDINGS hold the table's defaults; Textual rebinds the rest by id.
        self.set_keymap(self.keymap.textual_keymap())
        self.hub = RoomHub(
            self._apply_updates, self.is_visible, self._on_attention,
            is_focused=self.is_focused, pacer=engine.pacer,
        )  # fmt: skip
        self.previous_room: str | None = None
        self.switcher = RoomSwitcher(self)
        self.lifecycle = RoomLifecycle(self)
        self.turns = TurnControl(self)
        self.text_tools = TextTools(self)
        self.runner = CommandRunner(
            self,
            self.key_state,
            {**self.switcher.handlers(), **self.lifecycle.handlers(), **self.turns.handlers(),
             **self.text_tools.handlers()},
        )  # fmt: skip
        self.key_router = KeyRouter(self)
        # Kept as attributes: `query_one` on the app searches the *active* screen, which is
        # a dialog while one is open.
        self.room_list = RoomList(id="room-list")
        new_room = self.keymap.prefix_display("new_room", first=True)
        self.pane_grid = PaneGrid(self.keymap, f"No rooms. Press {new_room} to create one.",
                                  self.newline_key, id="panes")  # fmt: skip
        self.key_bar = KeyBar(id="key-bar")
        self._attached: set[str] = set()
        self._start_tasks: dict[str, asyncio.Future[None]] = {}
        self._tick = 0
        self._spin_later: set[str] = set()  # rooms whose spinner frame waits for output
        self._layout_timer: Timer | None = None
        self._shut_down = False
        self._terminal_watch: threading.Event | None = None
        self.control = ControlBridge(self)  # the control socket (amux send/watch/new …)

    @property
    def prefix(self) -> PrefixState:
        """Armed by the prefix key (``ctrl+b``)."""
        return self.key_router.prefix

    # ---- composition and startup -------------------------------------------------------------
    def compose(self) -> ComposeResult:
        engine = self.engine
        if self.create is not None:
            room = engine.create_room(
                self.create["spec"], cwd=self.create.get("cwd"), title=self.create.get("title")
            )
            engine.layout.focused = room.id
        elif not engine.rooms:
            room = engine.create_first_run_room(self.keymap.prefix_display("new_room", first=True))
            engine.layout.focused = room.id
        if engine.layout.focused not in engine.rooms:
            engine.layout.focused = next(iter(engine.rooms), None)
        # The first screen in one layout: the room list and the panes shown first are
        # composed with the app, not mounted after it (see PaneGrid.start_with).
        rooms = list(engine.rooms.values())
        self.room_list.sync(rooms)
        self.pane_grid.start_with(
            rooms, self.visible_ids(), engine.layout.focused, tiled=self.tiled
        )
        with Horizontal(id="main"):
            yield self.room_list
            yield self.pane_grid
        yield self.key_bar

    async def on_mount(self) -> None:
        engine = self.engine
        for problem in [*engine.config.problems, *self.key_problems]:
            self.notify(
                str(problem), title="agents.toml", severity="warning", timeout=15, markup=False
            )
        write_to_terminal(self, MODIFY_OTHER_KEYS_ON)
        self._hint_tmux_prefix()
        focused = engine.layout.focused  # chosen in compose
        if focused is not None:
            await self.focus_room(focused)
        else:
            await self.sync_panes()
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
        self.set_interval(GC_CHECK_EVERY, self.quiet_gc.check)
        self.update_key_bar()
        await self.control.start()
        self.call_after_refresh(self._first_paint_done)

    def _hint_tmux_prefix(self) -> None:
        """Inside tmux, ctrl+b is tmux's own prefix: say once how to reach amux's."""
        layout = self.engine.layout
        if not os.environ.get("TMUX") or self.keymap.prefix != PREFIX:
            return
        if TMUX_PREFIX_HINT in layout.hints_shown:
            return
        layout.hints_shown.append(TMUX_PREFIX_HINT)
        self.save_layout_soon()
        prefix = self.keymap.prefix
        self.notify(
            f"tmux takes {prefix} itself: press {prefix} twice to send it to amux (tmux's "
            f"send-prefix), or give amux another prefix in {self.engine.config.path}:\n"
            f'[keys]\nprefix = "ctrl+a"',
            title=f"{prefix} inside tmux",
            timeout=30,
            markup=False,
        )

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

    async def detach(self, room_id: str) -> None:
        """Unsubscribe from a room and remove its pane (before it is closed)."""
        room = self.engine.rooms.get(room_id)
        if room is not None and room_id in self._attached:
            room.unsubscribe(self.hub)
        self._attached.discard(room_id)
        self.hub.unread.discard(room_id)
        await self.pane_grid.drop(room_id)

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
    def panes(self) -> dict[str, RoomPane]:
        """Every mounted room pane, by room id."""
        return self.pane_grid.panes

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

    def is_focused(self, room_id: str) -> bool:
        return room_id == self.engine.layout.focused

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
        self.key_router.reset_presses()
        await self.sync_panes()
        if move_focus:
            pane = self.panes.get(room_id)
            if pane is not None:
                pane.focus_input()
        if self._painted:
            self.run_worker(self.activate(room), group="activate", exit_on_error=False)
        else:  # at start: the first screen first, then the agent's process (a CPU of its own)
            self.call_after_refresh(
                lambda: self.run_worker(self.activate(room), group="activate", exit_on_error=False)
            )
        self.refresh_rooms()
        self.room_list.show_room(room_id)

    async def sync_panes(self) -> None:
        """Show the visible rooms' panes (mounted the first time) and hide the others.

        One at a time, each with the rooms visible when it runs: a switch made while an
        earlier one waits for a pane to mount must not be undone by that earlier one
        finishing with what was visible before (the room switched to hidden, the keys
        typed next going nowhere)."""
        async with self._sync_panes_lock:
            visible = self.visible_ids()
            await self.pane_grid.show(
                list(self.engine.rooms.values()), visible, self.engine.layout.focused,
                tiled=self.tiled, attached=self._attached,
            )  # fmt: skip
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
        self._spin_later.difference_update(status)  # refresh_room draws their frame
        self._spin_with(blocks)
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
        if isinstance(self.screen, EchoScreen):
            self.screen.paint_soon()  # agent output on screen without waiting a frame

    def refresh_room(self, room_id: str) -> None:
        """Redraw one room's list entry and, when on screen, its pane chrome."""
        room = self.engine.rooms.get(room_id)
        if room is None:
            return
        index = self._room_index(room_id)
        unread = room_id in self.hub.unread
        tick = self._tick if self.motion else None
        self.room_list.update_room(
            room_id,
            index=index,
            unread=unread,
            tick=tick,
            focused=room_id == self.engine.layout.focused,
            visible=self.is_visible(room_id),
        )
        pane = self.panes.get(room_id)
        if pane is not None and pane.is_mounted and pane.display:
            pane.update_status(unread=unread, tick=tick, index=index + 1)

    def refresh_rooms(self) -> None:
        self.room_list.sync(list(self.engine.rooms.values()))
        for room_id in self.engine.rooms:
            self.refresh_room(room_id)
        self.update_key_bar()

    def _spin(self) -> None:
        """Advance spinners of busy rooms (and re-check force stop, which is time based).

        A room whose output waits in the hub gets its new frame with that output (see
        :meth:`_spin_with`): drawn now, it would cost a repaint of its own (the header and
        the room list item, and, Textual painting the box around all that changed, what
        lies between them), ten times a second per streaming room."""
        if self._shut_down:
            return
        self._tick += 1
        for room in self.engine.rooms.values():
            if room.status not in (Lifecycle.BUSY, Lifecycle.STARTING):
                continue
            if self.hub.waiting(room.id):
                self._spin_later.add(room.id)
            else:
                self._spin_later.discard(room.id)
                self._draw_spinner(room.id)
        if self.key_bar.badge is not None and self.key_bar.badge != self.key_router.badge:
            self.update_key_bar()  # a double press's window closed

    def _spin_with(self, handed: Collection[str]) -> None:
        """Draw the spinner frames that waited for output, now that the output of the rooms
        ``handed`` is on its way to the screen.

        While other panes stream too, the focused room's frequent batches leave the frames
        to the next batch of the other panes, which repaints every pane anyway (a frame
        drawn with the focused pane's batch alone doubled the cost of that repaint: the
        room list is drawn with it, and everything between)."""
        later = self._spin_later
        if not later:
            return
        others_coming = any(room_id not in handed for room_id in later)
        if others_coming and all(self.is_focused(room_id) for room_id in handed):
            return
        for room_id in list(later):
            later.discard(room_id)
            self._draw_spinner(room_id)

    def _draw_spinner(self, room_id: str) -> None:
        tick = self._tick if self.motion else None
        item = self.room_list.item(room_id)
        if item is not None:
            item.tick = tick
            item.refresh()
        pane = self.panes.get(room_id)
        if pane is not None and pane.is_mounted and pane.display:
            pane.tick(tick, self._room_index(room_id) + 1, room_id in self.hub.unread)

    def _room_index(self, room_id: str) -> int:
        """The room's place in the room list (its number minus one)."""
        return list(self.engine.rooms).index(room_id)

    def _on_attention(self, room: Room, reason: str) -> None:
        """A room off screen finished a turn or needs permission (SPEC §1.5)."""
        if self.engine.config.notify:
            try:
                self.notifier(room.title, reason)
            except Exception:
                log.exception("notifier failed")

    # ---- keys ------------------------------------------------------------------------------------
    async def on_event(self, event: events.Event) -> None:
        # Keys go through the router first: the prefix is taken before the focused widget
        # (the prompt) sees the key, and keys typed ahead keep their order.
        if isinstance(event, events.Key) and not event.is_forwarded:
            self.input_first.key_taken()
            try:
                if await self.key_router.before(event):
                    return
                await super().on_event(event)
                await self.key_router.after(event)
            finally:
                self.input_first.key_done()
            return
        await super().on_event(event)

    def get_default_screen(self) -> Screen:
        screen = EchoScreen(self.input_first, id="_default")
        # Its size classes from the start: set at its first resize, they would style the
        # whole screen a second time before the first paint.
        screen.update_classes(breakpoint_classes(screen, self.size), update=False)
        return screen

    def get_driver_class(self) -> type[Driver]:
        return direct_output_driver(self.input_first.driver_class(super().get_driver_class()))

    def key_state(self) -> KeyState:
        """What the key table's conditions and hints look at."""
        pane = self.current_pane
        following = pane.transcript_view.follow if pane is not None and pane.is_mounted else True
        # The main screen's focus (also while a dialog is open over it).
        focused = self.screen_stack[0].focused if self.screen_stack else None
        focus = next((s for kind, s in _FOCUS_SCOPES if isinstance(focused, kind)), Scope.MAIN)
        return KeyState(
            self.current_room, focus, following, self.tiled, (("newline", self.newline_key),)
        )

    @property
    def newline_key(self) -> str:
        """The newline key to name: shift+enter once this terminal was seen to report it,
        else the first that works everywhere (ctrl+j)."""
        keys = self.keymap.keys_of("newline")
        if "shift+enter" in keys and "shift+enter" in self.key_router.reported:
            return "shift+enter"
        return next((k for k in keys if k != "shift+enter"), self.keymap.key_for("newline"))

    def terminal_reports(self, key: str) -> None:
        """This terminal reports ``key`` (shift+enter): hints may name it from now on."""
        for pane in self.panes.values():
            if pane.is_mounted:
                pane.set_newline_key(self.newline_key)
        self.pane_grid.newline_key = self.newline_key
        self.update_key_bar()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The key table's commands apply only in some states (cancel while a turn runs …).
        if action in ("command", "twice") and parameters:
            return self.runner.applies(str(parameters[0]))
        return True

    async def action_command(self, command_id: str, *args: Any) -> None:
        """A key bound to one of the key table's app commands."""
        await self.runner.run(command_id, *args)

    async def action_twice(self, command_id: str) -> None:
        """One press of a key that runs its command when pressed twice."""
        await self.key_router.press_twice(command_id)

    async def action_quit(self) -> None:
        # Textual's own ways to quit (its palette command, ``app.quit``) ask first too.
        await self.runner.run("quit")

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # amux's "quit" (which asks first when a room is busy) replaces Textual's.
        for command in super().get_system_commands(screen):
            if command.callback != self.action_quit:
                yield command

    def update_key_bar(self) -> None:
        """The footer: prefix commands while armed, else what the current state allows."""
        if self._shut_down:
            return
        if self.prefix.armed:
            hints, tail = prefix_hints(self.keymap)
        else:
            hints, tail = footer_hints(self.keymap, self.key_state())
        self.key_bar.set_hints(hints, self.key_router.badge, tail=tail)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.update_key_bar()

    def on_text_selected(self, event: events.TextSelected) -> None:
        # A mouse drag over the transcript copies what it selected (OSC 52).
        if any(isinstance(w, TranscriptView) for w in self.screen.selections):
            copy_text(self, self.screen.get_selected_text() or "", "selection")

    def on_transcript_view_follow_changed(self, event: TranscriptView.FollowChanged) -> None:
        # The user scrolled up (or back to the end): offer the way back to live output.
        self.update_key_bar()

    # ---- messages from the panes and the room list ------------------------------------------------
    async def on_room_list_selected(self, event: RoomList.Selected) -> None:
        await self.focus_room(event.room_id)

    async def on_room_pane_activated(self, event: RoomPane.Activated) -> None:
        if event.room_id == self.engine.layout.focused:
            return
        if event.by_focus:
            # Arrives after the focus change that caused it; a room switch made since (keys
            # typed ahead) moved the focus on, and acting on it would switch back.
            pane, focused = self.panes.get(event.room_id), self.screen.focused
            if pane is None or focused is None or pane not in focused.ancestors_with_self:
                return
        await self.focus_room(event.room_id, move_focus=False)

    def on_prompt_input_submitted(self, event: PromptInput.Submitted) -> None:
        self.turns.submitted(event)

    def on_prompt_input_steered(self, event: PromptInput.Steered) -> None:
        self.turns.steered(event)

    async def on_failure_banner_restart_pressed(self, event: FailureBanner.RestartPressed) -> None:
        if event.room_id != self.engine.layout.focused:
            await self.focus_room(event.room_id)
        await self.runner.run("restart_room")

    def on_permission_panel_answered(self, event: PermissionPanel.Answered) -> None:
        self.turns.answered(event)

    def on_queue_strip_remove_requested(self, event: QueueStrip.RemoveRequested) -> None:
        self.turns.remove_requested(event)

    # ---- shutdown --------------------------------------------------------------------------------
    async def shutdown(self) -> None:
        """Save drafts, detach, and let the engine cancel turns, sync logs, stop agents."""
        if self._shut_down:
            return
        self._shut_down = True
        await self.control.stop()  # streams end before the rooms close
        for pane in self.panes.values():
            if pane.is_mounted:
                pane.save_draft()
        self.hub.close()
        for room_id in list(self._attached):
            room = self.engine.rooms.get(room_id)
            if room is not None:
                room.unsubscribe(self.hub)
        self._attached.clear()
        await self.engine.shutdown()  # a handshake under way is cancelled, its agent stopped

    async def quit_now(self, *, ask: bool = True) -> None:
        """Save everything, stop the agents and exit; anything the disk would not take
        is never dropped silently (``ask``: the user decides, see ``finish_quit``)."""
        self.notify("saving and stopping agents…", timeout=5)
        await self.shutdown()
        await finish_quit(self, self.engine, ask=ask)

    def _first_paint_done(self) -> None:
        self._painted = True
        end_startup_pause()  # the CLI paused the GC to start faster
        if not self._shut_down:
            self.quiet_gc.start()  # after the start's objects were frozen: it measures the heap

    def _hangup(self) -> None:
        # Nobody is left to answer a dialog: finish_quit retries once, then exits non-zero.
        self.run_worker(self.quit_now(ask=False), group="quit", exit_on_error=False)

    async def on_unmount(self) -> None:
        self.quiet_gc.stop()
        write_to_terminal(self, MODIFY_OTHER_KEYS_OFF)
        if self._terminal_watch is not None:
            self._terminal_watch.set()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        # Any exit path (an error, a test harness calling exit()) still stops the agents.
        try:
            await self.shutdown()
        except Exception:
            log.exception("shutdown failed")
