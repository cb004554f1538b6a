"""Searching transcripts: one room's blocks in memory, or every room's log on disk.

The text searched is what the transcript shows, block by block (:func:`block_text`): a
prompt, an agent reply or thought as written (Markdown source), a tool call's title and
content (bounded as on screen), a plan's entries, a permission request, notices and
dividers. Matches never span two blocks.

* :class:`TranscriptSearch` finds every hit in a live :class:`Transcript` (the find bar);
  block texts are cached by block version, so a keystroke costs one regex scan.
* :func:`grep_log` / :func:`grep_rooms` fold a log with the same fold as hydration (the
  lenient-struct fast path for streamed text) one room at a time, so ``amux grep`` and
  the search across rooms see exactly what the room would show, without starting an
  agent and while amux runs (logs are readable while locked).

Queries are *case-smart*: case-insensitive unless the query has an upper-case letter.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate
from pathlib import Path
from typing import NamedTuple

import msgspec

from amux_tui.engine.hydrate import fold_log
from amux_tui.engine.model import RoomModel
from amux_tui.engine.tool_content import DiffPart, TextPart, tool_content
from amux_tui.engine.transcript_blocks import (
    Block,
    Divider,
    Notice,
    Permission,
    Plan,
    TextBlock,
    ToolCall,
    TurnEnd,
)

__all__ = [
    "GrepHit", "Hit", "Hits", "QueryError", "TranscriptSearch", "block_text", "compile_query",
    "grep_log", "grep_rooms", "line_around",
]  # fmt: skip

SNIPPET = 160
"""Characters of a matching line shown around the match (long lines are cut)."""


class QueryError(ValueError):
    """A regular expression that does not compile (the message says why)."""


def compile_query(query: str, *, regex: bool = False) -> re.Pattern[str]:
    """The pattern for ``query``: literal unless ``regex``; case-smart.

    Raises:
        QueryError: ``regex`` and the expression is invalid or matches empty text, or the
            query is empty.
    """
    if not query:
        raise QueryError("empty query")
    flags = 0 if any(ch.isupper() for ch in query) else re.IGNORECASE
    try:
        pattern = re.compile(query if regex else re.escape(query), flags)
    except re.error as exc:
        raise QueryError(f"bad regular expression: {exc}") from None
    if pattern.search("") is not None:
        raise QueryError("the expression matches empty text")
    return pattern


def block_text(block: Block) -> str:
    """The searchable text of one transcript block (what the view shows of it, as text)."""
    if isinstance(block, TextBlock):
        return block.text
    if isinstance(block, ToolCall):
        parts = [block.title]
        for part in tool_content(block).parts:
            if isinstance(part, TextPart):
                parts.append(part.text)
            elif isinstance(part, DiffPart):
                parts.append(part.path)
                parts.extend(part.lines)
        return "\n".join(parts)
    if isinstance(block, Plan):
        return "\n".join(e["content"] for e in block.entries if isinstance(e.get("content"), str))
    if isinstance(block, Permission):
        names = [o["name"] for o in block.options if isinstance(o.get("name"), str)]
        return "\n".join([block.title, *names, block.outcome or ""])
    if isinstance(block, (Notice, Divider)):
        return block.text
    if isinstance(block, TurnEnd):
        return " ".join(p for p in (block.outcome, block.reason or "") if p)
    return ""


class Hit(NamedTuple):
    """One match: block index and character span within :func:`block_text` of the block."""

    block: int
    start: int
    end: int


class TranscriptSearch:
    """Every hit of a pattern in a transcript's blocks, in transcript order.

    Block texts are cached by ``(index, version)``: a streaming block is re-read only
    when it changed, the rest of a 50,000-frame transcript costs one scan per query.
    """

    def __init__(self) -> None:
        self._texts: dict[int, tuple[int, str]] = {}

    def cached_text(self, index: int) -> str:
        """The text last read of block ``index``."""
        return self._texts[index][1]

    def text(self, block: Block) -> str:
        """``block_text`` of ``block``, cached until the block changes."""
        cached = self._texts.get(block.index)
        if cached is not None and cached[0] == block.version and block.index >= 0:
            return cached[1]
        text = block_text(block)
        if block.index >= 0:
            self._texts[block.index] = (block.version, text)
        return text

    def find(
        self, blocks: Sequence[Block], pattern: re.Pattern[str], skip: frozenset[int] = frozenset()
    ) -> Hits:
        """Every match in ``blocks`` (blocks whose index is in ``skip`` excluded).

        Only the number of matches per block is computed here (in C: ``findall``); a hit's
        span is worked out when it is asked for, so a query matching 50,000 times costs
        no 50,000 Python objects per keystroke.
        """
        found: list[int] = []
        counts: list[int] = []
        text_of = self.text
        findall = pattern.findall
        for block in blocks:
            if block.index in skip:
                continue
            text = text_of(block)
            n = len(findall(text)) if text else 0
            if n:
                found.append(block.index)
                counts.append(n)
        return Hits(pattern, found, counts, self)


class Hits(Sequence[Hit]):
    """The hits of one query, in transcript order, with their spans computed on demand."""

    def __init__(
        self, pattern: re.Pattern[str], blocks: list[int], counts: list[int],
        search: TranscriptSearch,
    ) -> None:  # fmt: skip
        self.pattern = pattern
        self.blocks = blocks
        self._ends = list(accumulate(counts))
        self._search = search
        self._spans: dict[int, list[tuple[int, int]]] = {}

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def _block_spans(self, block_index: int) -> list[tuple[int, int]]:
        spans = self._spans.get(block_index)
        if spans is None:
            text = self._search.cached_text(block_index)
            spans = [m.span() for m in self.pattern.finditer(text)]
            self._spans[block_index] = spans
        return spans

    def __getitem__(self, index: int) -> Hit:  # type: ignore[override]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        k = bisect_right(self._ends, index)
        block = self.blocks[k]
        nth = index - (self._ends[k - 1] if k else 0)
        start, end = self._block_spans(block)[nth]
        return Hit(block, start, end)

    def __iter__(self) -> Iterator[Hit]:
        for block in self.blocks:
            for start, end in self._block_spans(block):
                yield Hit(block, start, end)

    def first_at(self, block: int, offset: int = 0) -> int | None:
        """Index of the first hit at or after ``offset`` of ``block`` (None: none after)."""
        k = bisect_left(self.blocks, block)
        while k < len(self.blocks):
            base = self._ends[k - 1] if k else 0
            if self.blocks[k] > block:
                return base
            for nth, (start, _end) in enumerate(self._block_spans(self.blocks[k])):
                if start >= offset:
                    return base + nth
            k += 1
        return None


def line_around(text: str, start: int, end: int, width: int = SNIPPET) -> tuple[str, int, int]:
    """The line of ``text`` holding ``text[start:end]``, cut to about ``width`` characters
    around the match; returns it with the match's span within it (text not sanitised)."""
    lo = text.rfind("\n", 0, start) + 1
    hi = text.find("\n", end)
    hi = len(text) if hi < 0 else hi
    end = min(end, hi)
    if hi - lo > width:
        room = max(0, width - (end - start)) // 2
        new_lo = max(lo, start - room)
        hi = min(hi, max(end, new_lo + width))
        lo = new_lo
    return text[lo:hi], start - lo, end - lo


class GrepHit(msgspec.Struct, frozen=True):
    """A match found in a room's log."""

    room_id: str
    seq: int | None  # the first record of the block that holds the match
    recorded_at: str | None  # when that record was written
    kind: str  # the block kind: prompt, message, thought, tool, …
    block: int  # index of the block in the room's transcript
    line: str  # the line of text holding the match (raw: sanitise before showing)
    start: int  # the match's span within ``line``
    end: int
    offset: int  # the match's start within the block's text (to find it again)


def grep_log(path: Path, room_id: str, pattern: re.Pattern[str]) -> Iterator[GrepHit]:
    """Every match of ``pattern`` in the transcript ``path`` folds into, in order."""
    times: list[str] = []
    model = RoomModel(room_id)
    fold_log(path, model, block_times=times, text_only=True)
    search = TranscriptSearch()
    blocks = model.transcript.blocks
    for hit in search.find(blocks, pattern):
        block = blocks[hit.block]
        text = search.text(block)
        line, start, end = line_around(text, hit.start, hit.end)
        yield GrepHit(
            room_id,
            block.seq,
            times[hit.block] if hit.block < len(times) else None,
            block.kind,
            hit.block,
            line,
            start,
            end,
            hit.start,
        )


def grep_rooms(logs: Iterable[tuple[str, Path]], pattern: re.Pattern[str]) -> Iterator[GrepHit]:
    """Matches in each ``(room_id, log path)``, room after room (one room in memory)."""
    for room_id, path in logs:
        yield from grep_log(path, room_id, pattern)
