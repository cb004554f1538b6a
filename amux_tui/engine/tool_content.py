"""What a tool call's content shows, bounded: shared by the transcript view and the export.

ACP tool calls carry a list of content items: text (often Markdown — Claude's tool output
arrives as a fenced ``console`` block), diffs and terminal references. :func:`tool_content`
turns them into parts with the same limits everywhere (lines, characters per line, diff
size), so the screen and the Markdown export agree and neither holds a 32 MiB tool output
in one piece. The room log keeps everything.
"""

from __future__ import annotations

import difflib
import re

import msgspec

from amux_tui.engine.transcript_blocks import ToolCall, content_placeholder

MAX_LINES = 400
"""Content lines shown for one tool call; the rest is summarised (the log keeps it all)."""
LINE_CHARS = 2000
"""Characters shown of one content line (a minified file must not be shown whole)."""
DIFF_MAX_LINES = 5000
"""Old + new lines above which a diff is summarised: difflib is superlinear on big inputs."""

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"^ {0,3}([-*+]|\d{1,3}[.)]) +\S")
_HUNK = re.compile(r"^@@ -\d+(,\d+)? \+\d+(,\d+)? @@")


class TextPart(msgspec.Struct, frozen=True):
    """Text content: ``markdown`` when written as Markdown (a fence, a list), ``diff`` when
    it is a unified diff (shown as one), else plain text shown as it is."""

    text: str
    markdown: bool
    diff: bool = False


class DiffPart(msgspec.Struct, frozen=True):
    """A file edit: unified-diff body lines (no ``---``/``+++`` header), or a summary."""

    path: str
    new_file: bool
    lines: tuple[str, ...]
    summary: str | None = None  # set instead of ``lines`` when the diff is too large


class TerminalPart(msgspec.Struct, frozen=True):
    """A reference to a terminal the agent ran (amux offers none, so only its id)."""

    terminal_id: str


Part = TextPart | DiffPart | TerminalPart


class ToolContent(msgspec.Struct, frozen=True):
    """The parts to show and how many content lines were left out."""

    parts: list[Part]
    hidden_lines: int


def looks_like_markdown(text: str) -> bool:
    """Whether text is written as Markdown: it opens with a code fence (Claude's tool
    output is a fenced ``console`` block), or it is a list (two items or more) and not a
    diff. Headings and quotes alone do not count: ``#`` begins shell and Python comments
    and ``>`` prompts, which must stay as they are."""
    lines = text[: 200 * LINE_CHARS].split("\n", 200)[:200]
    first = next((line for line in lines if line.strip()), "")
    if _FENCE.match(first):
        return True
    if looks_like_diff(lines):
        return False
    return sum(1 for line in lines if _LIST_ITEM.match(line)) >= 2


def looks_like_diff(lines: list[str]) -> bool:
    """A unified diff: a hunk header, or ``---``/``+++`` file headers one after the other."""
    for n, line in enumerate(lines[:200]):
        if _HUNK.match(line) or line.startswith("diff --git "):
            return True
        if line.startswith("--- ") and n + 1 < len(lines) and lines[n + 1].startswith("+++ "):
            return True
    return False


def item_text(item: dict) -> str | None:
    """The text of a ``content`` item (a placeholder for images and resources)."""
    inner = item.get("content")
    if isinstance(inner, dict):
        if inner.get("type") == "text":
            text = inner.get("text")
            return text if isinstance(text, str) else None
        return content_placeholder(inner)
    return inner if isinstance(inner, str) else None


def content_lines(block: ToolCall) -> int:
    """Roughly how many lines the tool call's content shows when expanded."""
    total = 0
    for item in block.content:
        kind = item.get("type")
        if kind == "diff":
            total += 1 + _count_lines(item.get("oldText")) + _count_lines(item.get("newText"))
        elif kind == "content":
            total += _count_lines(item_text(item))
        elif kind == "terminal":
            total += 1
    return total


def tool_content(block: ToolCall, max_lines: int = MAX_LINES) -> ToolContent:
    """The tool call's content as parts, at most ``max_lines`` lines in all."""
    parts: list[Part] = []
    budget = max_lines
    for item in block.content:
        if budget <= 0:
            break
        kind = item.get("type")
        if kind == "content":
            text = item_text(item)
            if text:
                part, used = _text_part(text.rstrip("\n"), budget)
                parts.append(part)
                budget -= used
        elif kind == "diff":
            part = _diff_part(item, budget)
            parts.append(part)
            budget -= 1 + len(part.lines) + (1 if part.summary else 0)
        elif kind == "terminal":
            tid = item.get("terminalId")
            label = str(tid) if isinstance(tid, (str, int)) and not isinstance(tid, bool) else "?"
            parts.append(TerminalPart(label))
            budget -= 1
    shown = max_lines - max(budget, 0)
    hidden = max(0, content_lines(block) - shown) if budget <= 0 else 0
    return ToolContent(parts, hidden)


def _text_part(text: str, budget: int) -> tuple[TextPart, int]:
    lines = text.split("\n", budget)
    if len(lines) > budget:
        lines = lines[:budget]
    markdown = looks_like_markdown(text)
    diff = not markdown and looks_like_diff(lines)
    lines = [_cap(line) for line in lines]
    if markdown and sum(1 for line in lines if _FENCE.match(line)) % 2:
        fence = next(m.group(1) for line in lines if (m := _FENCE.match(line)))
        lines.append(fence[0] * len(fence))  # cut inside a code block: close it
    return TextPart("\n".join(lines), markdown, diff), len(lines)


def _diff_part(item: dict, budget: int) -> DiffPart:
    path = item.get("path")
    path = path if isinstance(path, str) and path else "file"
    old, new = item.get("oldText"), item.get("newText")
    old_lines = old.splitlines() if isinstance(old, str) else []
    new_lines = new.splitlines() if isinstance(new, str) else []
    new_file = not isinstance(old, str)
    if len(old_lines) + len(new_lines) > DIFF_MAX_LINES:
        summary = f"{len(old_lines):,} → {len(new_lines):,} lines (too large to diff here)"
        return DiffPart(path, new_file, (), summary)
    body: list[str] = []
    for line in difflib.unified_diff(old_lines, new_lines, lineterm="", n=3):
        if line.startswith(("---", "+++")):
            continue  # the path is shown apart
        if len(body) >= budget - 1:
            break
        body.append(_cap(line))
    return DiffPart(path, new_file, tuple(body))


def _cap(line: str) -> str:
    if len(line) <= LINE_CHARS:
        return line
    return line[:LINE_CHARS] + f" … ({len(line) - LINE_CHARS:,} more characters)"


def _count_lines(text: object) -> int:
    return text.count("\n") + 1 if isinstance(text, str) and text else 0
