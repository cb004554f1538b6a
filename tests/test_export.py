"""Markdown export of a transcript (SPEC §5.4)."""

from __future__ import annotations

from typing import Any

from amux_tui.engine import frames as F
from amux_tui.engine.export import export_markdown, format_time
from amux_tui.engine.model import RoomModel

ROOM = "room-1"
KW: dict[str, Any] = {
    "title": "Fix the bug",
    "room_id": ROOM,
    "agent": "demo",
    "cwd": "/home/me/proj",
}


def upd(update_kind: str, /, **fields: Any) -> dict:
    return F.notification(
        F.SESSION_UPDATE, {"sessionId": "s1", "update": {"sessionUpdate": update_kind, **fields}}
    )


def msg(text: str, mid: str | None = None, kind: str = F.AGENT_MESSAGE_CHUNK) -> dict:
    fields: dict[str, Any] = {"content": {"type": "text", "text": text}}
    if mid is not None:
        fields["messageId"] = mid
    return upd(kind, **fields)


def mux(method: str, **fields: Any) -> dict:
    return F.amux_frame(method, ROOM, **fields)


def turn(tid: str, text: str) -> dict:
    return mux(
        F.TURN_STARTED, amuxTurnId=tid, peerId="local", content=[{"type": "text", "text": text}]
    )


OPTIONS = [
    {"optionId": "allow", "name": "Allow once", "kind": "allow_once"},
    {"optionId": "deny", "name": "Reject", "kind": "reject_once"},
]


def conversation() -> list[dict]:
    return [
        mux(F.SEGMENT_STARTED, segmentId="seg-1", acpSessionId="s1"),
        turn("at-1", "Fix the bug in app.py\nIt crashes on start."),
        msg("Checking the code path.", "th", F.AGENT_THOUGHT_CHUNK),
        msg("I'll read the file.", "m1"),
        upd(F.TOOL_CALL, toolCallId="tc1", title="Read app.py", kind="read", status="pending",
            locations=[{"path": "/w/app.py", "line": 3}]),
        upd(F.TOOL_CALL_UPDATE, toolCallId="tc1", status="completed",
            content=[{"type": "content", "content": {"type": "text", "text": "x = 1\nprint(x)"}}]),
        upd(F.PLAN, entries=[
            {"content": "Read the file", "priority": "high", "status": "completed"},
            {"content": "Fix the bug", "priority": "high", "status": "in_progress"},
            {"content": "Run the tests", "priority": "low", "status": "pending"},
        ]),
        upd(F.TOOL_CALL, toolCallId="tc2", title="Edit app.py", kind="edit", status="completed",
            content=[{"type": "diff", "path": "/w/app.py", "oldText": "x = 1\nprint(x)\n",
                      "newText": "x = 2\nprint(x)\n"}]),
        mux(F.AGENT_REQUEST_OPENED, requestId=0, requestMethod=F.REQUEST_PERMISSION, amuxTurnId="at-1",
            requestParams={"toolCall": {"toolCallId": "p1", "title": "Run pytest"}, "options": OPTIONS}),
        mux(F.AGENT_REQUEST_RESOLVED, requestId=0, resolvedBy="local",
            result={"outcome": {"outcome": "selected", "optionId": "allow"}}),
        msg("Fixed. Here is the new code:\n\n```python\nx = 2\n```\n", "m2"),
        F.turn_complete(ROOM, "at-1", "end_turn"),
        turn("at-2", "Now [bold]refactor[/bold] it"),
        msg("Starting \x1b[31mnow\x1b[0m [/]", "m3"),
        mux(F.TURN_CANCELLED, amuxTurnId="at-2", cancelledBy="local"),
        F.turn_complete(ROOM, "at-2", "cancelled"),
        mux(F.SEGMENT_ENDED, segmentId="seg-1", endReason="resume_unavailable", successorSegmentId="seg-2"),
        mux(F.SEGMENT_STARTED, segmentId="seg-2", acpSessionId="s2"),
        turn("at-3", "Continue"),
        mux(F.COMPACTION_STARTED, source="acp"),
        mux(F.COMPACTION_DONE, source="acp", compressionCount=3),
        msg("```sh\nunterminated fence"),
        mux(F.TURN_INTERRUPTED, amuxTurnId="at-3", reason="agent_exit"),
    ]  # fmt: skip


def build() -> RoomModel:
    t = RoomModel(ROOM)
    for seq, frame in enumerate(conversation(), 1):
        t.apply(frame, seq, recorded_at=f"2026-05-27T17:42:{seq:02d}.123456789Z")
    return t


def test_export_structure() -> None:
    md = export_markdown(build().transcript, **KW)
    lines = md.split("\n")
    assert lines[0] == "# Fix the bug"
    assert "**Room** `room-1` · **Agent** `demo` · **Directory** `/home/me/proj`" in lines
    assert [line for line in lines if line.startswith("## ")] == [
        "## Turn 1 — 2026-05-27 17:42:02 UTC",
        "## Turn 2 — 2026-05-27 17:42:13 UTC",
        "## Turn 3 — 2026-05-27 17:42:19 UTC",
    ]
    assert "> Fix the bug in app.py  \n> It crashes on start." in md
    assert "<details><summary>Thought</summary>\n\nChecking the code path.\n\n</details>" in md
    assert "I'll read the file." in md
    # agent Markdown is verbatim, code block included
    assert "Fixed. Here is the new code:\n\n```python\nx = 2\n```" in md
    # tool calls: collapsible, status in the summary, text content fenced, locations listed
    assert "<details><summary>🔧 Read app.py — completed</summary>" in md
    assert "```text\nx = 1\nprint(x)\n```" in md
    assert "Locations: `/w/app.py:3`" in md
    assert "<details><summary>🔧 Edit app.py — completed</summary>" in md
    diff = (
        "```diff\n--- a/w/app.py\n+++ b/w/app.py\n@@ -1,2 +1,2 @@\n-x = 1\n+x = 2\n print(x)\n```"
    )
    assert diff in md
    assert "- [x] Read the file\n- [ ] Fix the bug *(in progress)*\n- [ ] Run the tests" in md
    assert "🔐 **Permission requested:** Run pytest → **Allow once**" in md
    # markup and escapes are kept literally in prompts and replies
    assert "> Now [bold]refactor[/bold] it" in md
    assert "Starting \x1b[31mnow\x1b[0m [/]" in md
    assert "⚠️ *cancel requested*" in md
    assert "*Turn cancelled*" in md
    assert "---\n\n*new session — earlier history is not in the agent's context*" in md
    assert "*compacting context…*" in md and "(acp)" not in md
    assert "---\n\n*context compacted (#3)*" in md
    assert "*Turn interrupted (agent exited)*" in md
    # an unterminated fence from the agent is closed so it cannot swallow what follows
    assert "```sh\nunterminated fence\n```\n\n*Turn interrupted" in md
    # a plain end_turn has no marker
    assert "end_turn" not in md and "Turn ended" not in md
    assert md.endswith("\n") and "\n\n\n" not in md


def test_export_order_follows_transcript() -> None:
    md = export_markdown(build().transcript, **KW)
    order = ["## Turn 1", "Thought", "I'll read the file.", "Read app.py", "- [x] Read the file",
             "Edit app.py", "Permission requested", "Fixed.", "## Turn 2", "cancel requested",
             "Turn cancelled", "new session", "## Turn 3", "compacting context", "context compacted",
             "Turn interrupted"]  # fmt: skip
    positions = [md.index(s) for s in order]
    assert positions == sorted(positions)


def test_export_is_deterministic() -> None:
    first = export_markdown(build().transcript, **KW)
    assert export_markdown(build().transcript, **KW) == first
    hydrated = RoomModel(ROOM)
    for seq, f in enumerate(conversation(), 1):
        hydrated.apply(f, seq, recorded_at=f"2026-05-27T17:42:{seq:02d}.123456789Z")
    assert export_markdown(hydrated.transcript, **KW) == first


def test_export_edge_cases() -> None:
    t = RoomModel(ROOM)
    t.apply(mux(F.NOTICE, text="Welcome"))
    t.apply(msg("from the user", "u1", F.USER_MESSAGE_CHUNK), 2, recorded_at=None)
    t.apply(turn("at-1", "run it"), 3, recorded_at="not a timestamp")
    t.apply(upd(F.TOOL_CALL, toolCallId="t", title="a <b> & `c`", status="in_progress",
                content=[{"type": "diff", "path": "new.txt", "oldText": None, "newText": "hello\n"},
                         {"type": "content", "content": {"type": "text", "text": "has ``` inside"}},
                         {"type": "terminal", "terminalId": "term-1"}],
                rawInput={"cmd": "ls"}))  # fmt: skip
    t.apply(F.turn_complete(ROOM, "at-1", None, {"code": -32603, "message": "Internal error"}))
    t.apply(F.turn_complete(ROOM, "at-1", "end_turn"))  # duplicate: ignored
    md = export_markdown(t.transcript, title="", room_id=ROOM, agent=None, cwd=None)
    assert md.startswith(
        "# room-1\n\n**Room** `room-1`\n\n*Welcome*\n\n## Turn 1\n\n> from the user"
    )
    assert "## Turn 2 — not a timestamp\n\n> run it" in md
    assert "<summary>🔧 a &lt;b&gt; &amp; `c` — failed</summary>" in md
    assert "```diff\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hello\n```" in md
    assert "````text\nhas ``` inside\n````" in md
    assert "Terminal `term-1`" in md
    assert '```json\n{\n  "cmd": "ls"\n}\n```' in md
    assert "*Turn failed (Internal error)*" in md


def test_format_time() -> None:
    assert format_time("2026-05-27T17:42:01.234567890Z") == "2026-05-27 17:42:01 UTC"
    assert format_time(None) is None
    assert format_time("yesterday") == "yesterday"
