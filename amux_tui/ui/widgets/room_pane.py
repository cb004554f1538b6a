"""One room on screen: header, failure banner, transcript, permission prompt, queue, prompt."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.message import Message
from textual.reactive import var
from textual.timer import Timer
from textual.widget import Widget

from amux_tui.engine.room import Room
from amux_tui.ui.keymap import DEFAULT_KEYMAP, Keymap
from amux_tui.ui.keys import Scope
from amux_tui.ui.motion import still_cursors
from amux_tui.ui.widgets.permission_panel import PermissionPanel
from amux_tui.ui.widgets.prompt_input import PromptInput
from amux_tui.ui.widgets.queue_strip import QueueStrip
from amux_tui.ui.widgets.room_header import FailureBanner, RoomHeader
from amux_tui.ui.widgets.transcript_view import TranscriptView

if TYPE_CHECKING:
    from amux_tui.engine.transcript import Block

DRAFT_DEBOUNCE = 0.5  # seconds of quiet typing before the draft is saved to the room
TYPING_GRACE = 1.0  # a permission prompt does not steal focus from someone typing
# The clock that says how long ago the user typed (tests replace it to decide "mid-sentence"
# without depending on how fast the machine is).
clock: Callable[[], float] = time.monotonic


class RoomPane(Widget):
    """Everything of one room; the app shows one (single) or all (tiled).

    Args:
        room: the room shown.
        keymap: the app's keys (for the prompt's own keys and every key the pane names).
    """

    busy = var(False, toggle_class="-busy")
    compacting = var(False, toggle_class="-compacting")
    needs_you = var(False, toggle_class="-needs-you")
    stopped = var(False, toggle_class="-exited")

    @dataclass
    class Activated(Message):
        """Focus moved into this pane (keyboard or mouse): it becomes the focused room."""

        room_id: str

    def __init__(self, room: Room, keymap: Keymap = DEFAULT_KEYMAP, **kwargs: Any) -> None:
        super().__init__(classes="room-pane", **kwargs)
        self.room = room
        self.keymap = keymap
        # Kept (not queried): the app reads its follow state on every key and footer update.
        self.transcript_view = TranscriptView(classes="transcript")
        self.stale = True  # the transcript view has not been given the current transcript
        self._draft_timer: Timer | None = None
        self._last_typed = 0.0
        self._had_permission = False

    def compose(self) -> ComposeResult:
        room, keymap = self.room, self.keymap
        yield RoomHeader(room, keymap, classes="room-header")
        yield FailureBanner(room, keymap, classes="failure-banner")
        yield self.transcript_view
        yield PermissionPanel(keymap, classes="permission-panel")
        yield QueueStrip(keymap, classes="queue-strip")
        send, newline = keymap.key_for("send"), keymap.key_for("newline")
        help_key = keymap.prefix_display("help", first=True)
        yield PromptInput(
            room.meta.draft,
            history=lambda: room.meta.history,
            can_restart=lambda: room.stopped,
            keys=keymap.scope_actions(Scope.PROMPT),
            classes="prompt",
            placeholder=f"Message the agent — {send} sends, {newline} for a newline, "
            f"{help_key} for help",
        )

    def on_mount(self) -> None:
        still_cursors(self)
        prompt = self.prompt
        prompt.move_cursor(prompt.document.end)
        self.query_one(PermissionPanel).display = False
        self.query_one(QueueStrip).display = False
        self.query_one(FailureBanner).display = False

    @staticmethod
    def room_of(node: DOMNode) -> Room | None:
        """The room whose pane holds ``node``."""
        for ancestor in node.ancestors_with_self:
            if isinstance(ancestor, RoomPane):
                return ancestor.room
        return None

    # ---- parts ------------------------------------------------------------------------------
    @property
    def prompt(self) -> PromptInput:
        return self.query_one(PromptInput)

    @property
    def permission(self) -> PermissionPanel:
        return self.query_one(PermissionPanel)

    @property
    def queue_strip(self) -> QueueStrip:
        return self.query_one(QueueStrip)

    # ---- updates from the app ---------------------------------------------------------------
    def show_transcript(self) -> None:
        """(Re)attach the room's transcript: after loading, or when shown after being hidden."""
        if self.room.loaded:
            self.transcript_view.set_transcript(self.room.transcript)
            self.stale = False

    def blocks_changed(self, blocks: Iterable[Block]) -> None:
        if self.stale:
            self.show_transcript()
        else:
            self.transcript_view.blocks_changed(sorted(blocks, key=lambda b: b.index))

    def update_status(self, *, unread: bool, tick: int | None, index: int, focused: bool) -> None:
        room = self.room
        self.busy, self.compacting = room.busy, room.compacting
        self.needs_you, self.stopped = (
            bool(room.pending_permissions),
            room.stopped,
        )
        self.query_one(RoomHeader).update_state(unread=unread, tick=tick, index=index)
        self.query_one(FailureBanner).update_state()
        pending = room.pending_permissions
        panel = self.permission
        panel.set_pending(pending)
        self.queue_strip.set_queue(list(room.queue))
        if pending and not self._had_permission and focused:
            self._focus_permission()
        elif not pending and self._had_permission and panel.has_focus:
            self.prompt.focus()
        self._had_permission = bool(pending)

    def _focus_permission(self) -> None:
        """A new permission prompt is answerable at once, unless the user is mid-sentence:
        then it waits until they pause (their next keys must not answer it)."""
        if not self.room.pending_permissions or not self.has_class("-focused"):
            return
        if self.permission.has_focus:
            return
        quiet = clock() - self._last_typed
        if quiet > TYPING_GRACE:
            focused = self.app.focused
            if focused is None or self in focused.ancestors_with_self:
                self.permission.focus()  # never from another pane or a dialog
        else:
            self.set_timer(TYPING_GRACE - quiet + 0.05, self._focus_permission)

    def tick(self, tick: int | None, index: int, unread: bool) -> None:
        """Spinner frame for a busy room."""
        self.query_one(RoomHeader).update_state(unread=unread, tick=tick, index=index)

    def focus_input(self) -> None:
        """Focus the permission prompt if one waits, else the prompt — synchronously, so
        keys typed right after a room switch land here (``focus()`` is deferred)."""
        target: Widget = self.permission if self.room.pending_permissions else self.prompt
        try:
            self.screen.set_focus(target)
        except Exception:  # not on a screen yet
            target.focus()

    # ---- draft -------------------------------------------------------------------------------
    def on_text_area_changed(self, event: PromptInput.Changed) -> None:
        # Only text being written counts as "mid-sentence"; an emptied prompt (sent) does not.
        self._last_typed = clock() if event.text_area.text else 0.0
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(DRAFT_DEBOUNCE, self.save_draft)

    def save_draft(self) -> None:
        """Hand the prompt's text to the room (it persists it in the room metadata)."""
        self._draft_timer = None
        try:
            text = self.prompt.text
        except NoMatches:  # unmounted already (shutdown after the widgets are gone)
            return
        self.room.set_draft(text)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.post_message(self.Activated(self.room.id))

    def on_click(self, event: events.Click) -> None:
        self.post_message(self.Activated(self.room.id))
