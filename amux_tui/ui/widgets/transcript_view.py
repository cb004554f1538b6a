"""The transcript of a room (SPEC §1.3), as a line-API scroll view.

One :class:`TranscriptView` shows one :class:`~amux_tui.engine.transcript.Transcript` at a
time and switches between transcripts cheaply (room switching): it keeps a
:class:`~amux_tui.ui.widgets.transcript_layout.TranscriptLayout` per transcript in a
``WeakKeyDictionary`` (heights, piece boundaries and an LRU of rendered lines), renders only
the parts near the viewport and estimates the height of the rest. The caller coalesces
frames and calls :meth:`TranscriptView.blocks_changed` every ~40 ms with the changed blocks.

Scrolling: the view *follows* the end until the user scrolls away from it (keys, wheel,
scroll bar); scrolling back to the bottom or ``end`` / :meth:`jump_to_end` follows again.
When parts above the top line get rendered and turn out taller or shorter than estimated,
the scroll position is moved by the difference so that what is on screen stays put.
"""

from __future__ import annotations

from typing import Any, ClassVar
from weakref import WeakKeyDictionary

from rich.style import Style
from textual import events
from textual.binding import BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from amux_tui.engine.transcript import Transcript
from amux_tui.engine.transcript_blocks import Block, Thought
from amux_tui.ui.keymap import DEFAULT_KEYMAP
from amux_tui.ui.keys import Scope
from amux_tui.ui.render_blocks import Palette, is_collapsible
from amux_tui.ui.render_text import Line
from amux_tui.ui.textual_compat import (
    scroll_bar_repainted_if_changed,
    set_virtual_size_in_place,
)
from amux_tui.ui.widgets.transcript_layout import Anchor, TranscriptLayout
from amux_tui.ui.widgets.transcript_marks import Marks, Point, line_text, paint

__all__ = ["TranscriptView"]

ACTIVE_LINES = 3000
"""Rendered lines kept for the transcript on screen (a few screens of scroll-back)."""
INACTIVE_LINES = 300
"""Rendered lines kept for a transcript switched away from (its last screen, for switching back)."""
MAX_PASSES = 4  # re-render passes while estimates settle (each pass makes more parts exact)
STRIPS = 256
"""Strips kept for recently painted lines (a few screens)."""


class TranscriptView(ScrollView):
    """Scrollable, virtualised view of a transcript's blocks."""

    can_focus = True
    # A click folds a block; the focus stays in the prompt, so what is typed next is not lost.
    FOCUS_ON_CLICK = False

    DEFAULT_CSS = """
    TranscriptView {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: scroll;
        scrollbar-size-vertical: 1;
        & > .transcript-view--prompt { background: $primary 25%; color: $text; text-style: bold; }
        & > .transcript-view--steer { background: $secondary 35%; color: $text; text-style: bold; }
        & > .transcript-view--prompt-text { color: $text; }
        & > .transcript-view--thought { color: $text-muted; text-style: italic; }
        & > .transcript-view--muted { color: $text-muted; }
        & > .transcript-view--title { text-style: bold; }
        & > .transcript-view--accent { color: $text-accent; }
        & > .transcript-view--success { color: $text-success; }
        & > .transcript-view--warning { color: $text-warning; }
        & > .transcript-view--error { color: $text-error; }
        & > .transcript-view--diff-add { color: $text-success; }
        & > .transcript-view--diff-remove { color: $text-error; }
        & > .transcript-view--divider { color: $text-primary; }
        & > .transcript-view--match { background: $warning 35%; }
        & > .transcript-view--match-current { background: $warning; color: $background; }
        & > .transcript-view--cursor { text-style: reverse; }
        & > .transcript-view--selection { background: $primary 45%; }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "transcript-view--prompt", "transcript-view--steer", "transcript-view--prompt-text",
        "transcript-view--thought", "transcript-view--muted", "transcript-view--title",
        "transcript-view--accent", "transcript-view--success", "transcript-view--warning",
        "transcript-view--error", "transcript-view--diff-add", "transcript-view--diff-remove",
        "transcript-view--divider", "transcript-view--match", "transcript-view--match-current",
        "transcript-view--cursor", "transcript-view--selection",
    }  # fmt: skip

    BINDINGS: ClassVar[list[BindingType]] = [*DEFAULT_KEYMAP.bindings(Scope.TRANSCRIPT)]

    follow: reactive[bool] = reactive(True, init=False)
    """Stay pinned to the end as output arrives; False once the user scrolls up."""
    show_thoughts: reactive[bool] = reactive(True, init=False)
    """Show thought blocks (the key table's ``toggle_thoughts``)."""

    class FollowChanged(Message):
        """``follow`` flipped (the shell shows a "↓ new output" hint while it is False)."""

        def __init__(self, view: TranscriptView, follow: bool) -> None:
            super().__init__()
            self.view = view
            self.follow = follow

        @property
        def control(self) -> TranscriptView:
            """The view whose follow state changed."""
            return self.view

    def __init__(
        self,
        transcript: Transcript | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._layouts: WeakKeyDictionary[Transcript, TranscriptLayout] = WeakKeyDictionary()
        self._transcript: Transcript | None = None
        self._layout: TranscriptLayout | None = None
        self._palette: Palette | None = None
        self._adjusting = False  # True while the view moves itself (not the user)
        self._resync_pending = False
        self._pending_anchor: Anchor | None = None  # to restore once the view has a size
        self._mouse_y: int | None = None  # line under the mouse, in view coordinates
        self._paint_width: int | None = None  # the content width while a paint runs
        # Strips for recently painted lines, by identity of the cached line (kept alongside,
        # so an id cannot be reused while cached): Textual repaints the whole view on every
        # scroll, and a Strip is costly to build (and to keep).
        self._strips: LRUCache[int, tuple[object, Strip]] = LRUCache(STRIPS)
        self.marks = Marks()
        self.finder: Any = None  # the find bar's TranscriptFind while a search is active
        """Find hits and the copy-mode cursor, painted over the lines (see transcript_marks)."""
        if transcript is not None:
            self._transcript = transcript
            self._layout = self._layout_for(transcript)

    # --- public API ---------------------------------------------------------------------

    @property
    def transcript(self) -> Transcript | None:
        """The transcript on screen."""
        return self._transcript

    def set_transcript(self, transcript: Transcript) -> None:
        """Show another transcript; its layout (and position) is kept from last time.

        Showing the same transcript again catches up with whatever changed meanwhile.
        """
        if transcript is self._transcript:
            if self._layout is not None and self._ready:
                self._layout.sync(transcript.blocks, self._width, self.show_thoughts)
                self._sync_viewport()
            return
        old = self._layout
        if old is not None:
            old.follow = self.follow
            old.anchor = self._top_anchor()
            old.trim(INACTIVE_LINES)
        self._transcript = transcript
        self.marks.clear_find()  # hits and cursors belong to the transcript they were in
        self.marks.cursor = self.marks.mark = None
        self.finder = None
        layout = self._layout = self._layout_for(transcript)
        self.follow = layout.follow
        self._pending_anchor = None if layout.follow else layout.anchor
        if self._ready:
            self._relayout()

    def blocks_changed(self, blocks: list[Block]) -> None:
        """Re-render ``blocks`` (changed or added) of the transcript on screen."""
        layout, transcript = self._layout, self._transcript
        if layout is None or transcript is None:
            return
        if not self._ready:
            layout.update(blocks, transcript.blocks)
            return
        if layout.width != self._width:
            layout.sync(transcript.blocks, self._width, self.show_thoughts)
        else:
            layout.update(blocks, transcript.blocks)
        self._sync_viewport()

    def jump_to_end(self) -> None:
        """Scroll to the end and follow new output again."""
        self.follow = True
        self._sync_viewport()

    def toggle_block(self, block_index: int) -> None:
        """Collapse or expand a thought or tool call (no-op for other blocks)."""
        layout, transcript = self._layout, self._transcript
        if layout is None or transcript is None:
            return
        if not 0 <= block_index < len(transcript.blocks):
            return
        block = transcript.blocks[block_index]
        if not is_collapsible(block):
            return
        layout.collapsed[block_index] = not layout.is_collapsed(block)
        if block_index < len(layout.heights):
            layout.refresh_block(block)
        if self._ready:
            self._sync_viewport()

    # --- reactives ------------------------------------------------------------------------

    def watch_follow(self, follow: bool) -> None:
        self.post_message(self.FollowChanged(self, follow))

    def watch_show_thoughts(self, show: bool) -> None:
        if self._layout is not None and self._transcript is not None and self._ready:
            self._layout.sync(self._transcript.blocks, self._width, show)
            self._sync_viewport()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._adjusting or self._layout is None or not self._ready:
            return
        # Keys, wheel and scroll bar go through _scroll_to, which sets the target first; a
        # clamp after the content shrank does not, and must not change what we follow.
        if round(new_value) == round(self.scroll_target_y):
            at_end = round(new_value) >= self.max_scroll_y
            if at_end != self.follow:
                self.follow = at_end
        elif not self.app.animator.is_being_animated(self, "scroll_y"):
            # Clamped: keep the target in step, or the next wheel step starts from a stale one.
            self.scroll_target_y = new_value
        self._sync_viewport()

    # --- actions ----------------------------------------------------------------------------

    def action_scroll_lines(self, lines: int) -> None:
        """Scroll by ``lines`` (negative: up)."""
        self._user_scroll(self.scroll_offset.y + lines)

    def action_scroll_pages(self, pages: int) -> None:
        """Scroll by whole screens."""
        self._user_scroll(self.scroll_offset.y + pages * max(1, self._height - 1))

    def action_scroll_home(self) -> None:
        """Scroll to the first line."""
        self._user_scroll(0)

    def action_jump_to_end(self) -> None:
        """``end``: scroll to the end and follow."""
        self.jump_to_end()

    def action_find_step(self, step: int) -> None:
        """``n`` / ``N`` after a search: the next or previous hit."""
        if self.finder is None or not self.finder.step(step):
            self.app.bell()
            return
        self.app.notify(self.finder.label, timeout=1.5)

    def action_toggle_here(self) -> None:
        """Toggle the collapsible block under the mouse, else the last one on screen."""
        index = self._collapsible_here()
        if index is not None:
            self.toggle_block(index)

    # --- events -----------------------------------------------------------------------------

    def on_mount(self) -> None:
        super().on_mount()
        self.call_after_refresh(self._relayout)

    def on_resize(self, event: events.Resize) -> None:
        self._relayout()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or self._layout is None or self._transcript is None:
            return
        if self.text_selection is not None:
            return  # the end of a drag that selected text: not a click on a block
        index = self._block_at_view_line(offset.y)
        if index is not None and is_collapsible(self._transcript.blocks[index]):
            self.toggle_block(index)
            event.stop()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        # Already at the bottom (the position did not change): scrolling down still
        # means "take me to the end".
        if not self.follow and self.is_vertical_scroll_end:
            self.follow = True

    def on_mouse_move(self, event: events.MouseMove) -> None:
        offset = event.get_content_offset(self)
        self._mouse_y = None if offset is None else offset.y

    def on_leave(self, event: events.Leave) -> None:
        self._mouse_y = None

    def notify_style_update(self) -> None:
        """Theme or CSS changed: rebuild the palette; re-render only if it differs."""
        super().notify_style_update()
        if self._palette is None:
            return
        old, self._palette = self._palette, None
        if self._get_palette() != old:
            for layout in list(self._layouts.values()):
                layout.clear_lines()
            self.refresh()

    # --- rendering --------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # The width once per paint, not once per line (it is computed from the styles).
        self._paint_width = self._width
        try:
            return super().render_lines(crop)
        finally:
            self._paint_width = None

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the viewport, from the rendered-lines cache."""
        width = self._paint_width if self._paint_width is not None else self._width
        layout = self._layout
        if layout is None or self._transcript is None:
            return Strip.blank(width, self.rich_style)
        absolute = self.scroll_offset.y + y
        line = layout.line(absolute)
        if line is None:  # not prepared by _sync_viewport (e.g. mid-resize): render it now
            layout.ensure(absolute, absolute + 1, self._transcript.blocks, self.app.console,
                          self._get_palette())  # fmt: skip
            line = layout.line(absolute)
            self._schedule_resync()
        if not line:
            strip = Strip([], 0)
        else:
            cached = self._strips.get(id(line))
            if cached is not None and cached[0] is line:
                strip = cached[1]
            else:
                strip = Strip(line, layout.width)
                self._strips.set(id(line), (line, strip))
        spans = self._spans(absolute, line)
        if spans:
            strip = paint(strip, line_text(line), spans)
        if strip.cell_length != width:
            strip = strip.adjust_cell_length(width, self.rich_style)
        # Offsets let Textual map a mouse drag to (character, line) for text selection;
        # the padding gets them too, so a drag may end past a line's last character.
        return strip.apply_offsets(0, absolute)

    def _spans(self, y: int, line: Line | None) -> list[tuple[int, int, Style]]:
        """What to paint over line ``y``: find hits, the current hit, copy cursor, selections."""
        marks, layout = self.marks, self._layout
        selection = self.text_selection
        if layout is None or (marks.pattern is None and not marks.copying and selection is None):
            return []
        style = self.get_component_rich_style
        text = line_text(line)
        spans: list[tuple[int, int, Style]] = []
        if marks.pattern is not None and text:
            match_style = style("transcript-view--match")
            spans += [(m.start(), m.end(), match_style) for m in marks.pattern.finditer(text)
                      if m.end() > m.start()]  # fmt: skip
            current = marks.current
            if current is not None and layout.y_of(current[0]) == y:
                spans.append((current[1], current[2], style("transcript-view--match-current")))
        for start, end in (self._copy_span(y, len(text)), self._mouse_span(y, selection, text)):
            if end > start:
                spans.append((start, end, style("transcript-view--selection")))
        cursor = marks.cursor
        if cursor is not None and layout.y_of(cursor[0]) == y:
            spans.append((cursor[1], cursor[1] + 1, style("transcript-view--cursor")))
        return spans

    def _copy_span(self, y: int, length: int) -> tuple[int, int]:
        """Columns of line ``y`` inside the copy-mode selection."""
        bounds = self.copy_bounds()
        if bounds is None:
            return (0, 0)
        (y0, x0), (y1, x1) = bounds
        if not y0 <= y <= y1:
            return (0, 0)
        if self.marks.linewise:
            return (0, max(1, length))
        return (x0 if y == y0 else 0, x1 + 1 if y == y1 else max(1, length))

    @staticmethod
    def _mouse_span(y: int, selection: Selection | None, text: str) -> tuple[int, int]:
        span = selection.get_span(y) if selection is not None else None
        if span is None:
            return (0, 0)
        start, end = span
        end = len(text.rstrip()) if end == -1 else min(end, len(text))
        return (start, end)

    # --- text out: find, copy mode, mouse selection ------------------------------------------

    @property
    def line_count(self) -> int:
        """Lines of the transcript (estimated below what has been rendered)."""
        return self._layout.total if self._layout is not None else 0

    def point_y(self, point: Point) -> int:
        """The line a point is on now."""
        return self._layout.y_of(point[0]) if self._layout is not None else 0

    def point_at(self, y: int, x: int) -> Point:
        """The point at line ``y`` (clamped), column ``x``."""
        layout = self._layout
        if layout is None:
            return ((0, -1, 0), 0)
        y = max(0, min(y, layout.total - 1))
        self.line_texts(y, y + 1)  # rendered, so the anchor names a real line
        return (layout.anchor_at(y), max(0, x))

    def line_texts(self, y0: int, y1: int) -> list[str]:
        """The text of lines ``[y0, y1)`` as shown (rendered if needed; trailing blanks cut)."""
        layout, transcript = self._layout, self._transcript
        if layout is None or transcript is None or not self._ready:
            return []
        y0, y1 = max(0, y0), min(y1, layout.total)
        blocks, console, palette = transcript.blocks, self.app.console, self._get_palette()
        out: list[str] = []
        y = y0
        while y < y1:
            line = layout.line(y)
            if line is None:
                layout.ensure(y, min(y1, y + self._height * 2), blocks, console, palette)
                y1 = min(y1, layout.total)
                line = layout.line(y)
            out.append(line_text(line).rstrip())
            y += 1
        return out

    def copy_bounds(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """The copy-mode selection as ((line, col), (line, col)), first to last, or None."""
        marks = self.marks
        if marks.cursor is None or marks.mark is None:
            return None
        a = (self.point_y(marks.mark), marks.mark[1])
        b = (self.point_y(marks.cursor), marks.cursor[1])
        return (a, b) if a <= b else (b, a)

    def copy_text(self) -> str:
        """The text of the copy-mode selection."""
        bounds = self.copy_bounds()
        if bounds is None:
            return ""
        (y0, x0), (y1, x1) = bounds
        lines = self.line_texts(y0, y1 + 1)
        if not lines:
            return ""
        if not self.marks.linewise:
            lines[-1] = lines[-1][: x1 + 1]
            lines[0] = lines[0][x0:]
        return "\n".join(lines)

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The mouse selection's text: only its lines are rendered, not the transcript."""
        start, end = selection.start, selection.end
        y0 = start.y if start is not None else 0
        y1 = end.y if end is not None else self.line_count - 1
        lines = self.line_texts(y0, y1 + 1)
        if not lines:
            return None
        if end is not None:
            lines[-1] = lines[-1][: end.x]
        if start is not None:
            lines[0] = lines[0][start.x :]
        return "\n".join(lines), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()

    def bookmark(self) -> tuple[bool, Anchor]:
        """Where the view stands (to come back with :meth:`go_back`)."""
        return (self.follow, self._top_anchor())

    def go_back(self, mark: tuple[bool, Anchor]) -> None:
        """Back to a :meth:`bookmark`: following the end, or the same line at the top."""
        follow, anchor = mark
        layout = self._layout
        if follow or layout is None or not self._ready:
            self.jump_to_end()
            return
        self.follow = False
        self._set_virtual_height(layout.total)
        self._scroll_to_y(layout.y_of(anchor))
        self._sync_viewport()

    def top_block(self) -> int:
        """The block at the top of the viewport."""
        return self._top_anchor()[0]

    def show_line(self, y: int, *, margin: int = 2) -> None:
        """Scroll just enough that line ``y`` is on screen (stops following)."""
        layout = self._layout
        if layout is None or not self._ready:
            return
        top, height = self.scroll_offset.y, self._height
        if top + margin <= y < top + height - margin:
            return
        self.follow = False
        self._set_virtual_height(layout.total)
        self._scroll_to_y(max(0, y - height // 3) if y < top + margin else y - height + 1 + margin)
        self._sync_viewport()

    async def until_laid_out(self, refreshes: int = 20) -> bool:
        """Wait (at most ``refreshes`` screen refreshes) until the view has a size, which
        revealing a line needs: a pane mounted just now has none until it is laid out."""
        for _ in range(refreshes):
            if self._ready:
                return True
            if not await self.wait_for_refresh():
                break
        return self._ready

    def reveal_match(self, block_index: int, start: int, text: str) -> int | None:
        """Show the match of :attr:`marks`'s pattern at ``start`` of block ``block_index``'s
        searchable ``text``: unfold its block, scroll it into view, make it the current hit.

        Returns the line it is on, or None if the block cannot be shown.
        """
        layout, transcript, pattern = self._layout, self._transcript, self.marks.pattern
        if layout is None or transcript is None or pattern is None or not self._ready:
            return None
        block = transcript.blocks[block_index]
        if isinstance(block, Thought) and not self.show_thoughts:
            self.show_thoughts = True
        if is_collapsible(block) and layout.is_collapsed(block):
            self.toggle_block(block_index)
        part, lines = layout.part_lines(block, start, transcript.blocks, self.app.console,
                                        self._get_palette())  # fmt: skip
        # The n-th match in the raw text of this part is the n-th in its rendered lines.
        first = layout.part_start(block, part)
        nth = sum(1 for m in pattern.finditer(text, first, start) if m.end() > m.start())
        found: tuple[int, int, int] | None = None
        seen = 0
        for k, line in enumerate(lines):
            for m in pattern.finditer(line_text(line)):
                if m.end() > m.start():
                    if found is None or seen <= nth:
                        found = (k, m.start(), m.end())
                    seen += 1
            if seen > nth:
                break
        k, x0, x1 = found if found is not None else (0, 0, 0)
        anchor = (block_index, part, k)
        self.marks.current = (anchor, x0, x1)
        y = layout.y_of(anchor)
        self.show_line(y)
        self.refresh()
        return layout.y_of(anchor)

    # --- internals --------------------------------------------------------------------------

    @property
    def _ready(self) -> bool:
        return self.is_mounted and self._width > 0 and self._height > 0

    @property
    def _width(self) -> int:
        return self.scrollable_content_region.width

    @property
    def _height(self) -> int:
        return self.scrollable_content_region.height

    def _layout_for(self, transcript: Transcript) -> TranscriptLayout:
        layout = self._layouts.get(transcript)
        if layout is None:
            layout = self._layouts[transcript] = TranscriptLayout(ACTIVE_LINES)
        layout.max_lines = ACTIVE_LINES
        return layout

    def _get_palette(self) -> Palette:
        if self._palette is None:
            get = self.get_component_rich_style
            dark = self.app.current_theme.dark if self.is_attached else True
            self._palette = Palette(
                base=self.rich_style,
                prompt_header=get("transcript-view--prompt"),
                prompt=get("transcript-view--prompt-text"),
                steer=get("transcript-view--steer"),
                thought=get("transcript-view--thought"),
                muted=get("transcript-view--muted"),
                title=get("transcript-view--title"),
                accent=get("transcript-view--accent"),
                success=get("transcript-view--success"),
                warning=get("transcript-view--warning"),
                error=get("transcript-view--error"),
                diff_add=get("transcript-view--diff-add"),
                diff_remove=get("transcript-view--diff-remove"),
                divider=get("transcript-view--divider"),
                code_theme="monokai" if dark else "default",
            )
        return self._palette

    def _relayout(self) -> None:
        """Size known or changed: re-estimate at the new width and show the right lines."""
        layout, transcript = self._layout, self._transcript
        if layout is None or transcript is None or not self._ready:
            return
        depth: float | None = None
        if self._pending_anchor is not None:  # where this transcript was left last time
            anchor, self._pending_anchor = self._pending_anchor, None
        elif layout.width == self._width:  # only the height changed
            anchor = self._top_anchor()
        else:  # re-wrapping changes every height: keep the top block, and how far into it
            anchor = (self._top_anchor()[0], -1, 0)
            if anchor[0] < len(layout.heights):
                into = self.scroll_offset.y - layout.offset(anchor[0])
                depth = into / max(1, layout.heights[anchor[0]])
        layout.sync(transcript.blocks, self._width, self.show_thoughts)
        if depth is not None and anchor[0] < len(layout.heights):
            # A long reply is one block: its start would be far from what was on screen.
            anchor = (anchor[0], -1, round(depth * layout.heights[anchor[0]]))
        if layout.heights and not self.follow:
            self._set_virtual_height(layout.total)
            self._scroll_to_y(layout.y_of(anchor))
        self._sync_viewport()

    def _sync_viewport(self) -> None:
        """Render what is (about to be) visible, then fix the virtual size and position."""
        layout, transcript = self._layout, self._transcript
        if layout is None or transcript is None or not self._ready:
            return
        blocks = transcript.blocks
        console, palette = self.app.console, self._get_palette()
        height = self._height
        margin = height  # one screen each way, so a page up/down lands on exact heights
        if self.follow:
            for _ in range(MAX_PASSES):
                total = layout.total
                if not layout.ensure(total - height - margin, total, blocks, console, palette):
                    break
            with scroll_bar_repainted_if_changed(self):
                self._set_virtual_height(layout.total)
                self._scroll_to_y(max(0, layout.total - height))
        else:
            anchor = self._top_anchor()
            for _ in range(MAX_PASSES):
                top = layout.y_of(anchor)
                lo, hi = top - margin, top + height + margin
                if not layout.ensure(lo, hi, blocks, console, palette):
                    break
            with scroll_bar_repainted_if_changed(self):
                self._set_virtual_height(layout.total)
                target = layout.y_of(anchor)
                if target != self.scroll_offset.y:
                    self._scroll_to_y(target)
        self.refresh()

    def _top_anchor(self) -> Anchor:
        """The block part at the top of the viewport."""
        layout = self._layout
        if layout is None:
            return (0, -1, 0)
        return layout.anchor_at(self.scroll_offset.y)

    def _user_scroll(self, y: int) -> None:
        """A scroll the user asked for; reaching the bottom follows again."""
        self.scroll_to(y=y, animate=False)
        if not self.follow and y >= self.max_scroll_y:
            self.follow = True

    def _set_virtual_height(self, total: int) -> None:
        size = Size(self._width, total)
        if self.virtual_size != size:
            set_virtual_size_in_place(self, size)

    def _scroll_to_y(self, y: int) -> None:
        self._adjusting = True
        try:
            self.scroll_to(y=y, animate=False, immediate=True)
        finally:
            self._adjusting = False

    def _schedule_resync(self) -> None:
        if not self._resync_pending:
            self._resync_pending = True

            def resync() -> None:
                self._resync_pending = False
                self._sync_viewport()

            self.call_after_refresh(resync)

    def _block_at_view_line(self, view_y: int) -> int | None:
        layout = self._layout
        if layout is None or not layout.heights:
            return None
        y = self.scroll_offset.y + view_y
        if y >= layout.total:
            return None
        return layout.block_at(y)

    def _collapsible_here(self) -> int | None:
        transcript, layout = self._transcript, self._layout
        if transcript is None or layout is None or not layout.heights:
            return None
        if self._mouse_y is not None:
            index = self._block_at_view_line(self._mouse_y)
            if index is not None and is_collapsible(transcript.blocks[index]):
                return index
        top = self.scroll_offset.y
        first = layout.block_at(top)
        last = layout.block_at(top + max(0, self._height - 1))
        for index in range(last, first - 1, -1):
            if layout.heights[index] and is_collapsible(transcript.blocks[index]):
                return index
        return None
