"""One room on screen: header, failure banner, transcript, permission prompt, queue, prompt."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

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
from amux_tui.ui.widgets.command_menu import CommandMenu
from amux_tui.ui.widgets.permission_panel import PermissionPanel
from amux_tui.ui.widgets.prompt_input import PromptInput
from amux_tui.ui.widgets.queue_strip import QueueStrip
from amux_tui.ui.widgets.room_header import FailureBanner, RoomHeader
from amux_tui.ui.widgets.transcript_view import TranscriptView

if TYPE_CHECKING:
    from amux_tui.engine.transcript import Block

DRAFT_DEBOUNCE = 0.5  # seconds of quiet typing before the draft is saved to the room

_W = TypeVar("_W", bound=Widget)


def hidden(widget: _W) -> _W:
    """``widget``, not displayed until shown."""
    widget.display = False
    return widget


def placeholder(keymap: Keymap, newline: str) -> str:
    """The empty prompt's hint: how to send, how to get a newline here, where help is."""
    send = keymap.key_for("send")
    help_key = keymap.prefix_display("help", first=True)
    return f"Message the agent — {send} sends, {newline} for a newline, {help_key} for help"


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
        by_focus: bool = False  # from a focus change, which a later one may have undone

    def __init__(
        self,
        room: Room,
        keymap: Keymap = DEFAULT_KEYMAP,
        newline_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(classes="room-pane", **kwargs)
        self.room = room
        self.keymap = keymap
        self.newline_key = newline_key or keymap.key_for("newline")
        # Kept (not queried): the app reads its follow state on every key and footer update.
        self.transcript_view = TranscriptView(classes="transcript")
        self.stale = True  # the transcript view has not been given the current transcript
        self._draft_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        room, keymap = self.room, self.keymap
        yield RoomHeader(room, keymap, classes="room-header")
        # Hidden from the start (not once mounted: that would lay the pane out again).
        yield hidden(FailureBanner(room, keymap, classes="failure-banner"))
        yield self.transcript_view
        yield hidden(PermissionPanel(keymap, classes="permission-panel"))
        yield hidden(QueueStrip(keymap, classes="queue-strip"))
        menu = CommandMenu(classes="command-menu")
        yield menu
        yield PromptInput(
            room.meta.draft,
            history=lambda: room.meta.history,
            keys=keymap.scope_actions(Scope.PROMPT),
            menu=menu,
            classes="prompt",
            placeholder=placeholder(keymap, self.newline_key),
        )

    def set_newline_key(self, key: str) -> None:
        """The terminal turned out to report another newline key (shift+enter): name it."""
        self.newline_key = key
        self.prompt.placeholder = placeholder(self.keymap, key)

    def on_mount(self) -> None:
        still_cursors(self)
        prompt = self.prompt
        prompt.move_cursor(prompt.document.end)

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

    def update_status(self, *, unread: bool, tick: int | None, index: int) -> None:
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
        if not pending and panel.has_focus:
            self.focus_input()
        self._offer_commands()

    def tick(self, tick: int | None, index: int, unread: bool) -> None:
        """Spinner frame for a busy room."""
        self.query_one(RoomHeader).update_state(unread=unread, tick=tick, index=index)

    def focus_input(self) -> None:
        """Focus the prompt — synchronously, so keys typed right after a room switch land
        here (``focus()`` is deferred). Never the permission prompt: only its own key
        (``ctrl+g``) focuses that, so nothing typed can answer a request by accident."""
        prompt = self.prompt
        try:
            self.screen.set_focus(prompt)
        except Exception:  # not on a screen yet
            prompt.focus()

    def focus_permission(self) -> bool:
        """The deliberate key: the permission prompt takes the focus; False if none waits."""
        if not self.room.pending_permissions:
            return False
        panel = self.permission
        panel.set_pending(self.room.pending_permissions)
        panel.arm()
        self.screen.set_focus(panel)
        return panel.has_focus

    # ---- the prompt's requests ----------------------------------------------------------------
    async def on_prompt_input_scroll_transcript(self, event: PromptInput.ScrollTranscript) -> None:
        event.stop()
        await self.transcript_view.run_action(event.action)

    def _offer_commands(self) -> None:
        """Slash commands matching the prompt (the agent's ``available_commands_update``)."""
        try:
            prompt, menu = self.prompt, self.query_one(CommandMenu)
        except NoMatches:
            return
        menu.commands = self.room.model.available_commands if self.room.loaded else []
        menu.sync(prompt.text)

    # ---- draft -------------------------------------------------------------------------------
    def on_text_area_changed(self, event: PromptInput.Changed) -> None:
        self._offer_commands()
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
        self.post_message(self.Activated(self.room.id, by_focus=True))

    def on_click(self, event: events.Click) -> None:
        self.post_message(self.Activated(self.room.id))
