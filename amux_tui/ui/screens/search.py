"""Find in every room (``ctrl+b f``): type, see hits from every room's log, enter opens one.

Searches the logs on disk (open rooms, loaded or not, and closed ones in the archive) in a
worker thread, with the same fold as hydration, so rooms never focused in this run are
found too. Each hit shows the room, when it was written and the line with the match.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from amux_tui.engine.search import GrepHit, QueryError, compile_query, grep_log
from amux_tui.engine.timeutil import format_local
from amux_tui.text import one_line
from amux_tui.ui.motion import still_cursors
from amux_tui.ui.screens.dialog import Dialog

__all__ = ["RoomLog", "SearchChoice", "SearchRoomsScreen"]

MAX_HITS = 500
"""Hits listed at most (the count says when there are more)."""
DEBOUNCE = 0.15  # seconds of quiet typing before searching


class RoomLog(msgspec.Struct, frozen=True):
    """A room to search: open (``archived`` None) or closed (its archive entry's path)."""

    room_id: str
    title: str
    path: Path
    archived: Path | None = None


class SearchChoice(msgspec.Struct, frozen=True):
    """The hit chosen: its room, and what to find there."""

    room: RoomLog
    hit: GrepHit
    query: str
    regex: bool


class SearchRoomsScreen(Dialog[SearchChoice | None]):
    """Dismisses with the chosen hit, or None."""

    AUTO_FOCUS = "#search-query"

    DEFAULT_CSS = """
    #search-dialog { width: 120; max-width: 100%; }
    #search-hits { height: auto; max-height: 24; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "cancel"),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
        Binding("alt+r", "toggle_regex", show=False),
    ]

    def __init__(self, rooms: list[RoomLog], query: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self.rooms = rooms
        self.initial = query
        self.regex = False
        self.hits: list[tuple[RoomLog, GrepHit]] = []
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="search-dialog"):
            yield Label("Find in every room", classes="dialog-title")
            yield Input(self.initial, placeholder="text (case-smart; alt+r: regex)",
                        id="search-query")  # fmt: skip
            yield Label("", id="search-status", classes="dialog-hint")
            yield OptionList(id="search-hits")

    def on_mount(self) -> None:
        still_cursors(self)
        if self.initial:
            self._search(self.initial)

    def on_input_changed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, lambda: self._search(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one("#search-hits", OptionList)
        if options.highlighted is None or not self.hits:
            self.app.bell()
            return
        self._choose(options.highlighted)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose(event.option_index)

    def _choose(self, index: int) -> None:
        room, hit = self.hits[index]
        query = self.query_one("#search-query", Input).value
        self.close(SearchChoice(room, hit, query, self.regex))

    def action_move(self, step: int) -> None:
        options = self.query_one("#search-hits", OptionList)
        if options.option_count:
            current = options.highlighted if options.highlighted is not None else -step
            options.highlighted = (current + step) % options.option_count

    def action_toggle_regex(self) -> None:
        self.regex = not self.regex
        self._search(self.query_one("#search-query", Input).value)

    def action_cancel(self) -> None:
        self.close(None)

    # ---- searching -------------------------------------------------------------------------------
    def _search(self, query: str) -> None:
        status = self.query_one("#search-status", Label)
        self.hits = []
        self.query_one("#search-hits", OptionList).clear_options()
        if not query:
            status.update("")
            return
        try:
            pattern = compile_query(query, regex=self.regex)
        except QueryError as exc:
            status.update(str(exc))
            return
        status.update("searching…")
        self._grep(pattern)

    @work(thread=True, exclusive=True, group="search-rooms")
    def _grep(self, pattern: object) -> None:
        worker = get_current_worker()
        hits: list[tuple[RoomLog, GrepHit]] = []
        more = False
        for room in self.rooms:
            for hit in grep_log(room.path, room.room_id, pattern):  # type: ignore[arg-type]
                if worker.is_cancelled:
                    return
                if len(hits) >= MAX_HITS:
                    more = True
                    break
                hits.append((room, hit))
            if more:
                break
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, hits, more)

    def _show(self, hits: list[tuple[RoomLog, GrepHit]], more: bool) -> None:
        self.hits = hits
        options = self.query_one("#search-hits", OptionList)
        options.clear_options()
        for room, hit in hits:
            options.add_option(Option(self._label(room, hit)))
        if hits:
            options.highlighted = 0
        rooms = len({room.room_id for room, _ in hits})
        count = f"{len(hits)}{'+' if more else ''} hit{'s' if len(hits) != 1 else ''}"
        status = f"{count} in {rooms} room{'s' if rooms != 1 else ''}" if hits else "no match"
        self.query_one("#search-status", Label).update(status)

    @staticmethod
    def _label(room: RoomLog, hit: GrepHit) -> Content:
        where = one_line(room.title, 30) + (" (closed)" if room.archived else "")
        when = format_local(hit.recorded_at, "%m-%d %H:%M")
        line = hit.line
        return Content.assemble(
            (f"{where}", "bold $text-accent"),
            (f"  {when}  " if when else "  ", "$text-muted"),
            one_line(line[: hit.start])[-60:],
            (one_line(line[hit.start : hit.end]), "bold reverse $warning"),
            one_line(line[hit.end :]),
        )
