"""The app's key path: what Textual's bindings cannot express, and keys in typing order.

* The prefix (``ctrl+b``) is taken at the app, before the focused widget sees the key, so it
  works while the prompt has focus; the next key is a command of the key table and never
  reaches the prompt.
* A key pressed twice (escape escape) runs its command on the second press.
* No alt chord types text: an alt key nothing is bound to is refused, not typed.
* No keystroke is lost: text typed while the transcript, a button or the permission prompt
  has the focus (or nothing has) goes to the focused room's prompt, which takes the focus.
* Keys typed ahead keep their order. Textual runs a widget's non-priority binding when the
  key has bubbled back to the app, i.e. behind keys typed meanwhile (``ctrl+u`` then
  ``alpha`` in an input would delete the ``alp`` too); tab moving focus likewise lands the
  next keys in the old field. The router runs such bindings, and tab, at once, and lets a
  key that may move focus or close a dialog settle before the next one is read.
* Terminals name some keys differently: xterm's modifyOtherKeys form of a modified enter,
  tab, escape or backspace (``CSI 27;2;13~``) is read as ``shift+enter`` etc.

Everything here uses Textual's public API (``Screen.active_bindings``, ``App.run_action``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from textual import events
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Button, Input, Select, TextArea

from amux_tui.ui.keymap import spec_display
from amux_tui.ui.screens.dialog import Dialog
from amux_tui.ui.widgets.permission_panel import PermissionPanel
from amux_tui.ui.widgets.prompt_input import PromptInput
from amux_tui.ui.widgets.room_pane import RoomPane
from amux_tui.ui.widgets.transcript_view import TranscriptView

if TYPE_CHECKING:
    from amux_tui.ui.app import AmuxApp

SETTLE_KEYS = frozenset({"enter", "tab", "shift+tab", "escape"})
"""Keys that may move focus or close a dialog: the next key waits until they took effect."""
_SETTLE_ROUNDS = 8
_SETTLE_TIMEOUT = 0.25
DOUBLE_PRESS_WINDOW = 1.0  # seconds
# Control characters as Textual names keys sent in xterm's modifyOtherKeys form.
_CONTROL_NAMES = {"\r": "enter", "\t": "tab", "\x1b": "escape", "\x7f": "backspace"}
# Widgets that take no text: what is typed there belongs to the prompt (main screen) or to
# the dialog's text field.
_NOT_FOR_TEXT = (TranscriptView, Button, PermissionPanel)
_DIALOG_NOT_FOR_TEXT = (Button, Select)


@runtime_checkable
class ClaimsKeys(Protocol):
    """A field that handles some keys itself only in some states (tab completing)."""

    def owns_key(self, key: str, character: str | None) -> bool: ...


class PrefixState:
    """Armed by the prefix key; the next key is a command (escape or the prefix disarm)."""

    def __init__(self, on_change: Callable[[bool], None] | None = None) -> None:
        self.armed = False
        self._on_change = on_change

    def arm(self) -> None:
        self._set(True)

    def disarm(self) -> None:
        self._set(False)

    def _set(self, armed: bool) -> None:
        if armed != self.armed:
            self.armed = armed
            if self._on_change is not None:
                self._on_change(armed)


class DoublePress:
    """Detects the same key pressed twice within ``window`` seconds (escape twice cancels)."""

    def __init__(
        self, window: float = DOUBLE_PRESS_WINDOW, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window = window
        self._clock = clock
        self._first: float | None = None

    def press(self) -> bool:
        """Register a press; True when it completes a double press."""
        now = self._clock()
        if self._first is not None and now - self._first <= self.window:
            self._first = None
            return True
        self._first = now
        return False

    @property
    def pending(self) -> bool:
        """A first press happened and the window is still open."""
        return self._first is not None and self._clock() - self._first <= self.window

    def reset(self) -> None:
        self._first = None


class KeyRouter:
    """Routes keys of :class:`~amux_tui.ui.app.AmuxApp` before Textual's own handling."""

    def __init__(self, app: AmuxApp) -> None:
        self.app = app
        self.prefix = PrefixState(lambda _armed: app.update_key_bar())
        self.clock: Callable[[], float] = time.monotonic  # of double presses (tests move it)
        self._presses: dict[str, DoublePress] = {}
        self.reported: set[str] = set()
        """Keys only some terminals report, seen from this one (``shift+enter``)."""

    # ---- the app's on_event calls these ----------------------------------------------------------
    async def before(self, event: events.Key) -> bool:
        """Handle ``event`` now if it is ours to handle; True when it was."""
        app = self.app
        self._normalise(event)
        key, character = event.key, event.character
        main = len(app.screen_stack) == 1
        if main:
            if self.prefix.armed:
                self.prefix.disarm()
                await self.run_prefix(event)
                return True
            if app.keymap.is_prefix(key, character):
                self.prefix.arm()
                return True
            if self._refused(event):
                return True
        if self._alt_typing(event):
            app.bell()
            return True
        if main:
            self._to_the_prompt(event)
        else:
            self._to_the_dialog_field(event)
        if self._move_focus_now(event):
            return True
        if not self._typed_into_focus(event) and await self._run_binding_now(event):
            if key in SETTLE_KEYS:
                await self.settle()
            return True
        return False

    async def after(self, event: events.Key) -> None:
        """Textual has handled ``event``: let focus moves and dialogs settle."""
        if event.key in SETTLE_KEYS:
            await self.settle()

    # ---- the prefix and double presses -----------------------------------------------------------
    async def run_prefix(self, event: events.Key) -> None:
        """Run the command for the key pressed after the prefix."""
        app = self.app
        keymap = app.keymap
        if event.key == "escape" or keymap.is_prefix(event.key, event.character):
            return
        found = keymap.prefix_command(event.key, event.character)
        if found is None:
            app.bell()
            help_key = keymap.prefix_display("help", first=True)
            app.notify(
                f"{keymap.prefix} {event.character or event.key}: no such command "
                f"({help_key} lists them)",
                severity="warning",
                markup=False,
            )
            return
        command, args = found
        await app.runner.run(command.id, *args)

    async def press_twice(self, command_id: str) -> None:
        """One press of a double-press key: the second within the window runs the command."""
        app = self.app
        press = self.double_press(command_id)
        if press.press():
            await app.runner.run(command_id)
        else:
            app.set_timer(press.window + 0.05, app.update_key_bar)
        app.update_key_bar()

    def double_press(self, command_id: str) -> DoublePress:
        """The double-press detector of a command's key."""
        press = self._presses.get(command_id)
        if press is None:
            press = self._presses[command_id] = DoublePress(clock=self.clock)
        return press

    def reset_presses(self) -> None:
        for press in self._presses.values():
            press.reset()

    @property
    def badge(self) -> str | None:
        """The footer badge: ``PREFIX`` while armed, ``esc again`` after a first press."""
        if self.prefix.armed:
            return "PREFIX"
        for command_id, press in self._presses.items():
            if press.pending:
                return f"{spec_display(self.app.keymap.key_for(command_id), short=True)} again"
        return None

    def _refused(self, event: events.Key) -> bool:
        """A main-screen key of a command that does not apply now and can say why."""
        command = self.app.keymap.main_command(event.key, event.character)
        if command is None or not command.unavailable or self.app.runner.applies(command.id):
            return False
        self.app.runner.refuse(command)
        return True

    # ---- what a key is, and where typed text goes -------------------------------------------------
    def _normalise(self, event: events.Key) -> None:
        """Name keys the same whichever way the terminal sent them; note the rare ones."""
        modifiers, _, base = event.key.rpartition("+")
        if modifiers and base in _CONTROL_NAMES:  # modifyOtherKeys: CSI 27;2;13~ is "shift+\r"
            event.key, event.character = f"{modifiers}+{_CONTROL_NAMES[base]}", None
        if event.key == "shift+enter" and event.key not in self.reported:
            self.reported.add(event.key)
            self.app.terminal_reports(event.key)

    def _alt_typing(self, event: events.Key) -> bool:
        """An alt chord bound to nothing, which a text field would type (``alt+x`` → ``x``)."""
        if "alt+" not in event.key or not event.is_printable:
            return False
        if event.key in self.app.keymap.priority_keys:
            return False
        return event.key not in self.app.screen.active_bindings

    def _to_the_prompt(self, event: events.Key) -> None:
        """Text typed where no text goes (the transcript, a button, the permission prompt,
        or nowhere): the focused room's prompt takes the focus, and the key with it."""
        app = self.app
        focused = app.focused
        if focused is not None and not isinstance(focused, _NOT_FOR_TEXT):
            return
        if not (event.is_printable or (focused is None and event.key == "enter")):
            return
        if focused is not None and self._own_binding(focused, event.key):
            return  # the widget's own key (a button's space, the permission prompt's a)
        pane = app.current_pane
        if focused is not None:  # its own room's prompt (tiled: maybe not the focused room's)
            pane = next((a for a in focused.ancestors if isinstance(a, RoomPane)), pane)
        if pane is not None:
            pane.focus_input()

    def _to_the_dialog_field(self, event: events.Key) -> None:
        """Text typed on a dialog's button goes to its text field (the new room's title)."""
        screen, focused = self.app.screen, self.app.focused
        if not isinstance(screen, Dialog) or screen.TYPING_TARGET is None:
            return
        if not isinstance(focused, _DIALOG_NOT_FOR_TEXT) or not event.is_printable:
            return
        if self._own_binding(focused, event.key) or event.key == "space":
            return
        with contextlib.suppress(NoMatches):
            screen.set_focus(screen.query_one(screen.TYPING_TARGET))

    def _own_binding(self, widget: Widget, key: str) -> bool:
        active = self.app.screen.active_bindings.get(key)
        return active is not None and active.node is widget and active.enabled

    # ---- typing order ------------------------------------------------------------------------------
    def _typed_into_focus(self, event: events.Key) -> bool:
        """Keys the focused widget handles itself (text, and the prompt's own keys)."""
        focused = self.app.focused
        if isinstance(focused, ClaimsKeys) and focused.owns_key(event.key, event.character):
            return True
        return isinstance(focused, (Input, TextArea)) and (
            event.is_printable or event.key == "enter" and isinstance(focused, TextArea)
        )

    async def _run_binding_now(self, event: events.Key) -> bool:
        """Run the focused chain's non-priority binding for the key now, in typing order.

        Priority bindings (the app's room keys) are left to Textual, which runs them as soon
        as it reads the key.
        """
        app = self.app
        await self._drain_focused()  # keys already sent to the widget go first
        if event.key in app.keymap.priority_keys:
            return False
        active = app.screen.active_bindings.get(event.key)
        if active is None or active.binding.priority or not active.enabled:
            return False
        return await app.run_action(active.binding.action, active.node)

    async def _drain_focused(self) -> None:
        """Wait (bounded) until the focused widget has processed what is queued for it."""
        focused = self.app.focused
        if focused is None:
            return
        done = asyncio.Event()
        focused.call_later(done.set)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), _SETTLE_TIMEOUT)

    def _move_focus_now(self, event: events.Key) -> bool:
        """Tab / shift+tab on our own screens, at once rather than after the key bubbled
        back to the app (behind keys typed meanwhile, which would land in the old field)."""
        app = self.app
        keymap = app.keymap
        if event.key in keymap.keys_of("focus_next"):
            step = 1
        elif event.key in keymap.keys_of("focus_previous"):
            step = -1
        else:
            return False
        screen, focused = app.screen, app.focused
        if isinstance(focused, ClaimsKeys) and focused.owns_key(event.key, event.character):
            return False  # the field's own tab: completing a command or a directory
        if not isinstance(screen, (Dialog, type(app.screen_stack[0]))):
            return False
        if screen is not app.screen_stack[-1]:
            return False
        if focused is None or not isinstance(focused, (Input, PromptInput, Button)):
            return False  # other widgets may use tab themselves
        if getattr(focused, "OWNS_TAB", False):
            return False  # this field binds tab itself (the find bar)
        if step > 0:
            screen.focus_next()
        else:
            screen.focus_previous()
        return True

    async def settle(self) -> None:
        """Let a key that may move focus or close a dialog take effect before the next one.

        Textual routes each key to the widget focused *when the key is read*; keys typed
        ahead (enter then more text, tab then a title) would otherwise land in the old
        widget. Each round lets the focused widget and its ancestors process what is
        queued (a message bubbles one level per round); bounded, so it never hangs.
        """
        app = self.app
        for _ in range(_SETTLE_ROUNDS):
            focused = app.focused
            if focused is None:
                return
            nodes = [node for node in (focused, *focused.ancestors) if node is not app]
            done = [asyncio.Event() for _ in nodes]
            for node, event in zip(nodes, done, strict=True):
                node.call_later(event.set)
            try:
                await asyncio.wait_for(asyncio.gather(*(e.wait() for e in done)), _SETTLE_TIMEOUT)
            except TimeoutError:
                return
            if app.focused is not focused:
                return
