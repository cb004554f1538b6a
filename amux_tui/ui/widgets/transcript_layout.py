"""Line layout and render cache of one transcript, for :class:`TranscriptView`.

The view draws a flat list of lines; this module maps a line number to a block and a line
of that block, and renders only what is asked for. Each block is split into *parts*: an
optional head (a prompt's header, a tool call, a plan, …) and pieces of its free text
(:mod:`amux_tui.ui.render_text`). Every block has a height: exact once rendered,
estimated from its text length before that, so a 50,000-frame transcript can be shown
without rendering what is off screen. Rendered lines live in an LRU bounded by a line
budget; heights and piece boundaries are kept (they are small), so scrolling back over an
evicted part re-renders it at the same height.

A layout never references its :class:`~amux_tui.engine.transcript.Transcript` (the view
keys layouts by transcript in a ``WeakKeyDictionary``); callers pass the block list in.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from itertools import accumulate, islice

from rich.console import Console

from amux_tui.engine.tool_content import MAX_LINES, content_lines
from amux_tui.engine.transcript_blocks import (
    AgentText,
    Block,
    Divider,
    Notice,
    Permission,
    Plan,
    TextBlock,
    Thought,
    ToolCall,
    TurnEnd,
)
from amux_tui.ui.render_blocks import (
    Palette,
    body_kind,
    default_collapsed,
    has_head,
    render_body_piece,
    render_head,
)
from amux_tui.ui.render_text import Line, Piece, TextSplitter, estimate_lines

__all__ = ["Anchor", "BlockLayout", "TranscriptLayout"]

SPACING = 1  # blank lines after each shown block
KEEP_PIECES_ABOVE = 1 << 20  # characters of text whose pieces outlive their rendered lines

Anchor = tuple[int, int, int]
"""(block, part or -1, line within it): a position that survives re-measuring what is above."""


class BlockLayout:
    """The parts of one block: ``parts[j]`` is ``None`` for the head, else a text piece."""

    __slots__ = ("version", "collapsed", "kind", "splitter", "streaming", "parts", "heights",
                 "lines", "_starts")  # fmt: skip

    def __init__(self, version: int, collapsed: bool, kind: str | None) -> None:
        self.version = version
        self.collapsed = collapsed
        self.kind = kind  # body kind: "markdown", "plain" or None
        self.splitter: TextSplitter | None = None
        self.streaming = False  # keep the splitter: the text grows, resplitting is O(text)
        self.parts: list[Piece | None] = []
        self.heights: list[int] = []
        self.lines: dict[int, list[Line]] = {}
        self._starts: list[int] | None = None

    @property
    def keep(self) -> bool:
        """Worth keeping with no line rendered: its text still streams, or cutting it into
        pieces again would mean another pass over a huge text (~0.1 s for 32 MiB)."""
        splitter = self.splitter
        return self.streaming or (splitter is not None and splitter.size > KEEP_PIECES_ABOVE)

    @property
    def height(self) -> int:
        """Lines of all parts (exact where rendered, estimated elsewhere)."""
        return self.starts[-1]

    @property
    def starts(self) -> list[int]:
        """First line of each part within the block, plus the total at the end."""
        if self._starts is None:
            self._starts = [0, *accumulate(self.heights)]
        return self._starts

    def set_height(self, j: int, height: int) -> None:
        if self.heights[j] != height:
            self.heights[j] = height
            self._starts = None


class TranscriptLayout:
    """Heights, offsets and cached lines of one transcript at one width."""

    def __init__(self, max_lines: int = 3000) -> None:
        self.width = 0
        self.show_thoughts = True
        self.max_lines = max_lines
        self.heights: list[int] = []  # per block, including SPACING; 0 if hidden
        self.versions: list[int] = []  # block version the height belongs to
        self._offsets: list[int] = [0]  # first line of each block, then the total
        self._dirty = 0  # offsets from this block on are stale
        self.layouts: dict[int, BlockLayout] = {}
        self.collapsed: dict[int, bool] = {}  # the user's choices, by block index
        self._lru: OrderedDict[tuple[int, int], int] = OrderedDict()
        self.cached_lines = 0
        # Where the view stood when it last showed this transcript.
        self.follow = True
        self.anchor: Anchor = (0, -1, 0)

    # --- heights and offsets ------------------------------------------------------------

    @property
    def total(self) -> int:
        """Total lines of the transcript."""
        return self.offset(len(self.heights))

    def offset(self, index: int) -> int:
        """First line of block ``index`` (``len(blocks)`` gives the total)."""
        if self._dirty < len(self.heights):
            self._fix_offsets()
        return self._offsets[index]

    def _fix_offsets(self) -> None:
        # Streaming changes the last blocks, so this usually sums a short tail.
        d = self._dirty
        offsets = self._offsets
        del offsets[d + 1 :]
        offsets.extend(islice(accumulate(self.heights[d:], initial=offsets[d]), 1, None))
        self._dirty = len(self.heights)

    def _set_height(self, index: int, height: int) -> bool:
        if self.heights[index] == height:
            return False
        self.heights[index] = height
        self._dirty = min(self._dirty, index)
        return True

    def block_at(self, y: int) -> int:
        """Index of the block holding line ``y`` (clamped to the existing blocks)."""
        n = len(self.heights)
        if n == 0:
            return 0
        if self._dirty < n:
            self._fix_offsets()
        return min(max(bisect_right(self._offsets, y, 0, n) - 1, 0), n - 1)

    def anchor_at(self, y: int) -> Anchor:
        """The block part showing line ``y``, and the line within that part."""
        if not self.heights:
            return (0, -1, 0)
        i = self.block_at(y)
        rel = max(0, y - self.offset(i))
        layout = self.layouts.get(i)
        if layout is None or rel >= layout.height:
            return (i, -1, rel)
        starts = layout.starts
        j = bisect_right(starts, rel) - 1
        return (i, j, rel - starts[j])

    def y_of(self, anchor: Anchor) -> int:
        """Line number of ``anchor`` now (parts above it may have been re-measured)."""
        i, j, off = anchor
        if i >= len(self.heights):
            return self.total
        top = self.offset(i)
        layout = self.layouts.get(i)
        if j < 0 or layout is None or j >= len(layout.parts):
            return top + min(off, max(0, self.heights[i] - 1))
        return top + layout.starts[j] + min(off, max(0, layout.heights[j] - 1))

    # --- keeping up with the transcript --------------------------------------------------

    def sync(self, blocks: list[Block], width: int, show_thoughts: bool) -> None:
        """Catch up with ``blocks`` (new, changed) at ``width``; O(blocks), no rendering."""
        if width != self.width or show_thoughts != self.show_thoughts:
            self.width = width
            self.show_thoughts = show_thoughts
            self.clear_lines()
            self.layouts.clear()
            self.versions = [-1] * len(self.versions)
        versions = self.versions
        for block in blocks[: len(versions)]:
            if block.version != versions[block.index]:
                self.refresh_block(block)
        self.extend(blocks)

    def extend(self, blocks: list[Block]) -> None:
        """Estimate the heights of blocks the layout has not seen yet."""
        for block in blocks[len(self.heights) :]:
            self.heights.append(self._estimate(block, self.is_collapsed(block)))
            self.versions.append(block.version)
        self._dirty = min(self._dirty, len(self._offsets) - 1)

    def update(self, changed: list[Block], blocks: list[Block]) -> None:
        """Take ``changed`` blocks into account (only those of ``blocks``)."""
        n = len(self.heights)
        for block in changed:
            i = block.index
            if 0 <= i < n and blocks[i] is block and block.version != self.versions[i]:
                self.refresh_block(block)
        self.extend(blocks)

    def refresh_block(self, block: Block) -> None:
        """Re-layout one changed block: streamed text keeps its committed pieces."""
        i = block.index
        collapsed = self.is_collapsed(block)
        layout = self.layouts.get(i)
        self.versions[i] = block.version
        if layout is not None and layout.collapsed == collapsed and layout.splitter is not None:
            assert isinstance(block, TextBlock)
            text = block.text
            if layout.splitter.accepts(text):
                self._grow_text(i, layout, text)
                layout.version = block.version
                layout.streaming = block.streaming
                self._set_height(i, self._shown(block, layout.height))
                if not layout.keep and not layout.lines:
                    del self.layouts[i]  # finished off screen: nothing worth keeping
                return
        if layout is not None:
            self._drop_layout(i)
        self._set_height(i, self._estimate(block, collapsed))

    def _grow_text(self, i: int, layout: BlockLayout, text: str) -> None:
        splitter = layout.splitter
        assert splitter is not None
        head = 1 if layout.parts and layout.parts[0] is None else 0
        keep = head + len(splitter.pieces)  # committed pieces stay; the old tail goes
        splitter.feed(text)
        for j in [*range(head), *range(keep, len(layout.parts))]:
            self._forget(i, j, layout)
        body = splitter.all_pieces(text)
        layout.parts[keep:] = body[keep - head :]
        layout.heights[keep:] = [self._estimate_piece(p) for p in body[keep - head :]]
        layout._starts = None

    def is_collapsed(self, block: Block) -> bool:
        """The user's choice for this block, else its default."""
        choice = self.collapsed.get(block.index)
        return default_collapsed(block) if choice is None else choice

    # --- estimates ----------------------------------------------------------------------

    def _shown(self, block: Block, height: int) -> int:
        if isinstance(block, Thought) and not self.show_thoughts:
            return 0
        return height + SPACING if height else 0

    def _estimate(self, block: Block, collapsed: bool) -> int:
        w = self.width
        if isinstance(block, TextBlock):
            kind = body_kind(block, collapsed)
            head = 0 if isinstance(block, AgentText) else 1
            if kind is None:
                return self._shown(block, head)
            text = block.text
            return self._shown(block, head + estimate_lines(len(text), text.count("\n"), w))
        if isinstance(block, ToolCall):
            body = 0 if collapsed else min(content_lines(block), MAX_LINES + 1)
            return self._shown(block, 1 + body)
        if isinstance(block, Plan):
            return self._shown(block, 1 + len(block.entries))
        if isinstance(block, Permission):
            return self._shown(block, 2 + len(block.options))
        if isinstance(block, Notice):
            return self._shown(block, estimate_lines(len(block.text) + 2, 0, w))
        if isinstance(block, (TurnEnd, Divider)):
            return self._shown(block, 1)
        return 0  # an unknown kind renders nothing

    def _estimate_piece(self, piece: Piece) -> int:
        return estimate_lines(piece.end - piece.start, piece.newlines, self.width) + piece.sep

    # --- rendering ------------------------------------------------------------------------

    def _layout(self, block: Block) -> BlockLayout:
        i = block.index
        layout = self.layouts.get(i)
        if layout is not None and layout.version == block.version:
            return layout
        if layout is not None:
            self._drop_layout(i)
        collapsed = self.is_collapsed(block)
        kind = body_kind(block, collapsed)
        layout = BlockLayout(block.version, collapsed, kind)
        if has_head(block):
            layout.parts.append(None)
            layout.heights.append(1)
        if kind is not None and isinstance(block, TextBlock):
            text = block.text
            layout.splitter = TextSplitter(kind == "markdown", self.width)
            layout.streaming = block.streaming
            layout.splitter.feed(text)
            for piece in layout.splitter.all_pieces(text):
                layout.parts.append(piece)
                layout.heights.append(self._estimate_piece(piece))
        self.layouts[i] = layout
        return layout

    def ensure(
        self, lo: int, hi: int, blocks: list[Block], console: Console, palette: Palette
    ) -> bool:
        """Render every part that shows a line in ``[lo, hi)``; True if a height changed."""
        if not self.heights or hi <= lo:
            return False
        first = i = self.block_at(max(0, lo))
        top = self.offset(i)
        changed = False
        n = len(self.heights)
        while i < n and top < hi:
            block = blocks[i]
            if self.heights[i]:
                layout = self._layout(block)
                self._render_parts(block, layout, lo - top, hi - top, console, palette)
                height = self._shown(block, layout.height)
                if height != self.heights[i]:
                    self.heights[i] = height
                    changed = True
            top += self.heights[i]
            i += 1
        if changed:
            self._dirty = min(self._dirty, first)
        self.trim(self.max_lines)
        return changed

    def _render_parts(
        self, block: Block, layout: BlockLayout, lo: int, hi: int, console: Console,
        palette: Palette,
    ) -> None:  # fmt: skip
        y = 0
        text = block.text if isinstance(block, TextBlock) and layout.kind else ""
        for j, part in enumerate(layout.parts):
            if y >= hi:
                break
            height = layout.heights[j]
            if y + height > lo or height == 0:
                if j not in layout.lines:
                    if part is None:
                        lines = render_head(block, console, self.width, palette, layout.collapsed)
                    else:
                        assert layout.kind is not None
                        lines = render_body_piece(block, text, part, layout.kind, console,
                                                  self.width, palette)  # fmt: skip
                    layout.lines[j] = lines
                    layout.set_height(j, len(lines))
                    self._lru[(block.index, j)] = len(lines)
                    self.cached_lines += len(lines)
                    height = len(lines)
                else:
                    self._lru.move_to_end((block.index, j))
            y += height

    def part_start(self, block: Block, j: int) -> int:
        """Where part ``j`` of ``block`` starts in the block's text (0 for a head)."""
        layout = self._layout(block)
        part = layout.parts[j] if 0 <= j < len(layout.parts) else None
        return part.start if part is not None else 0

    def part_lines(
        self, block: Block, offset: int, blocks: list[Block], console: Console, palette: Palette
    ) -> tuple[int, list[Line]]:
        """The part of ``block`` showing its text at ``offset`` (its head if the text is not
        shown), rendered: ``(part index, lines)``."""
        layout = self._layout(block)
        j = 0
        for index, part in enumerate(layout.parts):
            if part is not None and part.start <= offset < part.end:
                j = index
                break
        if j not in layout.lines and self.heights[block.index]:
            top = self.offset(block.index) + layout.starts[j]
            self.ensure(top, top + max(1, layout.heights[j]), blocks, console, palette)
        current = self.layouts.get(block.index)
        return j, (current.lines.get(j, []) if current is not None else [])

    def line(self, y: int) -> Line | None:
        """Rendered line ``y``: ``[]`` for a blank line, ``None`` if not rendered yet."""
        n = len(self.heights)
        if n == 0 or y < 0 or y >= self.total:
            return []
        i = self.block_at(y)
        rel = y - self._offsets[i]
        layout = self.layouts.get(i)
        if layout is None:
            return None
        if rel >= layout.height:
            return []  # the spacing after the block
        starts = layout.starts
        j = bisect_right(starts, rel) - 1
        lines = layout.lines.get(j)
        if lines is None:
            return None
        k = rel - starts[j]
        return lines[k] if k < len(lines) else []

    # --- cache bounds ---------------------------------------------------------------------

    def trim(self, budget: int) -> None:
        """Evict least recently used rendered parts until at most ``budget`` lines remain."""
        lru = self._lru
        while self.cached_lines > budget and lru:
            (i, j), count = lru.popitem(last=False)
            self.cached_lines -= count
            layout = self.layouts.get(i)
            if layout is not None:
                layout.lines.pop(j, None)
                if not layout.lines and not layout.keep:
                    del self.layouts[i]  # its height stays in self.heights

    def clear_lines(self) -> None:
        """Forget every rendered line (width or theme changed); heights stay."""
        for layout in self.layouts.values():
            layout.lines.clear()
        self._lru.clear()
        self.cached_lines = 0

    def _forget(self, i: int, j: int, layout: BlockLayout) -> None:
        if layout.lines.pop(j, None) is not None:
            self.cached_lines -= self._lru.pop((i, j), 0)

    def _drop_layout(self, i: int) -> None:
        layout = self.layouts.pop(i)
        for j in list(layout.lines):
            self._forget(i, j, layout)
