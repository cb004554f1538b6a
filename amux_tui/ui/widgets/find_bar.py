"""Find in the room (``ctrl+f``, ``ctrl+b /``): an incremental search bar under the transcript.

Every keystroke searches the whole transcript (every block's text, rendered or not:
:class:`~amux_tui.engine.search.TranscriptSearch`), highlights the matches on screen and
shows the current hit ("3 / 17"), unfolding its block and scrolling it into view.

Keys (from the key table, scope ``find``): enter / down next hit, shift+enter / up previous,
alt+r regular expression on/off, tab closes the bar *at* the hit and gives the transcript
the focus (there ``n`` / ``N`` walk on; they never apply while the prompt has focus),
escape closes it and goes back to where you were. Queries are case-smart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label

from amux_tui.ui.keymap import DEFAULT_KEYMAP, Keymap
from amux_tui.ui.keys import Scope
from amux_tui.ui.widgets.transcript_layout import Anchor
from amux_tui.ui.widgets.transcript_view import TranscriptView

if TYPE_CHECKING:
    from amux_tui.engine.search import Hit

__all__ = ["FindBar", "FindInput", "TranscriptFind"]


class TranscriptFind:
    """The hits of one query in one transcript view, and which one is current."""

    def __init__(self, view: TranscriptView) -> None:
        from amux_tui.engine.search import TranscriptSearch  # when a find bar first opens

        self.view = view
        self.search = TranscriptSearch()
        self.hits: Sequence[Hit] = ()
        self.index = -1
        self.error: str | None = None

    def run(self, query: str, *, regex: bool, near_block: int = 0) -> None:
        """Search ``query``; the current hit is the first at or after block ``near_block``."""
        view, marks = self.view, self.view.marks
        self.hits, self.index, self.error = (), -1, None
        marks.clear_find()
        transcript = view.transcript
        if query and transcript is not None:
            from amux_tui.engine.search import QueryError, compile_query

            try:
                pattern = compile_query(query, regex=regex)
            except QueryError as exc:
                self.error = str(exc)
            else:
                marks.pattern = pattern
                hits = self.hits = self.search.find(transcript.blocks, pattern)
                if hits:
                    first = hits.first_at(near_block)
                    self.index = first if first is not None else 0
                    self._reveal()
        view.refresh()

    def step(self, step: int) -> bool:
        """Move to the next (``1``) or previous (``-1``) hit, wrapping; False if none."""
        if not self.hits:
            return False
        self.index = (self.index + step) % len(self.hits)
        self._reveal()
        return True

    def select(self, block: int, offset: int) -> bool:
        """Make the hit at ``offset`` of ``block`` (or the first after it) current."""
        from amux_tui.engine.search import Hits

        hits = self.hits
        index = hits.first_at(block, offset) if isinstance(hits, Hits) else None
        if index is None:
            return False
        self.index = index
        self._reveal()
        return True

    @property
    def current(self) -> Hit | None:
        return self.hits[self.index] if 0 <= self.index < len(self.hits) else None

    @property
    def label(self) -> str:
        """``3 / 17``, ``no match`` or why the query is wrong."""
        if self.error:
            return self.error
        if not self.hits:
            return "no match" if self.view.marks.pattern is not None else ""
        return f"{self.index + 1} / {len(self.hits)}"

    def _reveal(self) -> None:
        hit = self.current
        transcript = self.view.transcript
        if hit is None or transcript is None or hit.block >= len(transcript.blocks):
            return
        text = self.search.text(transcript.blocks[hit.block])
        self.view.reveal_match(hit.block, hit.start, text)


class FindInput(Input):
    """The query field; its keys are the key table's ``find`` scope (tab included)."""

    OWNS_TAB: ClassVar[bool] = True  # tab closes the bar here (the key router leaves it)

    DEFAULT_CSS = """
    FindInput { border: none; height: 1; padding: 0 1; width: 1fr; background: $surface; }
    FindInput:focus { border: none; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [*DEFAULT_KEYMAP.bindings(Scope.FIND)]

    def action_step(self, step: int) -> None:
        self._bar.step(step)

    def action_done(self) -> None:
        self._bar.close(stay=True)

    def action_cancel(self) -> None:
        self._bar.close(stay=False)

    def action_toggle_regex(self) -> None:
        self._bar.regex = not self._bar.regex
        self._bar.search_now()

    @property
    def _bar(self) -> FindBar:
        parent = self.parent
        assert isinstance(parent, FindBar)
        return parent


class FindBar(Horizontal):
    """The find bar of one room pane, mounted under its transcript while searching.

    Args:
        view: the transcript searched.
        keymap: the app's keys (for the hints the bar shows).
        back_to: the widget to focus again when the bar closes (None: the transcript).
        on_close: called once closed, with True if it closed at a hit.
        stay_in: the widget focused when the bar closes at a hit (None: the transcript).
    """

    DEFAULT_CSS = """
    FindBar { height: 1; background: $panel; }
    FindBar > .find-bar--label { padding: 0 1; color: $text-accent; text-style: bold; }
    FindBar > .find-bar--count { padding: 0 1; color: $text-muted; min-width: 12; }
    FindBar > .find-bar--regex { padding: 0 1; color: $text-disabled; }
    FindBar > .find-bar--regex.-on { color: $text-warning; text-style: bold; }
    FindBar.-error > .find-bar--count { color: $text-error; }
    """

    def __init__(
        self,
        view: TranscriptView,
        keymap: Keymap = DEFAULT_KEYMAP,
        back_to: Widget | None = None,
        on_close: Callable[[bool], None] | None = None,
        stay_in: Widget | None = None,
    ) -> None:
        super().__init__(classes="find-bar")
        self.stay_in = stay_in
        self.on_close = on_close
        self.view = view
        self.keymap = keymap
        self.back_to = back_to
        self.regex = False
        self.finder = TranscriptFind(view)
        view.finder = self.finder
        self._origin: tuple[bool, Anchor] = view.bookmark()
        self._near = view.top_block()

    def compose(self) -> ComposeResult:
        yield Label("find", classes="find-bar--label")
        yield FindInput(placeholder="text (case-smart)", id="find-input")
        yield Label("", classes="find-bar--count")
        regex_key = self.keymap.display("find_regex", short=True)
        yield Label(f".* {regex_key}", classes="find-bar--regex")

    @property
    def input(self) -> FindInput:
        return self.query_one(FindInput)

    def on_mount(self) -> None:
        self.input.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.search_now()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()  # enter is the key table's (next hit)

    def search_now(self) -> None:
        """Search the current query again (typed, or regex toggled)."""
        self.finder.run(self.input.value, regex=self.regex, near_block=self._near)
        self._show_count()

    def step(self, step: int) -> None:
        if not self.finder.step(step):
            self.app.bell()
        self._show_count()

    def _show_count(self) -> None:
        self.query_one(".find-bar--count", Label).update(self.finder.label)
        self.set_class(self.finder.error is not None, "-error")
        self.query_one(".find-bar--regex", Label).set_class(self.regex, "-on")

    def close(self, *, stay: bool) -> None:
        """Close the bar: ``stay`` at the current hit (highlights kept, the transcript gets
        the focus, ``n`` / ``N`` walk on), else back to where the search started."""
        view = self.view
        if stay and self.finder.current is not None:
            target: Widget = self.stay_in if self.stay_in is not None else view
        else:
            view.marks.clear_find()
            view.finder = None
            view.go_back(self._origin)
            target = self.back_to if self.back_to is not None else view
        if stay and self.finder.current is None:
            view.marks.clear_find()
            view.finder = None
        view.refresh()
        target.focus()
        self.remove()
        if self.on_close is not None:
            self.on_close(stay and self.finder.current is not None)
