"""The room picker (``ctrl+b w``): type to fuzzy-filter, enter to switch."""

from __future__ import annotations

import msgspec
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.fuzzy import FuzzySearch
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from amux_tui.ui.motion import still_cursors
from amux_tui.ui.screens.dialog import Dialog


class PickerEntry(msgspec.Struct, frozen=True):
    """One room as the picker shows it; ``label`` is already literal text."""

    room_id: str
    number: str
    label: str  # printable title, matched by the filter
    detail: str  # agent and state, shown dim
    closed: bool = False  # an archived room (its own section; choosing it reopens it)


def highlight(text: str, offsets: tuple[int, ...] | list[int]) -> Content:
    """``text`` as literal content with the matched characters emphasised.

    (``Matcher.highlight`` would parse the candidate as markup, which a room title must
    never be.)
    """
    content = Content(text)
    for offset in offsets:
        if 0 <= offset < len(text) and not text[offset].isspace():
            content = content.stylize("bold underline $accent", offset, offset + 1)
    return content


def rank(entries: list[PickerEntry], query: str) -> list[tuple[PickerEntry, tuple[int, ...]]]:
    """Entries matching ``query`` (all of them, in order, for an empty query), best first."""
    if not query.strip():
        return [(e, ()) for e in entries]
    search = FuzzySearch(case_sensitive=False)
    scored = []
    for position, entry in enumerate(entries):
        score, offsets = search.match(query, entry.label)
        if score > 0:
            scored.append((-score, position, entry, tuple(offsets)))
    scored.sort(key=lambda t: (t[0], t[1]))
    return [(entry, offsets) for _s, _p, entry, offsets in scored]


class RoomPickerScreen(Dialog[str | None]):
    """Dismisses with the chosen room id, or None."""

    AUTO_FOCUS = "#picker-filter"

    BINDINGS = [
        Binding("escape", "cancel", "cancel"),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
    ]

    def __init__(self, entries: list[PickerEntry], current: str | None) -> None:
        super().__init__(classes="dialog-screen")
        self.entries = entries
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="picker-dialog"):
            yield Label("Switch to room", classes="dialog-title")
            yield Input(placeholder="type to filter", id="picker-filter")
            yield OptionList(id="picker-options")

    def on_mount(self) -> None:
        still_cursors(self)
        self._fill("")

    def _fill(self, query: str) -> None:
        options = self.query_one("#picker-options", OptionList)
        options.clear_options()
        ranked = rank([e for e in self.entries if not e.closed], query)
        closed = rank([e for e in self.entries if e.closed], query)
        for entry, offsets in ranked:
            prompt = Content.assemble(
                (f"{entry.number} ", "bold $text-muted"),
                highlight(entry.label, offsets),
                (f"  {entry.detail}", "$text-muted"),
            )
            options.add_option(Option(prompt, id=entry.room_id))
        if closed:
            title = Content.styled("Closed rooms (enter reopens)", "bold $text-muted")
            options.add_option(Option(title, disabled=True))
            for entry, offsets in closed:
                prompt = Content.assemble(
                    ("  ", ""),
                    highlight(entry.label, offsets),
                    (f"  {entry.detail}", "$text-muted"),
                )
                options.add_option(Option(prompt, id=entry.room_id))
        ranked = ranked or closed
        if ranked:
            ids = [e.room_id for e, _ in ranked]
            first = ids.index(self.current) if not query and self.current in ids else 0
            options.highlighted = options.get_option_index(ids[first])

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one("#picker-options", OptionList)
        if options.highlighted is None:
            self.app.bell()
            return
        self.close(options.get_option_at_index(options.highlighted).id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.close(event.option.id)

    def action_move(self, step: int) -> None:
        options = self.query_one("#picker-options", OptionList)
        if options.option_count:
            current = options.highlighted if options.highlighted is not None else -step
            for _ in range(options.option_count):  # over the section title
                current = (current + step) % options.option_count
                if not options.get_option_at_index(current).disabled:
                    break
            options.highlighted = current

    def action_cancel(self) -> None:
        self.close(None)
