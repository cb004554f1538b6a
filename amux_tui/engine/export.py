"""Markdown export of a room's transcript (SPEC §5.4).

The export reads the same :class:`~amux_tui.engine.transcript.Transcript` blocks the UI
renders, so it shows what the user saw: one ``## Turn N`` heading per prompt, the prompt
quoted, agent replies verbatim (they are Markdown already), thoughts and tool calls in
``<details>`` blocks (collapsible on GitHub and most viewers), plans as checklists,
permission outcomes, unusual turn endings, and segment/compaction markers. The output
depends only on the transcript and the arguments (no current time), so it is reproducible.
A single newline in text is a line break, as on screen (written as a CommonMark hard break).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any

from amux_tui.engine.markdown import with_hard_breaks
from amux_tui.engine.tool_content import DiffPart, TextPart, tool_content
from amux_tui.engine.transcript import (
    AgentText,
    Divider,
    Notice,
    Permission,
    Plan,
    Thought,
    ToolCall,
    Transcript,
    TurnEnd,
    UserPrompt,
)
from amux_tui.text import one_line

__all__ = ["export_markdown", "format_time", "turn_end_text"]

_TURN_END_TEXT = {
    "cancelled": "Turn cancelled",
    "refusal": "The agent refused: this prompt and what follows are not part of its context",
    "max_tokens": "Turn ended: the agent reached its token limit",
    "max_turn_requests": "Turn ended: the agent reached its request limit for one turn",
    "interrupted": "Turn interrupted",
    "error": "Turn failed",
}
_PLAN_BOX = {"completed": "- [x] ", "in_progress": "- [ ] ", "pending": "- [ ] "}


def export_markdown(
    transcript: Transcript, *, title: str, room_id: str, agent: str | None, cwd: str | None
) -> str:
    """The transcript as a Markdown document a person can read."""
    heading = one_line(title or room_id) or room_id
    meta = [f"**Room** {_code(room_id)}"]
    if agent:
        meta.append(f"**Agent** {_code(agent)}")
    if cwd:
        meta.append(f"**Directory** {_code(cwd)}")
    parts = [f"# {heading}", " · ".join(meta)]
    turn = 0
    numbers: dict[str, int] = {}  # amux turn id → the heading's number (ids are internal)
    for block in transcript.blocks:
        if isinstance(block, UserPrompt):
            turn += 1
            if block.turn_id is not None:
                numbers[block.turn_id] = turn
            redoes = numbers.get(block.supersedes) if block.supersedes else None
            parts.extend(_prompt(block, turn, redoes))
            continue
        render = _RENDERERS.get(type(block))
        if render is not None:
            text = render(block)
            if text:
                parts.append(text)
    return "\n\n".join(parts) + "\n"


def format_time(recorded_at: str | None) -> str | None:
    """``2026-05-27T17:42:01.234567890Z`` → ``2026-05-27 17:42:01 UTC`` (others as given)."""
    if not recorded_at:
        return None
    if len(recorded_at) >= 19 and recorded_at[10] == "T" and recorded_at.endswith("Z"):
        return f"{recorded_at[:10]} {recorded_at[11:19]} UTC"
    return one_line(recorded_at, 40)


# --- renderers ------------------------------------------------------------------------------


def _prompt(block: UserPrompt, n: int, redoes: int | None) -> list[str]:
    when = format_time(block.at)
    out = [f"## Turn {n} — {when}" if when else f"## Turn {n}"]
    notes = []
    if block.peer_id and block.peer_id != "local":
        notes.append(f"from {block.peer_id}")
    if block.steer:
        notes.append(f"steer, redoes turn {redoes}" if redoes else "steer")
    if block.queue_item_id:
        notes.append("from the queue")
    if notes:
        out.append(_italic(", ".join(notes)))
    out.append(_quote(block.text) if block.text else _italic("(empty prompt)"))
    return out


def _agent_text(block: AgentText) -> str:
    return with_hard_breaks(_close_fences(block.text.strip("\n")))


def _thought(block: Thought) -> str:
    body = with_hard_breaks(_close_fences(block.text.strip("\n")))
    return f"<details><summary>Thought</summary>\n\n{body}\n\n</details>"


def _tool(block: ToolCall) -> str:
    status = block.status.replace("_", " ")
    if block.ended:
        status = "ended without a result"
    summary = html.escape(f"🔧 {one_line(block.title)} — {status}", quote=False)
    body: list[str] = []
    if block.tool_kind:
        body.append(f"Kind: {_code(block.tool_kind)}")
    if block.locations:
        locs = [_location(loc) for loc in block.locations]
        body.append("Locations: " + ", ".join(loc for loc in locs if loc))
    if block.raw_input is not None:
        body.append("Input:\n\n" + _fence(_json(block.raw_input), "json"))
    body.extend(_tool_content(block))
    if not block.content and block.raw_output is not None:
        body.append("Output:\n\n" + _fence(_json(block.raw_output), "json"))
    inner = "\n\n".join(body)
    return f"<details><summary>{summary}</summary>\n\n{inner}\n\n</details>"


def _tool_content(block: ToolCall) -> list[str]:
    """The same bounded parts the view shows: Markdown stays Markdown, diffs stay diffs."""
    content = tool_content(block)
    out: list[str] = []
    for part in content.parts:
        if isinstance(part, TextPart):
            if part.markdown:
                out.append(with_hard_breaks(part.text))
            else:
                out.append(_fence(part.text, "diff" if part.diff else "text"))
        elif isinstance(part, DiffPart):
            old = "/dev/null" if part.new_file else f"a/{part.path.lstrip('/')}"
            head = [f"--- {old}", f"+++ b/{part.path.lstrip('/')}"]
            body = [part.summary] if part.summary is not None else list(part.lines)
            out.append(f"{_code(part.path)}\n\n" + _fence("\n".join([*head, *body]), "diff"))
        else:
            out.append(f"Terminal {_code(part.terminal_id)}")
    if content.hidden_lines:
        out.append(_italic(f"… {content.hidden_lines:,} more lines (full output in the room log)"))
    return out


def _plan(block: Plan) -> str:
    lines = ["**Plan**", ""]
    for entry in block.entries:
        content = entry.get("content")
        text = one_line(content) if isinstance(content, str) else ""
        status = entry.get("status")
        box = _PLAN_BOX.get(status, "- [ ] ") if isinstance(status, str) else "- [ ] "
        suffix = " *(in progress)*" if status == "in_progress" else ""
        lines.append(f"{box}{_escape(text)}{suffix}")
    if not block.entries:
        lines.append(_italic("(empty plan)"))
    return "\n".join(lines)


def _permission(block: Permission) -> str:
    title = _escape(one_line(block.title))
    outcome = f"**{_escape(block.outcome)}**" if block.outcome else "*no answer recorded*"
    return f"🔐 **Permission requested:** {title} → {outcome}"


def turn_end_text(block: TurnEnd) -> str:
    """A turn ending in words, e.g. ``Turn cancelled (steered)`` (plain text)."""
    text = _TURN_END_TEXT.get(block.outcome, f"Turn ended: {block.outcome.replace('_', ' ')}")
    if block.reason:
        text += f" ({block.reason})"
    return text


def _turn_end(block: TurnEnd) -> str:
    return _italic(turn_end_text(block))


def _divider(block: Divider) -> str:
    return "---\n\n" + _italic(block.text)


def _notice(block: Notice) -> str:
    prefix = "⚠️ " if block.level in ("warning", "error") else ""
    return prefix + _italic(block.text)


_RENDERERS: dict[type, Callable[[Any], str]] = {
    AgentText: _agent_text,
    Thought: _thought,
    ToolCall: _tool,
    Plan: _plan,
    Permission: _permission,
    TurnEnd: _turn_end,
    Divider: _divider,
    Notice: _notice,
}

# --- Markdown helpers -------------------------------------------------------------------------


def _escape(text: str) -> str:
    """Escape the inline Markdown characters that would change how a short line reads."""
    for char in ("\\", "*", "_", "`", "[", "]", "<", ">"):
        text = text.replace(char, "\\" + char)
    return text


def _italic(text: str) -> str:
    return f"*{_escape(one_line(text, 1000))}*"


def _quote(text: str) -> str:
    """A prompt as a block quote; its line breaks stay line breaks."""
    return with_hard_breaks("\n".join(f"> {line}" if line else ">" for line in text.split("\n")))


def _code(text: str) -> str:
    """An inline code span that survives backticks inside ``text``."""
    text = one_line(text, 1000)
    ticks = "`" * (_longest_run(text, "`") + 1)
    pad = " " if "`" in text else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _fence(text: str, lang: str) -> str:
    """A fenced code block whose fence is longer than any backtick run in ``text``."""
    fence = "`" * max(3, _longest_run(text, "`") + 1)
    return f"{fence}{lang}\n{text.rstrip(chr(10))}\n{fence}"


def _longest_run(text: str, char: str) -> int:
    if char not in text:
        return 0
    return max(len(run) for run in re.findall(re.escape(char) + "+", text))


def _close_fences(text: str) -> str:
    """Close a code fence the agent left open, so it cannot swallow the rest of the file."""
    opened: str | None = None
    for line in text.split("\n"):
        stripped = line.lstrip()
        if not stripped.startswith(("```", "~~~")):
            continue
        char = stripped[0]
        n = len(stripped) - len(stripped.lstrip(char))
        if opened is None:
            opened = char * n
        elif char == opened[0] and n >= len(opened) and not stripped[n:].strip():
            opened = None
    return text if opened is None else f"{text}\n{opened}"


def _location(loc: dict) -> str:
    path = loc.get("path")
    if not isinstance(path, str):
        return ""
    line = loc.get("line")
    return _code(f"{path}:{line}" if type(line) is int else path)


def _json(value: Any) -> str:
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):  # e.g. circular structures from a broken agent
        return repr(value)
