"""Transcript blocks → rendered lines (SPEC §1.3), as pure functions of block and width.

The transcript view and the snapshot tests share these. A block renders as an optional
*head* (everything that is not free text: a prompt's header line, a tool call, a plan, …)
followed by *body* pieces of its free text (see :mod:`amux_tui.ui.render_text`), so that a
long or streaming text is rendered piece by piece. :func:`render_block` renders a whole
block in one go (tests, small uses); the view renders heads and pieces separately.

All agent-supplied strings go through :func:`~amux_tui.ui.render_text.sanitize` and into
``Text(...)`` (never markup), so they are shown exactly as typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.style import Style
from rich.text import Text

from amux_tui.engine.timeutil import format_local
from amux_tui.engine.tool_content import DiffPart, TextPart, content_lines, tool_content
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
    UserPrompt,
)
from amux_tui.text import one_line, visible
from amux_tui.ui.render_text import (
    Line,
    Piece,
    TextSplitter,
    render_lines,
    render_markdown,
    render_plain,
)

__all__ = [
    "STATUS_GLYPHS", "Palette", "body_kind", "default_collapsed", "format_hhmm",
    "is_collapsible", "render_block", "render_body_piece", "render_head",
]  # fmt: skip

STATUS_GLYPHS = {
    "pending": "○",
    "in_progress": "◐",
    "completed": "✓",
    "failed": "✗",
    "cancelled": "⊘",
}
ENDED_GLYPH = "◌"  # a tool call whose turn ended before it did: no result ever came
PLAN_BOXES = {"pending": "☐", "in_progress": "◐", "completed": "☑"}
NOTICE_ICONS = {"info": "ℹ", "warning": "⚠", "error": "✗"}
TOOL_FOLD_LINES = 20
"""A finished tool call with more content lines than this starts collapsed."""


class Palette(msgspec.Struct, frozen=True):
    """Styles used by the renderers; the view builds one from its theme (component classes)."""

    base: Style | None = None  # the widget's own colours (padding, blank lines)
    prompt_header: Style = msgspec.field(default_factory=lambda: Style(bold=True, reverse=True))
    prompt: Style = msgspec.field(default_factory=lambda: Style(bold=True))
    steer: Style = msgspec.field(
        default_factory=lambda: Style(bold=True, color="magenta", reverse=True)
    )
    thought: Style = msgspec.field(default_factory=lambda: Style(dim=True, italic=True))
    muted: Style = msgspec.field(default_factory=lambda: Style(dim=True))
    title: Style = msgspec.field(default_factory=lambda: Style(bold=True))
    accent: Style = msgspec.field(default_factory=lambda: Style(color="cyan"))
    success: Style = msgspec.field(default_factory=lambda: Style(color="green"))
    warning: Style = msgspec.field(default_factory=lambda: Style(color="yellow"))
    error: Style = msgspec.field(default_factory=lambda: Style(color="red"))
    diff_add: Style = msgspec.field(default_factory=lambda: Style(color="green"))
    diff_remove: Style = msgspec.field(default_factory=lambda: Style(color="red"))
    divider: Style = msgspec.field(default_factory=lambda: Style(color="cyan", dim=True))
    code_theme: str = "monokai"


# --- collapsing -----------------------------------------------------------------------------


def is_collapsible(block: Block) -> bool:
    """Thoughts and tool calls with content can be collapsed and expanded."""
    if isinstance(block, Thought):
        return True
    return isinstance(block, ToolCall) and bool(block.content)


def default_collapsed(block: Block) -> bool:
    """Finished thoughts fold to one line; finished tool calls fold when their content is long."""
    if isinstance(block, Thought):
        return not block.streaming
    if isinstance(block, ToolCall) and block.content:
        if block.status in ("pending", "in_progress") and not block.ended:
            return False  # running: show what it does
        return content_lines(block) > TOOL_FOLD_LINES
    return False


def body_kind(block: Block, collapsed: bool) -> str | None:
    """How the block's free text renders: ``"markdown"``, ``"plain"`` or ``None`` (no body)."""
    if isinstance(block, AgentText):
        return "markdown"
    if isinstance(block, UserPrompt):
        return "plain"
    if isinstance(block, Thought):
        return None if collapsed else "plain"
    return None


def has_head(block: Block) -> bool:
    """Messages are all body; every other kind has a head line or more."""
    return not isinstance(block, AgentText)


# --- whole blocks ---------------------------------------------------------------------------


def render_block(
    block: Block, console: Console, width: int, palette: Palette | None = None, *,
    collapsed: bool | None = None,
) -> list[Line]:  # fmt: skip
    """All lines of ``block`` (head, then body pieces), without the blank line after it."""
    palette = palette or Palette()
    if collapsed is None:
        collapsed = default_collapsed(block)
    lines = render_head(block, console, width, palette, collapsed) if has_head(block) else []
    kind = body_kind(block, collapsed)
    if kind is not None and isinstance(block, TextBlock):
        text = block.text
        splitter = TextSplitter(kind == "markdown", width)
        splitter.feed(text)
        for piece in splitter.all_pieces(text):
            lines.extend(render_body_piece(block, text, piece, kind, console, width, palette))
    return lines


def render_body_piece(
    block: Block, text: str, piece: Piece, kind: str, console: Console, width: int,
    palette: Palette,
) -> list[Line]:  # fmt: skip
    """One piece of a block's free text."""
    if kind == "markdown":
        return render_markdown(text, piece, console, width, base=palette.base,
                               code_theme=palette.code_theme)  # fmt: skip
    style = palette.thought if isinstance(block, Thought) else palette.prompt
    return render_plain(text, piece, console, width, style=style, base=palette.base)


def render_head(
    block: Block, console: Console, width: int, palette: Palette, collapsed: bool
) -> list[Line]:
    """The non-text part of a block; unknown kinds render nothing."""
    render = _HEADS.get(type(block))
    if render is None:
        return []
    renderable = render(block, palette, collapsed)
    if renderable is None:
        return []
    return render_lines(renderable, console, width, palette.base)


# --- heads ----------------------------------------------------------------------------------


def format_hhmm(at: str | None) -> str:
    """``HH:MM`` in local time from an RFC 3339 timestamp, or ``""`` if there is none."""
    return format_local(at, "%H:%M")


def _prompt_head(block: UserPrompt, palette: Palette, collapsed: bool) -> RenderableType:
    who = block.peer_id if block.peer_id and block.peer_id != "local" else "you"
    parts = ["steer" if block.steer else None, one_line(who, 40),
             format_hhmm(block.at) or None, "queued" if block.queue_item_id else None]  # fmt: skip
    label = " · ".join(p for p in parts if p)
    style = palette.steer if block.steer else palette.prompt_header
    # Padding with expand fills the whole width, so the header reads as one highlighted bar.
    header = Text(f" {label}", no_wrap=True, overflow="ellipsis", end="")
    return Padding(header, (0, 0), style=style, expand=True)


def _thought_head(block: Thought, palette: Palette, collapsed: bool) -> RenderableType:
    if not collapsed:
        label = "▾ thinking…" if block.streaming else "▾ thought"
        return Text(label, style=palette.thought, no_wrap=True)
    summary = one_line(block.text[:400], 200)
    return Text(f"▸ thought · {summary}", style=palette.thought, no_wrap=True,
                overflow="ellipsis")  # fmt: skip


def _tool_head(block: ToolCall, palette: Palette, collapsed: bool) -> RenderableType:
    ended = block.ended
    glyph = ENDED_GLYPH if ended else STATUS_GLYPHS.get(block.status, "•")
    glyph_style = {
        "pending": palette.muted, "in_progress": palette.warning,
        "completed": palette.success, "failed": palette.error, "cancelled": palette.muted,
    }.get(block.status, palette.muted)  # fmt: skip
    head = Text(no_wrap=False, overflow="fold")
    head.append(f"{glyph} ", palette.muted if ended else glyph_style)
    head.append(one_line(block.title, 300), palette.title)
    if block.tool_kind:
        head.append(f"  {one_line(block.tool_kind, 40)}", palette.muted)
    if ended:
        head.append("  ended without a result", palette.muted)
    elif block.status not in STATUS_GLYPHS:
        head.append(f"  {one_line(block.status, 40)}", palette.muted)
    if not block.content:
        return head
    if collapsed:
        n = content_lines(block)
        head.append(f"  ▸ {n} line{'s' if n != 1 else ''}", palette.muted)
        return head
    body = _tool_content(block, palette)
    if body is None:
        return head
    return Group(head, Padding(body, (0, 0, 0, 2)))


def _tool_content(block: ToolCall, palette: Palette) -> RenderableType | None:
    """Text (Markdown where the agent wrote Markdown), diffs and terminals, bounded."""
    content = tool_content(block)
    out: list[RenderableType] = []
    for part in content.parts:
        if isinstance(part, TextPart):
            if part.markdown:
                from amux_tui.ui.rich_markdown import LiteralMarkdown  # imported on first use

                out.append(LiteralMarkdown(visible(part.text), palette.code_theme))
            elif part.diff:
                out.append(_diff_lines(Text(overflow="fold"), part.text.split("\n"), palette))
            else:
                out.append(Text(visible(part.text), overflow="fold"))
        elif isinstance(part, DiffPart):
            out.append(_diff_text(part, palette))
        else:
            out.append(Text(f"[terminal {one_line(part.terminal_id, 80)}]", palette.muted))
    if content.hidden_lines:
        more = f"… {content.hidden_lines:,} more lines (full output in the room log)"
        out.append(Text(more, palette.muted))
    return Group(*out) if out else None


def _diff_text(part: DiffPart, palette: Palette) -> Text:
    label = f"{part.path} (new file)" if part.new_file else part.path
    text = Text(overflow="fold")
    text.append(visible(label), palette.title)
    if part.summary is not None:
        text.append("\n" + part.summary, palette.muted)
    return _diff_lines(text, part.lines, palette, first=False)


def _diff_lines(text: Text, lines: Iterable[str], palette: Palette, *, first: bool = True) -> Text:
    """Append unified-diff lines to ``text``, coloured by what they do."""
    for line in lines:
        if line.startswith("@@"):
            style = palette.accent
        elif line.startswith("+"):
            style = palette.diff_add
        elif line.startswith("-"):
            style = palette.diff_remove
        else:
            style = None
        if not first:
            text.append("\n")
        first = False
        text.append(visible(line), style)
    return text


def _plan_head(block: Plan, palette: Palette, collapsed: bool) -> RenderableType:
    text = Text(overflow="fold")
    text.append("Plan", palette.title)
    if not block.entries:
        text.append("  (empty)", palette.muted)
    for entry in block.entries:
        status = entry.get("status")
        status = status if isinstance(status, str) else "pending"
        content = entry.get("content")
        content = one_line(content, 400) if isinstance(content, str) else ""
        box_style = {"completed": palette.success, "in_progress": palette.warning}.get(status)
        text.append("\n  ")
        text.append(PLAN_BOXES.get(status, "☐"), box_style)
        text.append(" ")
        text.append(content, palette.muted if status == "completed" else None)
        priority = entry.get("priority")
        if isinstance(priority, str) and priority:
            pstyle = palette.error if priority == "high" else palette.muted
            text.append(f"  {one_line(priority, 20)}", pstyle)
    return text


def _permission_head(block: Permission, palette: Palette, collapsed: bool) -> RenderableType:
    text = Text(overflow="fold")
    text.append("? ", palette.warning)
    text.append(one_line(block.title, 300), palette.title)
    if block.tool_kind:
        text.append(f"  {one_line(block.tool_kind, 40)}", palette.muted)
    for n, option in enumerate(block.options, 1):
        name = option.get("name")
        name = one_line(name, 120) if isinstance(name, str) and name else "?"
        kind = option.get("kind")
        text.append("\n  ")
        text.append(f"{n}" if n <= 9 else " ", palette.accent)
        text.append(f" {name}")
        if isinstance(kind, str) and kind:
            text.append(f"  {one_line(kind, 40).replace('_', ' ')}", palette.muted)
    text.append("\n  ")
    if block.outcome is None:
        last = min(len(block.options), 9)
        hint = f" (1–{last})" if last > 1 else " (1)" if last else ""
        text.append(f"waiting for your answer{hint}", palette.warning)
    else:
        text.append(f"→ {one_line(block.outcome, 120)}", _outcome_style(block, palette))
    return text


def _outcome_style(block: Permission, palette: Palette) -> Style:
    for option in block.options:
        if option.get("name") == block.outcome:
            kind = option.get("kind")
            if isinstance(kind, str) and kind.startswith("allow"):
                return palette.success
            if isinstance(kind, str) and kind.startswith("reject"):
                return palette.error
    return palette.warning if block.outcome == "cancelled" else palette.muted


_TURN_ENDS = {
    "cancelled": ("⊘", "turn cancelled", "warning"),
    "interrupted": ("✗", "interrupted", "error"),
    "refusal": ("⊘", "refusal: the agent declined to continue", "error"),
    "max_tokens": ("⚠", "max tokens: the reply was cut short", "warning"),
    "max_turn_requests": ("⚠", "max turn requests: the agent hit its request limit", "warning"),
    "error": ("✗", "error", "error"),
}


def _turn_end_head(block: TurnEnd, palette: Palette, collapsed: bool) -> RenderableType:
    glyph, label, tone = _TURN_ENDS.get(
        block.outcome,
        ("■", f"turn ended: {one_line(block.outcome.replace('_', ' '), 60)}", "warning"),
    )
    if block.reason:
        sep = " — " if block.outcome == "cancelled" else ": "
        label += sep + one_line(block.reason, 300)
    style = palette.error if tone == "error" else palette.warning
    return Text(f"{glyph} {visible(label)}", style=style, overflow="fold")


def _divider_head(block: Divider, palette: Palette, collapsed: bool) -> RenderableType:
    title = Text(f" {one_line(block.text, 200)} ", style=palette.divider)
    return Rule(title, style=palette.divider)


def _notice_head(block: Notice, palette: Palette, collapsed: bool) -> RenderableType:
    style = {"warning": palette.warning, "error": palette.error}.get(block.level, palette.muted)
    icon = NOTICE_ICONS.get(block.level, "ℹ")
    return Text(f"{icon} {visible(block.text)}", style=style, overflow="fold")


_HEADS: dict[type, Any] = {
    UserPrompt: _prompt_head,
    Thought: _thought_head,
    ToolCall: _tool_head,
    Plan: _plan_head,
    Permission: _permission_head,
    TurnEnd: _turn_end_head,
    Divider: _divider_head,
    Notice: _notice_head,
}
