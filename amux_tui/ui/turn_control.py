"""The focused room's conversation: sending, steering, cancelling, the queue, permission
answers, and what the transcript shows (SPEC §1.4, §4.2–4.5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from amux_tui.ui.commands import AppPart, guard
from amux_tui.ui.widgets.permission_panel import PermissionPanel
from amux_tui.ui.widgets.prompt_input import PromptInput
from amux_tui.ui.widgets.queue_strip import QueueStrip
from amux_tui.ui.widgets.room_pane import RoomPane

if TYPE_CHECKING:
    from amux_tui.engine.room import Room


class TurnControl(AppPart):
    """The key table's commands about the running turn, plus the panes' turn messages."""

    COMMANDS = (
        "cancel_turn",
        "force_stop",
        "release_queue",
        "unqueue_last",
        "toggle_thoughts",
        "jump_to_end",
        "answer_permission",
    )

    # ---- commands -----------------------------------------------------------------------------
    def cancel_turn(self) -> None:
        """Cancel the running turn; once the agent has ignored that long enough, force stop."""
        app = self.app
        room = app.current_room
        if room is None:
            return
        if room.force_stop_available:
            self.force_stop()
        elif guard(app, room.cancel):
            app.notify("cancel sent to the agent", timeout=3)

    def force_stop(self) -> None:
        room = self.app.current_room
        if room is None:
            return
        guard(self.app, room.force_stop)
        self.app.notify("force stopping the agent; it restarts and resumes", severity="warning")

    def release_queue(self) -> None:
        room = self.app.current_room
        if room is not None:
            guard(self.app, room.release_queue)

    def unqueue_last(self) -> None:
        room = self.app.current_room
        items = room.public_queue if room is not None else []
        if items and items[-1].id is not None:
            self.unqueue(items[-1].id)

    def unqueue(self, queue_item_id: str, room: Room | None = None) -> None:
        """Remove a queued prompt (of the focused room unless ``room`` is given)."""
        room = room or self.app.current_room
        if room is not None:
            guard(self.app, lambda: room.unqueue(queue_item_id))

    def toggle_thoughts(self) -> None:
        pane = self.app.current_pane
        if pane is not None:
            view = pane.transcript_view
            view.show_thoughts = not view.show_thoughts

    def jump_to_end(self) -> None:
        pane = self.app.current_pane
        if pane is not None:
            pane.transcript_view.jump_to_end()

    def answer_permission(self) -> None:
        """The one deliberate key: the focused room's permission prompt takes the focus."""
        pane = self.app.current_pane
        if pane is None or not pane.focus_permission():
            self.app.bell()

    # ---- messages from the panes --------------------------------------------------------------
    def submitted(self, event: PromptInput.Submitted) -> None:
        app = self.app
        room = RoomPane.room_of(event.prompt)
        if room is None or not event.text.strip():
            return
        if not room.loaded:
            app.notify("the room is still loading; try again in a moment", severity="warning")
            event.prompt.give_back(event.text)
            return
        held = sum(1 for item in room.queue if item.held)
        if guard(app, lambda: room.prompt(event.text)) is None:
            event.prompt.give_back(event.text)
            return
        if held:
            # Nothing is parked silently: the new prompt waits behind the held ones.
            key = app.keymap.display("release_queue") or app.keymap.prefix_display(
                "release_queue", first=True
            )
            plural = "s" if held > 1 else ""
            app.notify(
                f"queued behind {held} prompt{plural} held since the restart: {key} releases "
                f"them, or remove what should not run",
                title="held queue",
                severity="warning",
                timeout=8,
                markup=False,
            )
        self._sent(event.prompt, room)

    def steered(self, event: PromptInput.Steered) -> None:
        app = self.app
        room = RoomPane.room_of(event.prompt)
        if room is None or not event.text.strip():
            return
        result = guard(app, lambda: room.steer(event.text)) if room.loaded else None
        if result is None:
            event.prompt.give_back(event.text)
            return
        if result == "steered":
            app.notify("steering: the turn is cancelled and redone with your correction", timeout=4)
        self._sent(event.prompt, room)

    def _sent(self, prompt: PromptInput, room: Room) -> None:
        room.set_draft(prompt.text)  # usually empty; keeps anything typed after enter
        self.app.update_key_bar()

    def answered(self, event: PermissionPanel.Answered) -> None:
        app = self.app
        room = RoomPane.room_of(event.panel)
        if room is None:
            return
        guard(app, lambda: room.answer_permission(event.request_id, event.option_id))
        if not room.pending_permissions:
            pane = app.panes.get(room.id)
            if pane is not None:
                pane.focus_input()

    def remove_requested(self, event: QueueStrip.RemoveRequested) -> None:
        self.unqueue(event.queue_item_id, RoomPane.room_of(event.strip))
        # Its button goes away with it: the focus goes back to the prompt, not nowhere.
        for pane in event.strip.ancestors:
            if isinstance(pane, RoomPane):
                pane.focus_input()
