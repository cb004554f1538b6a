"""The transcript view model: frames folded into display blocks (SPEC §1.3)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from amux_tui.engine import frames as F
from amux_tui.engine.export import export_markdown
from amux_tui.engine.model import RoomModel
from amux_tui.engine.transcript import (
    AgentText,
    Divider,
    Notice,
    Permission,
    Plan,
    Thought,
    ToolCall,
    TurnEnd,
    UserPrompt,
)

ROOM = "r1"

# --- frame builders ---------------------------------------------------------------------------


def upd(update_kind: str, /, **fields: Any) -> dict:
    return F.notification(
        F.SESSION_UPDATE, {"sessionId": "s1", "update": {"sessionUpdate": update_kind, **fields}}
    )


def msg(text: str, mid: str | None = None, kind: str = F.AGENT_MESSAGE_CHUNK) -> dict:
    fields: dict[str, Any] = {"content": {"type": "text", "text": text}}
    if mid is not None:
        fields["messageId"] = mid
    return upd(kind, **fields)


def thought(text: str, mid: str | None = None) -> dict:
    return msg(text, mid, F.AGENT_THOUGHT_CHUNK)


def mux(method: str, **fields: Any) -> dict:
    return F.amux_frame(method, ROOM, **fields)


def turn(tid: str, text: str, **fields: Any) -> dict:
    return mux(
        F.TURN_STARTED,
        amuxTurnId=tid,
        peerId="local",
        content=[{"type": "text", "text": text}],
        **fields,
    )


def done(tid: str, stop: str | None = "end_turn", error: Any = None) -> dict:
    return F.turn_complete(ROOM, tid, stop, error)


def tool(tid: str, title: str, status: str = "pending", **fields: Any) -> dict:
    return upd(F.TOOL_CALL, toolCallId=tid, title=title, status=status, **fields)


def tool_upd(tid: str, **fields: Any) -> dict:
    return upd(F.TOOL_CALL_UPDATE, toolCallId=tid, **fields)


def plan(*entries: tuple[str, str]) -> dict:
    return upd(
        F.PLAN,
        entries=[{"content": c, "priority": "medium", "status": s} for c, s in entries],
    )


OPTIONS = [
    {"optionId": "allow", "name": "Allow once", "kind": "allow_once"},
    {"optionId": "always", "name": "Allow always", "kind": "allow_always"},
    {"optionId": "deny", "name": "Reject", "kind": "reject_once"},
]


def perm_open(rid: Any, title: str, tid: str | None = None, tool_call_id: str = "tc-p") -> dict:
    return mux(
        F.AGENT_REQUEST_OPENED,
        requestId=rid,
        requestMethod=F.REQUEST_PERMISSION,
        amuxTurnId=tid,
        requestParams={
            "sessionId": "s1",
            "toolCall": {"toolCallId": tool_call_id, "title": title, "kind": "execute"},
            "options": OPTIONS,
        },
    )


def perm_resolved(rid: Any, by: str = F.RESOLVED_LOCAL, option: str | None = None) -> dict:
    result = None
    if by == F.RESOLVED_LOCAL:
        outcome = (
            {"outcome": "selected", "optionId": option} if option else {"outcome": "cancelled"}
        )
        result = {"outcome": outcome}
    return mux(F.AGENT_REQUEST_RESOLVED, requestId=rid, resolvedBy=by, result=result)


def seg_started(n: int, session: str = "s1", **fields: Any) -> dict:
    return mux(F.SEGMENT_STARTED, segmentId=f"seg-{n}", acpSessionId=session, **fields)


def seg_ended(n: int, reason: str) -> dict:
    return mux(
        F.SEGMENT_ENDED, segmentId=f"seg-{n}", endReason=reason, successorSegmentId=f"seg-{n + 1}"
    )


def fold(frames: list[dict]) -> RoomModel:
    t = RoomModel(ROOM)
    for seq, frame in enumerate(frames, 1):
        t.apply(frame, seq, recorded_at=f"2026-05-27T17:42:{seq % 60:02d}.000000000Z")
    return t


def kinds(t: RoomModel) -> list[str]:
    return [b.kind for b in t.blocks]


# --- a realistic conversation -----------------------------------------------------------------

DIFF = {
    "type": "diff",
    "path": "/w/app.py",
    "oldText": "x = 1\nprint(x)\n",
    "newText": "x = 2\nprint(x)\n",
}


def conversation() -> list[dict]:
    """Two turns: one with thought, tools, diff, plan and permission; one cancelled."""
    return [
        seg_started(1),
        upd(F.AVAILABLE_COMMANDS_UPDATE, availableCommands=[{"name": "plan", "description": "p"}]),
        upd(F.USAGE_UPDATE, used=1200, size=200000, cost={"amount": 0.01, "currency": "USD"}),
        turn("at-1", "Fix the bug in app.py"),
        thought("Let me ", "th1"),
        thought("look.", "th1"),
        msg("I'll read ", "m1"),
        msg("the file.", "m1"),
        tool("tc1", "Read app.py", kind="read"),
        tool_upd("tc1", status="in_progress"),
        tool_upd(
            "tc1",
            status="completed",
            content=[{"type": "content", "content": {"type": "text", "text": "x = 1"}}],
        ),
        plan(("Read the file", "completed"), ("Fix it", "pending")),
        tool("tc2", "Edit app.py", "in_progress", kind="edit", content=[DIFF]),
        perm_open(7, "Run the tests", "at-1"),
        perm_resolved(7, option="allow"),
        tool_upd("tc2", status="completed"),
        plan(("Read the file", "completed"), ("Fix it", "completed")),
        msg("Fixed: `x` is now **2**.", "m2"),
        done("at-1"),
        upd(F.SESSION_INFO_UPDATE, title="Fixing app.py"),
        turn("at-2", "Now run the whole suite"),
        msg("Running…", "m3"),
        tool("tc3", "pytest", "in_progress", kind="execute"),
        perm_open(8, "Delete the cache", "at-2"),
        mux(F.TURN_CANCELLED, amuxTurnId="at-2", cancelledBy="local"),
        perm_resolved(8, F.RESOLVED_TURN_ENDED),
        done("at-2", "cancelled"),
    ]


def test_conversation_blocks() -> None:
    t = fold(conversation())
    assert kinds(t) == [
        "prompt", "thought", "message", "tool", "plan", "tool", "permission", "message",
        "prompt", "message", "tool", "permission", "notice", "turn_end",
    ]  # fmt: skip
    assert [b.index for b in t.blocks] == list(range(len(t.blocks)))
    p1, th, m1, tc1, pl, tc2, perm, m2, p2, m3, tc3, perm2, notice, end = t.blocks
    assert isinstance(p1, UserPrompt) and p1.text == "Fix the bug in app.py"
    assert p1.turn_id == "at-1" and p1.peer_id == "local" and p1.seq == 4 and not p1.steer
    assert p1.at == "2026-05-27T17:42:04.000000000Z"
    assert isinstance(th, Thought) and th.text == "Let me look." and not th.streaming
    assert isinstance(m1, AgentText) and m1.text == "I'll read the file." and m1.message_id == "m1"
    assert isinstance(tc1, ToolCall) and tc1.status == "completed" and tc1.tool_kind == "read"
    assert tc1.content[0]["content"]["text"] == "x = 1"
    assert tc1.version == 2  # created, then two updates
    assert isinstance(pl, Plan) and [e["status"] for e in pl.entries] == ["completed", "completed"]
    assert pl.version == 1
    assert isinstance(tc2, ToolCall) and tc2.content == [DIFF] and tc2.status == "completed"
    assert isinstance(perm, Permission) and perm.outcome == "Allow once" and not perm.pending
    assert perm.title == "Run the tests" and perm.tool_kind == "execute"
    assert perm.resolved_by == F.RESOLVED_LOCAL and perm.turn_id == "at-1"
    assert isinstance(m2, AgentText) and m2.text == "Fixed: `x` is now **2**." and not m2.streaming
    assert isinstance(p2, UserPrompt) and p2.turn_id == "at-2"
    assert isinstance(tc3, ToolCall) and tc3.status == "cancelled"
    assert isinstance(perm2, Permission) and perm2.outcome == "turn ended"
    assert isinstance(notice, Notice) and notice.text == "cancel requested"
    assert (
        isinstance(end, TurnEnd) and end.outcome == "cancelled" and end.stop_reason == "cancelled"
    )
    assert t.pending_permissions() == []
    assert t.find_tool("tc2") is tc2 and t.find_tool("nope") is None
    # room-level attributes, no blocks for them
    assert t.title == "Fixing app.py"
    assert t.usage == (1200, 200000) and t.cost == {"amount": 0.01, "currency": "USD"}
    assert t.available_commands == [{"name": "plan", "description": "p"}]


def test_changed_blocks_and_versions() -> None:
    t = RoomModel(ROOM)
    assert t.apply(seg_started(1)) == []  # first segment: no divider
    [prompt] = t.apply(turn("at-1", "hi"))
    [a] = t.apply(msg("Hel", "m1"))
    assert a.streaming and a.version == 0
    assert t.apply(msg("lo", "m1")) == [a] and a.version == 1 and a.text == "Hello"
    # a new block ends the streaming of the previous one: both are reported, in index order
    changed = t.apply(tool("tc1", "ls"))
    assert [b.kind for b in changed] == ["message", "tool"] and not a.streaming and a.version == 2
    tc = changed[1]
    assert t.apply(tool_upd("tc1", status="completed")) == [tc] and tc.version == 1
    assert t.apply(msg("", "m2")) == []  # keepalive
    [b] = t.apply(msg("Bye", "m2"))
    # plain end_turn: no block, but streaming ends (and that change is reported)
    assert t.apply(done("at-1")) == [b] and not b.streaming
    assert kinds(t) == ["prompt", "message", "tool", "message"]
    assert prompt.version == 0


def test_message_id_boundaries() -> None:
    t = fold(
        [
            turn("at-1", "q"),
            msg("a", "m1"),
            msg("b", "m2"),
            msg("c"),
            msg("d"),
            thought("t"),
            msg("e"),
        ]
    )
    assert [(b.kind, getattr(b, "text", None)) for b in t.blocks] == [
        ("prompt", "q"), ("message", "a"), ("message", "b"), ("message", "cd"),
        ("thought", "t"), ("message", "e"),
    ]  # fmt: skip
    # only the last block may still stream
    assert [getattr(b, "streaming", False) for b in t.blocks] == [False] * 5 + [True]


def test_non_text_content_placeholders() -> None:
    t = fold([
        mux(F.TURN_STARTED, amuxTurnId="at-1", content=[
            {"type": "text", "text": "look at"},
            {"type": "image", "data": "AAAA", "mimeType": "image/png"},
            {"type": "resource_link", "uri": "file:///w/a.py", "name": "a.py"},
        ]),
        upd(F.AGENT_MESSAGE_CHUNK, content={"type": "image", "data": "x", "mimeType": "image/png"}),
    ])  # fmt: skip
    assert t.blocks[0].text == "look at\n[image]\n[a.py]"
    assert t.blocks[1].text == "[image]"


def test_streaming_ten_thousand_chunks() -> None:
    t = RoomModel(ROOM)
    t.apply(turn("at-1", "flood"))
    chunks = [f"{i} " for i in range(10_000)]
    for i, chunk in enumerate(chunks):
        changed = t.apply(msg(chunk, "m1"), i + 2)
        if i % 2500 == 0:
            assert changed[-1].text.endswith(chunk)  # reading mid-stream keeps working
    assert len(t.blocks) == 2
    block = t.blocks[1]
    assert block.text == "".join(chunks) and block.length == len(block.text)
    assert block.version == 9_999


def test_literal_markup_and_ansi() -> None:
    texts = ["[bold]x[/bold]", "[/]", "\x1b[31mred\x1b[0m", "[link=http://e]y[/link] $x {z}"]
    t = fold([turn("at-1", "[red]prompt[/]")] + [msg(s, f"m{i}") for i, s in enumerate(texts)])
    assert t.blocks[0].text == "[red]prompt[/]"
    assert [b.text for b in t.blocks[1:]] == texts


def test_garbage_is_ignored() -> None:
    t = RoomModel(ROOM)
    t.apply(turn("at-1", "q"))
    garbage: list[Any] = [
        None, [], "x", 3, {}, {"method": None}, {"method": ["x"]}, {"method": {"a": 1}},
        {"method": F.SESSION_UPDATE}, {"method": F.SESSION_UPDATE, "params": None},
        {"method": F.SESSION_UPDATE, "params": [1, 2]},
        {"method": F.SESSION_UPDATE, "params": {"update": "no"}},
        {"method": F.SESSION_UPDATE, "params": {"update": {"sessionUpdate": ["x"]}}},
        {"method": "_hermes/subagent_update", "params": {"x": 1}},
        {"method": "amux/unknown_thing", "params": {}},
        {"id": 3, "result": {"stopReason": "end_turn"}},
        upd("brand_new_kind", foo=1),
        upd(F.AGENT_MESSAGE_CHUNK, content={"type": "text", "text": 42}),
        upd(F.AGENT_MESSAGE_CHUNK, content=None),
        upd(F.TOOL_CALL, toolCallId=None, title="x"),
        upd(F.TOOL_CALL, toolCallId=["x"], title="x"),
        upd(F.TOOL_CALL_UPDATE, toolCallId={"a": 1}),
        upd(F.PLAN, entries="nope"),
        upd(F.USAGE_UPDATE, used="1", size=None),
        upd(F.CURRENT_MODE_UPDATE, currentModeId=5),
        mux(F.AGENT_REQUEST_RESOLVED, requestId=["x"], resolvedBy=3),
        {"method": F.TURN_COMPLETE, "params": {"roomId": ROOM, "amuxTurnId": 5, "stopReason": 9}},
    ]  # fmt: skip
    for frame in garbage[:-1]:
        assert t.apply(frame) == [], frame
    assert kinds(t) == ["prompt"] and t.usage is None and t.mode is None
    # a malformed turn_complete still ends the active turn (as an error)
    [end] = t.apply(garbage[-1])
    assert isinstance(end, TurnEnd) and end.outcome == "error" and end.turn_id == "at-1"
    # unknown fields are ignored, known ones still used
    [a] = t.apply(
        upd(F.AGENT_MESSAGE_CHUNK, content={"type": "text", "text": "ok", "zz": 1}, extra={"y": 2})
    )
    assert a.text == "ok"
    assert t.apply(upd(F.CURRENT_MODE_UPDATE, modeId="architect")) == [] and t.mode == "architect"


def test_tool_call_update_before_tool_call() -> None:
    t = RoomModel(ROOM)
    t.apply(turn("at-1", "q"))
    [early] = t.apply(tool_upd("tc9", status="in_progress"))
    assert isinstance(early, ToolCall) and early.title == "tc9" and early.status == "in_progress"
    [filled] = t.apply(
        tool("tc9", "Search repo", "in_progress", kind="search", rawInput={"q": "x"})
    )
    assert filled is early and early.title == "Search repo" and early.tool_kind == "search"
    assert early.raw_input == {"q": "x"} and early.version == 1
    # an update patches only what it carries; content is replaced when present
    t.apply(tool_upd("tc9", content=[{"type": "terminal", "terminalId": "t1"}]))
    t.apply(tool_upd("tc9", status="completed", rawOutput={"n": 3}))
    assert early.title == "Search repo" and early.content == [
        {"type": "terminal", "terminalId": "t1"}
    ]
    assert early.status == "completed" and early.raw_output == {"n": 3}
    assert kinds(t) == ["prompt", "tool"]
    # the same id reused by a later turn is a new tool call
    t.apply(done("at-1"))
    t.apply(turn("at-2", "again"))
    [again] = t.apply(tool("tc9", "Search again"))
    assert again is not early and t.find_tool("tc9") is again and early.title == "Search repo"


def test_plan_replacement() -> None:
    t = RoomModel(ROOM)
    t.apply(turn("at-1", "q"))
    [p] = t.apply(plan(("a", "pending"), ("b", "pending")))
    t.apply(msg("working"))
    assert t.apply(plan(("a", "completed"), ("b", "in_progress"), ("c", "pending"))) == [p]
    assert p.version == 1 and [e["content"] for e in p.entries] == ["a", "b", "c"]
    assert [e["status"] for e in p.entries] == ["completed", "in_progress", "pending"]
    t.apply(done("at-1"))
    t.apply(turn("at-2", "q2"))
    [p2] = t.apply(plan(("z", "pending")))
    assert (
        p2 is not p
        and kinds(t).count("plan") == 2
        and [e["content"] for e in p.entries] == ["a", "b", "c"]
    )


def test_permission_lifecycle() -> None:
    t = RoomModel(ROOM)
    t.apply(turn("at-1", "q"))
    t.apply(tool("tc-p", "rm -rf build", kind="delete"))
    opened = [t.apply(perm_open(rid, f"ask {rid}", "at-1"))[-1] for rid in (1, "two", 3, 4)]
    assert [p.pending for p in opened] == [True] * 4
    assert t.pending_permissions() == opened
    assert opened[0].options == OPTIONS
    assert t.apply(perm_resolved("two", option="always")) == [opened[1]]
    assert opened[1].outcome == "Allow always" and opened[1].version == 1
    t.apply(perm_resolved(1))  # answered "cancelled" by the user (escape)
    assert opened[0].outcome == "cancelled" and opened[0].resolved_by == F.RESOLVED_LOCAL
    t.apply(perm_resolved(3, F.RESOLVED_AGENT_CANCELLED))
    assert opened[2].outcome == "withdrawn by agent"
    t.apply(perm_resolved(4, F.RESOLVED_TURN_ENDED))
    assert opened[3].outcome == "turn ended" and opened[3].resolved_by == F.RESOLVED_TURN_ENDED
    assert t.pending_permissions() == []
    assert t.apply(perm_resolved(4)) == []  # already resolved: nothing changes
    # a permission naming only a known tool call takes that tool's title
    [p] = t.apply(mux(F.AGENT_REQUEST_OPENED, requestId=5, requestMethod=F.REQUEST_PERMISSION,
                      requestParams={"toolCall": {"toolCallId": "tc-p"}, "options": OPTIONS}))  # fmt: skip
    assert p.title == "rm -rf build" and p.tool_kind == "delete"
    # the turn ending resolves what the log left pending
    t.apply(done("at-1"))
    assert p.outcome == "turn ended" and t.pending_permissions() == []
    # other agent requests are notices
    [n] = t.apply(mux(F.AGENT_REQUEST_OPENED, requestId=6, requestMethod="fs/read_text_file"))
    assert isinstance(n, Notice) and "fs/read_text_file" in n.text


def test_cancel_marks_tool_calls_cancelled() -> None:
    t = RoomModel(ROOM)
    t.apply(turn("at-1", "q"))
    [a] = t.apply(tool("a", "A", "completed"))
    [b] = t.apply(tool("b", "B", "in_progress"))
    [c] = t.apply(tool("c", "C", "pending"))
    changed = t.apply(mux(F.TURN_CANCELLED, amuxTurnId="at-1", cancelledBy="peer-2"))
    assert changed[:2] == [b, c] and isinstance(changed[2], Notice)
    assert changed[2].text == "cancel requested by peer-2"
    assert (a.status, b.status, c.status) == ("completed", "cancelled", "cancelled")
    assert (a.version, b.version, c.version) == (0, 1, 1)
    # updates after cancel still land (ACP: keep accepting them)
    t.apply(tool_upd("b", status="failed"))
    assert b.status == "failed"
    [end] = t.apply(done("at-1", "cancelled"))
    assert end.outcome == "cancelled"


def test_hard_steer() -> None:
    t = fold([
        turn("at-1", "write tests"),
        msg("ok"),
        mux(F.CONTROL_SUBMITTED, kind="steer", mode="hard", amuxTurnId="at-1", text="use pytest"),
        mux(F.TURN_CANCELLED, amuxTurnId="at-1", cancelledBy="local", reason="hard_steer"),
        done("at-1", "cancelled"),
        turn("at-2", "Original:\nwrite tests\n\nSteer:\nuse pytest", supersedesTurnId="at-1"),
        done("at-2"),
        mux(F.CONTROL_SUBMITTED, kind="steer", mode="prompt", amuxTurnId="at-3", text="more"),
        turn("at-3", "more"),
    ])  # fmt: skip
    assert kinds(t) == ["prompt", "message", "notice", "turn_end", "prompt", "prompt"]
    assert t.blocks[2].text == "steered: use pytest"
    assert t.blocks[3].reason == "steered"
    assert t.blocks[4].steer and t.blocks[4].supersedes == "at-1"
    assert t.blocks[5].steer and not t.blocks[0].steer


def test_interrupted_turn() -> None:
    t = RoomModel(ROOM)
    t.apply(turn("at-1", "q"))
    [a] = t.apply(msg("partial"))
    [tc] = t.apply(tool("t", "long job", "in_progress"))[-1:]
    changed = t.apply(mux(F.TURN_INTERRUPTED, amuxTurnId="at-1", reason="agent_exit"))
    assert [b.kind for b in changed] == ["tool", "turn_end"]
    assert tc.status == "failed" and not a.streaming
    end = changed[-1]
    assert end.outcome == "interrupted" and end.reason == "agent exited" and end.stop_reason is None
    # a second ending for the same turn adds nothing
    assert t.apply(done("at-1", "cancelled")) == []
    t.apply(turn("at-2", "q2"))
    [end2] = t.apply(mux(F.TURN_INTERRUPTED, amuxTurnId="at-2", reason="app_exit"))
    assert end2.reason == "amux quit or crashed"


def test_turn_endings() -> None:
    t = RoomModel(ROOM)
    results = {}
    for i, stop in enumerate(["end_turn", "refusal", "max_tokens", "max_turn_requests", "weird"]):
        t.apply(turn(f"at-{i}", "q"))
        results[stop] = t.apply(done(f"at-{i}", stop))
    assert results["end_turn"] == []
    for stop in ("refusal", "max_tokens", "max_turn_requests", "weird"):
        [end] = results[stop]
        assert isinstance(end, TurnEnd) and end.outcome == stop == end.stop_reason
    t.apply(turn("at-9", "q"))
    error = {"code": -32603, "message": "Internal error", "data": {"details": "context too small"}}
    [end] = t.apply(done("at-9", None, error))
    assert end.outcome == "error" and end.error == error
    assert end.reason == "Internal error: context too small"


def test_segment_dividers() -> None:
    frames = [seg_started(1)]
    for n, reason in enumerate([F.END_RESUME_UNAVAILABLE, F.END_ACP_SESSION_ID_CHANGED,
                                F.END_SESSION_LOAD, F.END_HERMES_COMPRESSION, "something_else"], 1):  # fmt: skip
        frames += [seg_ended(n, reason), seg_started(n + 1, f"s{n + 1}")]
    frames += [seg_started(7, resumed=True)]
    t = fold(frames)
    assert all(isinstance(b, Divider) for b in t.blocks)
    assert [(b.divider_kind, b.text) for b in t.blocks] == [
        ("new_session", "new session — earlier history is not in the agent's context"),
        ("new_session", "new session — earlier history is not in the agent's context"),
        ("resumed", "session resumed"),
        ("segment", "new session segment (something else)"),
        ("resumed", "session resumed"),
    ]


def test_compaction_markers() -> None:
    t = fold([
        turn("at-1", "q"),
        mux(F.COMPACTION_STARTED, source=F.SOURCE_HERMES),
        seg_ended(1, F.END_HERMES_COMPRESSION),
        seg_started(2, "s2"),
        mux(F.COMPACTION_DONE, source=F.SOURCE_HERMES, compressionCount=3),
        mux(F.COMPACTION_STARTED, source=F.SOURCE_ACP),
        mux(F.COMPACTION_DONE, source=F.SOURCE_ACP, compressionCount=4, outcome="failed"),
        mux(F.COMPACTION_STARTED, source=F.SOURCE_ACP),
        mux(F.COMPACTION_DONE, source=F.SOURCE_ACP, compressionCount=5, outcome="cancelled"),
    ])  # fmt: skip
    texts = [(b.kind, b.text) for b in t.blocks[1:]]
    assert texts == [  # which detector saw it is for the inspector, not the transcript
        ("notice", "compacting context…"),
        ("divider", "context compacted (#3)"),
        ("notice", "compacting context…"),
        ("notice", "context compaction failed; the context is as it was"),
        ("notice", "compacting context…"),
        ("notice", "context compaction cancelled; the context is as it was"),
    ]
    assert t.blocks[2].divider_kind == "compaction"


def test_user_message_chunks() -> None:
    t = fold([
        msg("hello ", "u1", F.USER_MESSAGE_CHUNK),
        msg("there", "u1", F.USER_MESSAGE_CHUNK),
        msg("hi!", "a1"),
        msg("second", "u2", F.USER_MESSAGE_CHUNK),
        turn("at-1", "the prompt"),
        msg("the ", None, F.USER_MESSAGE_CHUNK),  # an agent echoing the prompt
        msg("prompt", None, F.USER_MESSAGE_CHUNK),
        msg("answer"),
    ])  # fmt: skip
    assert [(b.kind, b.text, b.turn_id) for b in t.blocks] == [
        ("prompt", "hello there", None), ("message", "hi!", None), ("prompt", "second", None),
        ("prompt", "the prompt", "at-1"), ("message", "answer", "at-1"),
    ]  # fmt: skip
    assert not t.blocks[1].streaming  # outside a turn nothing would end the streaming


def test_titles_and_rename() -> None:
    t = RoomModel(ROOM)
    t.apply(upd(F.SESSION_INFO_UPDATE, title="Agent title"))
    assert t.title == "Agent title"
    [n] = t.apply(mux(F.ROOM_RENAMED, title="Mine"))
    assert isinstance(n, Notice) and "Mine" in n.text and t.title == "Mine"
    t.apply(upd(F.SESSION_INFO_UPDATE, title="Agent again"))
    assert t.title == "Mine"
    [q] = t.apply(mux(F.QUEUE_ITEM_REMOVED, queueItemId="q-1", text="later"))
    assert q.text == "queued prompt removed: later"


def test_live_and_rehydrated_identical() -> None:
    frames = conversation()
    live = RoomModel(ROOM)
    for seq, frame in enumerate(frames, 1):
        live.apply(frame, seq, recorded_at="2026-05-27T17:42:00.000000000Z")
        _ = [getattr(b, "text", None) for b in live.blocks]  # the UI reading mid-stream
    hydrated = RoomModel(ROOM)
    for seq, f in enumerate(frames, 1):
        hydrated.apply(f, seq, recorded_at="2026-05-27T17:42:00.000000000Z")

    def snapshot(t: RoomModel) -> list[tuple]:
        return [(type(b).__name__, b.seq, b.turn_id, getattr(b, "text", None),
                 getattr(b, "status", None), getattr(b, "outcome", None),
                 getattr(b, "streaming", None)) for b in t.blocks]  # fmt: skip

    assert snapshot(live) == snapshot(hydrated)
    kw = {"title": "t", "room_id": "r", "agent": "demo", "cwd": "/w"}
    assert export_markdown(live, **kw) == export_markdown(hydrated, **kw)


def test_turn_complete_settles_unfinished_tools() -> None:
    t = RoomModel(ROOM)
    t.apply(turn("at-1", "q"))
    [tc] = t.apply(tool("t1", "job", "in_progress"))
    [m] = t.apply(msg("stopping"))[-1:]
    # the agent cancelled by itself (no amux/turn_cancelled): changes come back in index order
    changed = t.apply(done("at-1", "cancelled"))
    assert changed == [tc, m, t.blocks[-1]] and tc.status == "cancelled" and not m.streaming
    t.apply(turn("at-2", "q"))
    [tc2] = t.apply(tool("t2", "job", "pending"))
    t.apply(done("at-2", None, "boom"))  # an error response: unfinished tools failed
    assert tc2.status == "failed" and t.blocks[-1].reason == "boom"
    t.apply(turn("at-3", "q"))
    [tc3] = t.apply(tool("t3", "job", "in_progress"))
    changed = t.apply(done("at-3"))  # a normal ending: the agent's status stays, but the
    assert changed == [tc3]  # call is marked as having ended without a result
    assert tc3.status == "in_progress" and tc3.ended
    t.apply(upd(F.TOOL_CALL_UPDATE, toolCallId="t3", status="completed"))  # a late result
    assert tc3.status == "completed" and not tc3.ended


def test_session_resumed_and_notice_frames() -> None:
    t = fold([
        mux(F.NOTICE, text="Welcome to amux!\\nPress ctrl+b ? for help.", level="info"),
        seg_started(1),
        mux(F.SESSION_RESUMED, acpSessionId="s1", via="resume"),  # same id: no rotation
        seg_ended(1, F.END_SESSION_LOAD),
        seg_started(2, "s2"),
        mux(F.SESSION_RESUMED, acpSessionId="s2", via="load"),  # the rotation already said it
        mux(F.NOTICE, text="disk full", level="error"),
        mux(F.NOTICE, text="odd level", level=["x"]),
        mux(F.NOTICE, level="info"),
    ])  # fmt: skip
    assert [(b.kind, b.text) for b in t.blocks] == [
        ("notice", "Welcome to amux!\\nPress ctrl+b ? for help."),
        ("divider", "session resumed"), ("divider", "session resumed"),
        ("notice", "disk full"), ("notice", "odd level"),
    ]  # fmt: skip
    assert [getattr(b, "level", None) for b in t.blocks] == ["info", None, None, "error", "info"]


# --- property test --------------------------------------------------------------------------

_METHODS = [F.SESSION_UPDATE, F.TURN_STARTED, F.TURN_COMPLETE, F.TURN_CANCELLED, F.TURN_INTERRUPTED,
            F.CONTROL_SUBMITTED, F.QUEUE_ITEM_REMOVED, F.AGENT_REQUEST_OPENED,
            F.AGENT_REQUEST_RESOLVED, F.SEGMENT_STARTED, F.SEGMENT_ENDED, F.COMPACTION_STARTED,
            F.COMPACTION_DONE, F.ROOM_RENAMED, F.SESSION_RESUMED, F.NOTICE, "_hermes/x", "other"]  # fmt: skip
_KINDS = [F.AGENT_MESSAGE_CHUNK, F.AGENT_THOUGHT_CHUNK, F.USER_MESSAGE_CHUNK, F.TOOL_CALL,
          F.TOOL_CALL_UPDATE, F.PLAN, F.SESSION_INFO_UPDATE, F.USAGE_UPDATE, F.CURRENT_MODE_UPDATE,
          F.AVAILABLE_COMMANDS_UPDATE, F.CONFIG_OPTION_UPDATE, "mystery"]  # fmt: skip
_KEYS = ["amuxTurnId", "content", "stopReason", "error", "reason", "cancelledBy", "mode", "text",
         "requestId", "requestMethod", "requestParams", "resolvedBy", "result", "endReason",
         "resumed", "compressionCount", "outcome", "source", "title", "toolCallId", "status",
         "entries", "messageId", "options", "toolCall", "outcome", "optionId", "type", "used",
         "size", "kind", "locations", "supersedesTurnId", "peerId", "path", "oldText", "newText"]  # fmt: skip

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True),
                     st.sampled_from(["at-1", "at-2", "tc1", "end_turn", "cancelled", "text",
                                      F.REQUEST_PERMISSION, F.RESOLVED_TURN_ENDED, "hard_steer",
                                      "session_load", "in_progress", "selected", ""]),
                     st.text(max_size=5))  # fmt: skip
_json = st.recursive(
    _scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(st.sampled_from(_KEYS), kids, max_size=5)
    ),
    max_leaves=12,
)
_content = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "image", "resource_link", "resource", "audio", 5])},
        optional={"text": st.one_of(st.text(max_size=8), _json), "name": _scalars, "uri": _scalars},
    ),
    _json,
)
_option = st.fixed_dictionaries(
    {}, optional={"optionId": st.sampled_from(["a", "b", 1]), "name": _scalars, "kind": _scalars}
)
_ids = st.sampled_from(["at-1", "at-2", "tc1", "tc2", 1, 0, None, True, 2.5, "m1"])
_update = st.fixed_dictionaries(
    {"sessionUpdate": st.one_of(st.sampled_from(_KINDS), _json)},
    optional={
        "content": st.one_of(_content, st.lists(_json, max_size=3)),
        "messageId": _ids,
        "toolCallId": st.one_of(_ids, _json),
        "title": _scalars,
        "kind": _scalars,
        "status": st.one_of(
            st.sampled_from(["pending", "in_progress", "completed", "failed"]), _json
        ),
        "entries": st.one_of(
            st.lists(
                st.one_of(_json, st.fixed_dictionaries({"content": _scalars, "status": _scalars})),
                max_size=3,
            ),
            _json,
        ),
        "locations": _json,
        "rawInput": _json,
        "used": _scalars,
        "size": _scalars,
        "availableCommands": _json,
        "currentModeId": _scalars,
    },
)
_params = st.one_of(
    _json,
    st.fixed_dictionaries({"update": st.one_of(_update, _json)}),
    st.fixed_dictionaries(
        {},
        optional={
            "amuxTurnId": st.one_of(_ids, _json),
            "content": st.one_of(st.lists(_content, max_size=3), _json),
            "stopReason": st.one_of(st.sampled_from(["end_turn", "cancelled", "refusal"]), _json),
            "error": _json,
            "reason": st.one_of(st.sampled_from(["hard_steer", "agent_exit", "app_exit"]), _json),
            "mode": st.sampled_from(["hard", "prompt", 3]),
            "text": _scalars,
            "requestId": st.one_of(_ids, _json),
            "requestMethod": st.sampled_from([F.REQUEST_PERMISSION, "fs/read_text_file", 4]),
            "requestParams": st.one_of(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "toolCall": st.one_of(_update, _json),
                        "options": st.lists(_option, max_size=3),
                    },
                ),
                _json,
            ),
            "resolvedBy": st.sampled_from(
                [F.RESOLVED_LOCAL, F.RESOLVED_AGENT_CANCELLED, F.RESOLVED_TURN_ENDED, 1]
            ),
            "result": st.one_of(
                _json,
                st.fixed_dictionaries(
                    {
                        "outcome": st.one_of(
                            _json,
                            st.fixed_dictionaries(
                                {"outcome": st.sampled_from(["selected", "cancelled", 1])},
                                optional={"optionId": _scalars},
                            ),
                        )
                    }
                ),
            ),
            "endReason": st.sampled_from(
                [F.END_SESSION_LOAD, F.END_HERMES_COMPRESSION, F.END_RESUME_UNAVAILABLE, 7]
            ),
            "resumed": _scalars,
            "compressionCount": _scalars,
            "outcome": st.sampled_from(["completed", "failed", "cancelled", None]),
            "title": _scalars,
            "supersedesTurnId": _ids,
        },
    ),
)
_frame = st.one_of(
    _json,
    st.fixed_dictionaries(
        {"method": st.one_of(st.sampled_from(_METHODS), _json), "params": _params}
    ),
    # well-formed envelopes with fuzzed updates, so the update handlers get exercised too
    st.fixed_dictionaries(
        {"method": st.just(F.SESSION_UPDATE), "params": st.fixed_dictionaries({"update": _update})}
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            _frame, st.one_of(st.none(), st.integers()), st.one_of(st.none(), st.text(max_size=30))
        ),
        max_size=40,
    )
)
def test_arbitrary_frames_never_raise(records: list) -> None:
    t = RoomModel(ROOM)
    for frame, seq, at in records:
        changed = t.apply(frame, seq, recorded_at=at)
        assert [b.index for b in changed] == sorted({b.index for b in changed})
        assert all(t.blocks[b.index] is b for b in changed)
    assert [b.index for b in t.blocks] == list(range(len(t.blocks)))
    # whatever was folded, the export renders it
    assert export_markdown(t.transcript, title="x", room_id="r", agent=None, cwd=None).startswith(
        "# x"
    )
