"""The room's queued prompts, each with its id and a remove button (SPEC §1.4, §4.3)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Static

from amux_tui.engine.state import QueueItem
from amux_tui.text import one_line
from amux_tui.ui.keymap import DEFAULT_KEYMAP, Keymap

QueueKey = tuple[tuple[str | None, str, bool], ...]


class QueueRow(Horizontal):
    """One queued prompt: ``q-3  text…`` and a ✕ button (mouse or tab + enter)."""

    def __init__(self, item: QueueItem, release_key: str) -> None:
        super().__init__(classes="queue-row" + (" -held" if item.held else ""))
        self.item = item
        self.release_key = release_key

    def compose(self) -> ComposeResult:
        item = self.item
        label = item.id or "steer"
        held = (f"  held — {self.release_key} releases", "$warning") if item.held else ""
        yield Static(
            Content.assemble((f"{label} ", "bold $secondary"), one_line(item.text, 200), held),
            classes="queue-text",
        )
        if item.id is not None:
            yield Button("✕", classes="queue-remove", tooltip=f"remove {item.id} from the queue")


class QueueStrip(Vertical):
    """Queued prompts of one room; hidden when the queue is empty."""

    @dataclass
    class RemoveRequested(Message):
        """The user asked to remove a queued prompt."""

        strip: QueueStrip
        queue_item_id: str

    def __init__(self, keymap: Keymap = DEFAULT_KEYMAP, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.release_key = keymap.display("release_queue")
        self._key: QueueKey = ()

    def set_queue(self, items: list[QueueItem]) -> None:
        """Show ``items`` (rebuilt only when something visible changed)."""
        key: QueueKey = tuple((q.id, q.text, q.held) for q in items)
        if key == self._key:
            return
        self._key = key
        self.display = bool(items)
        self.remove_children()
        self.mount_all([QueueRow(item, self.release_key) for item in items])

    @property
    def item_ids(self) -> list[str | None]:
        return [k[0] for k in self._key]

    def on_button_pressed(self, event: Button.Pressed) -> None:
        row = event.button.parent
        if isinstance(row, QueueRow) and row.item.id is not None:
            event.stop()
            self.post_message(self.RemoveRequested(self, row.item.id))
