"""Tool-call content as real agents send it (engine/tool_content.py), in the view and the
export alike: Markdown where the agent wrote Markdown, diffs as diffs, plain output as it
is, and everything bounded."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from amux_tui.engine import frames as F
from amux_tui.engine.export import export_markdown
from amux_tui.engine.model import RoomModel
from amux_tui.engine.tool_content import MAX_LINES, looks_like_markdown, tool_content
from amux_tui.engine.transcript_blocks import ToolCall
from amux_tui.ui.render_blocks import render_block

CLAUDE_BASH = "```console\n$ git status\nOn branch main\n# not a heading\n- not a list\n```"
DIFF_TEXT = "--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n- x = 1\n+ x = 2\n  print(x)"


def tool_block(text: str, status: str = "completed") -> ToolCall:
    model = RoomModel("r")
    model.apply(F.amux_frame(F.TURN_STARTED, "r", amuxTurnId="at-1", content=[]))
    content = [{"type": "content", "content": {"type": "text", "text": text}}]
    update = {"sessionUpdate": F.TOOL_CALL, "toolCallId": "t1", "title": "Run",
              "status": status, "content": content}  # fmt: skip
    [block] = model.apply(F.notification(F.SESSION_UPDATE, {"sessionId": "s", "update": update}))
    assert isinstance(block, ToolCall)
    return block


def shown(block: ToolCall, width: int = 80) -> list[str]:
    lines = render_block(block, Console(width=width, color_system=None), width, collapsed=False)
    return ["".join(seg.text for seg in line).rstrip() for line in lines]


def exported(block: ToolCall) -> str:
    transcript: Any = type("T", (), {"blocks": [block]})()
    return export_markdown(transcript, title="t", room_id="r", agent=None, cwd=None)


def test_what_counts_as_markdown() -> None:
    assert looks_like_markdown(CLAUDE_BASH)  # Claude Code's tool output: a fenced block
    assert looks_like_markdown("\n```\nfile contents\n```")
    assert looks_like_markdown("Found:\n- one\n- two")  # a list
    assert not looks_like_markdown("# a shell comment\n# another\necho hi")  # not headings
    assert not looks_like_markdown("> prompt one\n> prompt two")
    assert not looks_like_markdown(DIFF_TEXT)  # removed lines are not list items
    assert not looks_like_markdown("total 8\n-rw-r--r-- 1 me me 120 README.md")


def test_fenced_output_renders_as_code_in_the_view_and_stays_a_fence_in_the_export() -> None:
    block = tool_block(CLAUDE_BASH)
    lines = shown(block)
    assert lines[0] == "✓ Run"
    body = [line.strip() for line in lines[1:]]
    assert "$ git status" in body and "# not a heading" in body and "- not a list" in body
    assert not any("```" in line for line in lines)
    assert f"\n\n{CLAUDE_BASH}\n\n</details>" in exported(block)


def test_text_diff_stays_a_diff() -> None:
    block = tool_block(DIFF_TEXT)
    [part] = tool_content(block).parts
    assert part.diff and not part.markdown  # type: ignore[union-attr]
    assert "  - x = 1" in shown(block) and "  + x = 2" in shown(block)  # not bullets
    assert f"```diff\n{DIFF_TEXT}\n```" in exported(block)


def test_huge_fenced_output_is_bounded_and_its_fence_closed() -> None:
    text = "```console\n" + "\n".join(f"line {n}" for n in range(100_000)) + "\n```"
    block = tool_block(text)
    content = tool_content(block)
    [part] = content.parts
    assert part.markdown and part.text.endswith("\n```")  # type: ignore[union-attr]
    assert part.text.count("\n") <= MAX_LINES + 1  # type: ignore[union-attr]
    assert content.hidden_lines > 99_000
    lines = shown(block)
    assert len(lines) < MAX_LINES + 10 and lines[-1].strip().startswith("… 99,")
    md = exported(block)
    assert md.count("line ") <= MAX_LINES and "more lines (full output in the room log)" in md
