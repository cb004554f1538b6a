"""The transcript view (SPEC §1.3): what a user sees for each block, following, switching.

Frames go through a real :class:`Transcript`; the view runs in a tiny app under
``App.run_test``; assertions read the lines the view paints (``render_line``).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from textual import events
from textual.app import App, ComposeResult
from textual.scrollbar import ScrollBar

from amux_tui.engine import frames as F
from amux_tui.engine.model import RoomModel
from amux_tui.engine.transcript_blocks import Block
from amux_tui.ui.render_blocks import render_block
from amux_tui.ui.render_text import TextSplitter
from amux_tui.ui.widgets.transcript_view import ACTIVE_LINES, TranscriptView

ROOM = "r1"
SIZE = (100, 40)
AT = "2026-05-27T17:42:04.000000000Z"

# --- frame builders ---------------------------------------------------------------------------


def upd(kind: str, /, **fields: Any) -> dict:
    return F.notification(
        F.SESSION_UPDATE, {"sessionId": "s1", "update": {"sessionUpdate": kind, **fields}}
    )


def msg(text: str, mid: str = "m1", kind: str = F.AGENT_MESSAGE_CHUNK) -> dict:
    return upd(kind, content={"type": "text", "text": text}, messageId=mid)


def thought(text: str, mid: str = "th1") -> dict:
    return msg(text, mid, F.AGENT_THOUGHT_CHUNK)


def mux(method: str, **fields: Any) -> dict:
    return F.amux_frame(method, ROOM, **fields)


def turn(tid: str, text: str, **fields: Any) -> dict:
    content = [{"type": "text", "text": text}]
    return mux(F.TURN_STARTED, amuxTurnId=tid, peerId="local", content=content, **fields)


def done(tid: str, stop: str | None = "end_turn", error: Any = None) -> dict:
    return F.turn_complete(ROOM, tid, stop, error)


def tool(tid: str, title: str, status: str = "pending", **fields: Any) -> dict:
    return upd(F.TOOL_CALL, toolCallId=tid, title=title, status=status, **fields)


def text_content(text: str) -> dict:
    return {"type": "content", "content": {"type": "text", "text": text}}


def plan(*entries: tuple[str, str, str]) -> dict:
    items = [{"content": c, "status": s, "priority": p} for c, s, p in entries]
    return upd(F.PLAN, entries=items)


OPTIONS = [
    {"optionId": "allow", "name": "Allow once", "kind": "allow_once"},
    {"optionId": "always", "name": "Allow always", "kind": "allow_always"},
    {"optionId": "deny", "name": "Reject", "kind": "reject_once"},
]


def perm_open(rid: Any, title: str, tid: str) -> dict:
    params = {"sessionId": "s1", "options": OPTIONS,
              "toolCall": {"toolCallId": "tc-p", "title": title, "kind": "execute"}}  # fmt: skip
    return mux(F.AGENT_REQUEST_OPENED, requestId=rid, requestMethod=F.REQUEST_PERMISSION,
               amuxTurnId=tid, requestParams=params)  # fmt: skip


def perm_resolved(rid: Any, option: str | None = None, by: str = F.RESOLVED_LOCAL) -> dict:
    result = None
    if by == F.RESOLVED_LOCAL:
        outcome = (
            {"outcome": "selected", "optionId": option} if option else {"outcome": "cancelled"}
        )
        result = {"outcome": outcome}
    return mux(F.AGENT_REQUEST_RESOLVED, requestId=rid, resolvedBy=by, result=result)


DIFF = {"type": "diff", "path": "/w/app.py", "oldText": "x = 1\nprint(x)\n",
        "newText": "x = 2\nprint(x)\n"}  # fmt: skip


def representative() -> list[dict]:
    """A prompt, a streamed reply with a code block, a tool call with a diff, a plan, a
    resolved permission and a divider."""
    reply = "Here is the fix:\n\n```python\ndef f(x):\n    return x + 1\n```\n\nDone **now**."
    return [
        turn("at-1", "Fix the bug in app.py"),
        *[msg(reply[i : i + 7]) for i in range(0, len(reply), 7)],
        tool("tc1", "Edit app.py", "in_progress", kind="edit", content=[DIFF]),
        upd(F.TOOL_CALL_UPDATE, toolCallId="tc1", status="completed"),
        plan(
            ("Read the file", "completed", "high"),
            ("Fix it", "in_progress", "medium"),
            ("Run the tests", "pending", "low"),
        ),
        perm_open(7, "Run the tests", "at-1"),
        perm_resolved(7, "allow"),
        done("at-1"),
        mux(F.SESSION_RESUMED),
    ]


# --- harness ----------------------------------------------------------------------------------


class ViewApp(App[None]):
    """One TranscriptView filling the screen."""

    def __init__(self, model: RoomModel | None = None) -> None:
        super().__init__()
        self.model = model if model is not None else RoomModel(ROOM)
        self.follow_changes: list[bool] = []

    def compose(self) -> ComposeResult:
        yield TranscriptView(self.model.transcript)

    def on_transcript_view_follow_changed(self, event: TranscriptView.FollowChanged) -> None:
        self.follow_changes.append(event.follow)

    @property
    def view(self) -> TranscriptView:
        return self.query_one(TranscriptView)

    def feed(self, *frames: dict) -> list[Block]:
        """Fold frames and tell the view, like the shell's coalesced flush."""
        changed: dict[int, Block] = {}
        for frame in frames:
            for block in self.model.apply(frame, 0, recorded_at=AT):
                changed[block.index] = block
        self.view.blocks_changed(sorted(changed.values(), key=lambda b: b.index))
        return list(changed.values())


def screen(view: TranscriptView) -> list[str]:
    """The lines the view paints right now."""
    return [view.render_line(y).text.rstrip() for y in range(view.size.height)]


def seen(view: TranscriptView) -> str:
    return "\n".join(screen(view))


def segments_text(view: TranscriptView) -> str:
    """Raw segment text of every painted line (what would go to the terminal)."""
    return "".join(seg.text for y in range(view.size.height) for seg in view.render_line(y))


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prompt times are shown in local time: pin it so screens are deterministic."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


# --- what each block looks like -----------------------------------------------------------------


async def test_prompt_reply_tool_plan_permission_divider() -> None:
    app = ViewApp()
    async with app.run_test(size=SIZE) as pilot:
        app.feed(*representative())
        await pilot.pause()
        text = seen(app.view)
        lines = screen(app.view)
    assert "you · 17:42" in text
    assert "Fix the bug in app.py" in text
    assert "Here is the fix:" in text and "def f(x):" in text and "Done now." in text
    assert "```" not in text  # the fence is rendered as a code block, not shown raw
    assert "✓ Edit app.py  edit" in text
    assert "  -x = 1" in lines and "  +x = 2" in lines and "   print(x)" in lines
    assert "  ☑ Read the file  high" in lines
    assert "  ◐ Fix it  medium" in lines
    assert "  ☐ Run the tests  low" in lines
    assert "  1 Allow once  allow once" in lines
    assert "  2 Allow always  allow always" in lines
    assert "  3 Reject  reject once" in lines
    assert "  → Allow once" in lines
    rule = next(line for line in lines if "session resumed" in line)
    assert rule.startswith("─") and rule.endswith("─") and len(rule) >= 90


async def test_tool_status_glyphs_and_content() -> None:
    app = ViewApp()
    async with app.run_test(size=SIZE) as pilot:
        app.feed(
            turn("at-1", "go"),
            tool("a", "Pending one", kind="read"),
            tool("b", "Running one", "in_progress", kind="execute",
                 content=[text_content("partial output"), {"type": "terminal", "terminalId": "t7"}]),
            tool("c", "Done one", "completed", kind="edit"),
            tool("d", "Broken one", "failed"),
            tool("e", "Stopped one", "cancelled"),
        )  # fmt: skip
        await pilot.pause()
        lines = screen(app.view)
    assert "○ Pending one  read" in lines
    assert "◐ Running one  execute" in lines
    assert "  partial output" in lines and "  [terminal t7]" in lines
    assert "✓ Done one  edit" in lines
    assert "✗ Broken one" in lines
    assert "⊘ Stopped one" in lines


async def test_turn_endings_and_permission_outcomes() -> None:
    app = ViewApp()
    async with app.run_test(size=(100, 60)) as pilot:
        app.feed(
            turn("at-1", "one"), perm_open(1, "Delete it", "at-1"), perm_resolved(1),
            done("at-1", "cancelled"),
            turn("at-2", "two"), perm_open(2, "Write it", "at-2"),
            perm_resolved(2, by=F.RESOLVED_AGENT_CANCELLED), done("at-2", "max_tokens"),
            turn("at-3", "three"), perm_open(3, "Run it", "at-3"),
            mux(F.TURN_INTERRUPTED, amuxTurnId="at-3", reason=F.INTERRUPTED_AGENT_EXIT),
            turn("at-4", "four"), done("at-4", "refusal"),
            turn("at-5", "five"), done("at-5", None, {"code": -32603, "message": "boom"}),
        )  # fmt: skip
        await pilot.pause()
        app.view.scroll_to(y=0, animate=False)
        await pilot.pause()
        top = screen(app.view)
        app.view.jump_to_end()
        await pilot.pause()
        bottom = screen(app.view)
    lines = top + bottom
    assert "  → cancelled" in lines
    assert "⊘ turn cancelled" in lines
    assert "  → withdrawn by agent" in lines
    assert any(line.startswith("⚠ max tokens") for line in lines)
    assert "  → turn ended" in lines
    assert "✗ interrupted: agent exited" in lines
    assert any(line.startswith("⊘ refusal") for line in lines)
    assert "✗ error: boom" in lines


async def test_pending_permission_waits_for_an_answer() -> None:
    app = ViewApp()
    async with app.run_test(size=SIZE) as pilot:
        app.feed(turn("at-1", "go"), perm_open(1, "Run the tests", "at-1"))
        await pilot.pause()
        waiting = seen(app.view)
        app.feed(perm_resolved(1, "always"))
        await pilot.pause()
        answered = seen(app.view)
    assert "? Run the tests  execute" in waiting and "waiting for your answer (1–3)" in waiting
    assert "→ Allow always" in answered and "waiting" not in answered


async def test_dividers_and_notices() -> None:
    app = ViewApp()
    async with app.run_test(size=SIZE) as pilot:
        app.feed(
            mux(F.SEGMENT_STARTED, segmentId="seg-1", acpSessionId="s1"),
            mux(F.SEGMENT_ENDED, segmentId="seg-1", endReason=F.END_RESUME_UNAVAILABLE),
            mux(F.SEGMENT_STARTED, segmentId="seg-2", acpSessionId="s2"),
            mux(F.COMPACTION_DONE, compressionCount=3),
            mux(F.NOTICE, text="welcome [b]to[/b] amux", level="info"),
            mux(F.NOTICE, text="careful", level="warning"),
        )
        await pilot.pause()
        lines = screen(app.view)
    assert any("new session — earlier history is not in the agent's context" in x for x in lines)
    assert any("context compacted (#3)" in x and x.startswith("─") for x in lines)
    assert "ℹ welcome [b]to[/b] amux" in lines
    assert "⚠ careful" in lines


# --- agent text is shown literally ------------------------------------------------------------

MARKUP = "[bold]x[/bold] and [/] and [red on blue]y[/] :smile: <b>html</b>"


async def test_markup_and_ansi_are_shown_literally() -> None:
    app = ViewApp()
    async with app.run_test(size=SIZE) as pilot:
        app.feed(
            turn("at-1", f"prompt {MARKUP}"),
            thought(f"thinking {MARKUP}"),
            msg(f"reply {MARKUP} \x1b[31mred\x1b[0m\x9b2J\x07"),
            tool("t1", f"tool {MARKUP}", "completed", content=[text_content("out \x1b[2J")]),
        )
        await pilot.pause()
        app.view.toggle_block(1)  # expand the (finished) thought
        await pilot.pause()
        text = seen(app.view)
        raw = segments_text(app.view)
    for prefix in ("prompt", "thinking", "reply", "tool"):
        assert f"{prefix} {MARKUP}" in text
    assert "␛[31mred␛[0m" in text and "out ␛[2J" in text
    assert "\x1b" not in raw and "\x9b" not in raw and "\x07" not in raw


async def test_unknown_update_kinds_and_block_types_render_nothing() -> None:
    class Mystery(Block):
        kind = "mystery"

    app = ViewApp()
    async with app.run_test(size=SIZE) as pilot:
        app.feed(turn("at-1", "hello"), upd("brand_new_update", foo=[1, {"x": None}]),
                 upd("agent_message_chunk", content=["not", "a", "dict"]), msg("still here"))  # fmt: skip
        stranger = Mystery(None, None)
        stranger.index = len(app.model.blocks)
        app.model.blocks.append(stranger)
        app.view.blocks_changed([stranger])
        app.feed(msg("after", "m2"))
        await pilot.pause()
        text = seen(app.view)
    assert "hello" in text and "still here" in text and "after" in text
    assert "mystery" not in text.lower() and "brand_new" not in text


# --- following, scrolling, switching ----------------------------------------------------------


async def test_streaming_follows_the_end() -> None:
    app = ViewApp()
    async with app.run_test(size=SIZE) as pilot:
        app.feed(turn("at-1", "count"))
        for n in range(500):
            app.model.apply(msg(f"chunk{n} " + ("\n" if n % 9 == 8 else "")), 0, recorded_at=AT)
            if n % 20 == 19:
                app.view.blocks_changed([app.model.blocks[-1]])
                await pilot.pause()
        app.view.blocks_changed([app.model.blocks[-1]])
        await pilot.pause()
        view = app.view
        assert view.follow
        assert view.scroll_offset.y == view.max_scroll_y > 0
        assert "chunk499" in seen(view)


async def test_the_scroll_bar_repaints_when_its_thumb_changes_and_only_then(monkeypatch) -> None:
    """Streaming changes the virtual size and the scroll position on every flush; the bar
    is repainted when what it draws changes (read from its own render), not otherwise."""
    repaints: list[ScrollBar] = []
    real_refresh = ScrollBar.refresh

    def counting_refresh(self: ScrollBar, *regions: Any, **options: Any) -> ScrollBar:
        repaints.append(self)
        return real_refresh(self, *regions, **options)

    monkeypatch.setattr(ScrollBar, "refresh", counting_refresh)
    app = ViewApp()
    async with app.run_test(size=SIZE) as pilot:
        app.feed(turn("at-1", "count"))
        view = app.view

        async def add(lines: int) -> None:
            app.feed(*[msg(f"line {n}\n") for n in range(lines)])
            await pilot.pause()

        await add(SIZE[1] * 2)  # enough to scroll: the bar is shown
        bar = view.vertical_scrollbar
        assert view.show_vertical_scrollbar

        def look() -> list[tuple[str, object]]:
            options = app.console.options.update_dimensions(bar.size.width, bar.size.height)
            return [(seg.text, seg.style) for seg in app.console.render(bar.render(), options)]

        changed = unchanged = 0
        for step in range(120):
            if step == 60:
                await add(SIZE[1] * SIZE[1] * 2)  # so long the thumb is one cell at the end
            before, painted = look(), sum(b is bar for b in repaints)
            await add(1)
            now_painted = sum(b is bar for b in repaints) > painted
            if look() != before:
                changed += 1
                assert now_painted, f"step {step}: the thumb moved but the bar was not repainted"
            else:
                unchanged += 1
                assert not now_painted, f"step {step}: repainted, yet it draws the same"
        assert changed > 5 and unchanged > 50  # both cases were seen
        assert view.follow and view.scroll_offset.y == view.max_scroll_y


async def test_a_narrower_window_keeps_the_place_read_in_a_long_reply() -> None:
    """Scrolled back deep into one long reply (one block), a resize re-wraps every line;
    the view stays at about the same text, not at the start of the reply."""
    app = ViewApp()
    async with app.run_test(size=SIZE) as pilot:
        app.feed(turn("at-1", "count"))
        text = "".join(f"chunk {n} " for n in range(20000))
        app.feed(*[msg(text[i : i + 5000]) for i in range(0, len(text), 5000)])
        await pilot.pause()
        view = app.view
        for _ in range(5):
            view.action_scroll_pages(-1)
            await pilot.pause()

        def top_chunk() -> int:
            return int(screen(view)[0].split("chunk ")[1].split()[0])

        before = top_chunk()
        assert not view.follow and 15000 < before < 19990
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        assert not view.follow
        assert abs(top_chunk() - before) < 20000 * 0.03  # within 3% of the reply


async def test_scrolling_up_stops_following_and_end_resumes() -> None:
    app = ViewApp()
    async with app.run_test(size=SIZE) as pilot:
        app.feed(turn("at-1", "count"), *[msg(f"line {n}\n\n") for n in range(200)])
        await pilot.pause()
        view = app.view
        view.focus()
        assert view.follow
        await pilot.press("pageup")
        assert not view.follow
        before_y, before = view.scroll_offset.y, screen(view)
        app.feed(*[msg(f"more {n}\n\n") for n in range(100)])
        await pilot.pause()
        assert view.scroll_offset.y == before_y and screen(view) == before
        assert "more 99" not in seen(view)
        await pilot.press("end")
        await pilot.pause()
        assert view.follow and "more 99" in seen(view)
        await pilot.press("up")
        assert not view.follow
        await pilot.press("down")  # back at the bottom: following again
        assert view.follow
    assert app.follow_changes[:2] == [False, True]


async def test_mouse_wheel_up_stops_following() -> None:
    app = ViewApp()
    async with app.run_test(size=SIZE) as pilot:
        app.feed(turn("at-1", "count"), *[msg(f"line {n}\n\n") for n in range(100)])
        await pilot.pause()
        # Pilot has no wheel helper; its private poster sends real wheel events.
        await pilot._post_mouse_events([events.MouseScrollUp], TranscriptView, offset=(10, 10))
        assert not app.view.follow
        y = app.view.scroll_offset.y
        app.feed(*[msg(f"more {n}\n\n") for n in range(10)])
        await pilot.pause()
        assert app.view.scroll_offset.y == y
        for _ in range(30):
            await pilot._post_mouse_events(
                [events.MouseScrollDown], TranscriptView, offset=(10, 10)
            )
        assert app.view.follow


async def test_set_transcript_switches_and_keeps_each_position() -> None:
    first, second = RoomModel(ROOM), RoomModel(ROOM)
    for n, frame in enumerate(
        [turn("at-1", "first room"), *[msg(f"alpha {n}\n\n") for n in range(100)]]
    ):
        first.apply(frame, n, recorded_at=AT)
    for n, frame in enumerate([turn("at-1", "second room"), msg("beta reply")]):
        second.apply(frame, n, recorded_at=AT)
    app = ViewApp(first)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = app.view
        assert "alpha 99" in seen(view)
        view.scroll_to(y=0, animate=False)
        await pilot.pause()
        assert not view.follow and "first room" in seen(view)
        view.set_transcript(second.transcript)
        await pilot.pause()
        assert view.follow
        assert "second room" in seen(view) and "beta reply" in seen(view)
        assert "alpha" not in seen(view)
        view.set_transcript(first.transcript)
        await pilot.pause()
        assert not view.follow and view.scroll_offset.y == 0 and "first room" in seen(view)


async def test_showing_the_same_transcript_again_catches_up() -> None:
    app = ViewApp()
    async with app.run_test(size=SIZE) as pilot:
        app.feed(turn("at-1", "hello"))
        await pilot.pause()
        # Changes folded while the pane was hidden: the view was not told about them.
        app.model.apply(msg("folded while hidden"), 0, recorded_at=AT)
        app.model.apply(tool("t1", "Quiet tool", "completed"), 0, recorded_at=AT)
        assert "folded while hidden" not in seen(app.view)
        app.view.set_transcript(app.model.transcript)
        await pilot.pause()
        assert "folded while hidden" in seen(app.view) and "✓ Quiet tool" in seen(app.view)


async def test_a_hidden_view_catches_up_when_shown() -> None:
    app = ViewApp()
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        view.display = False
        await pilot.pause()
        app.feed(turn("at-1", "while hidden"), *[msg(f"line {n}\n\n") for n in range(100)])
        await pilot.pause()
        view.display = True
        await pilot.pause()
        assert view.follow and "line 99" in seen(view)
        assert view.scroll_offset.y == view.max_scroll_y


async def test_huge_texts_stay_bounded() -> None:
    big = "x" * (8 << 20)  # one 8 MiB line, like the demo agent's /huge
    old = "\n".join(f"a{n}" for n in range(4000))
    new = "\n".join(f"b{n}" for n in range(4000))
    diff = {"type": "diff", "path": "big.txt", "oldText": old, "newText": new}
    app = ViewApp()
    async with app.run_test(size=SIZE) as pilot:
        started = time.perf_counter()
        app.feed(turn("at-1", "huge"), msg(big), tool("t1", "Huge edit", "in_progress", content=[diff]),
                 tool("t2", "Minified", "in_progress", content=[text_content("y" * 100_000)]))  # fmt: skip
        await pilot.pause()
        lines = screen(app.view)
        elapsed = time.perf_counter() - started
        layout = app.view._layout
        assert layout is not None and layout.cached_lines < 1000
        await pilot.press("home")
        assert screen(app.view)[:2] == [" you · 17:42", "huge"]
    assert "  4,000 → 4,000 lines (too large to diff here)" in lines
    assert any("(98,000 more characters)" in line for line in lines)
    assert elapsed < 10  # generous: it takes well under a second; a hang would not


async def test_thoughts_collapse_toggle_and_hide() -> None:
    app = ViewApp()
    async with app.run_test(size=SIZE) as pilot:
        app.feed(turn("at-1", "think"), thought("deep secret reasoning\nsecond line"))
        await pilot.pause()
        view = app.view
        assert "deep secret reasoning" in seen(view) and "second line" in seen(view)  # streaming
        app.feed(msg("the answer"))  # a new block ends the thought: it folds to one line
        await pilot.pause()
        assert "▸ thought · deep secret reasoning second line" in screen(view)
        view.toggle_block(1)
        await pilot.pause()
        assert "second line" in screen(view) and "▾ thought" in screen(view)
        view.show_thoughts = False  # the app's toggle_thoughts (ctrl+b t)
        await pilot.pause()
        assert "deep secret" not in seen(view) and "the answer" in seen(view)
        view.show_thoughts = True
        await pilot.pause()
        assert "deep secret reasoning" in seen(view)


async def test_long_tool_output_folds_and_enter_expands() -> None:
    output = "\n".join(f"row {n}" for n in range(30))
    app = ViewApp()
    async with app.run_test(size=SIZE) as pilot:
        app.feed(turn("at-1", "list"), tool("t1", "List files", "completed", kind="read",
                                            content=[text_content(output)]), msg("ok"))  # fmt: skip
        await pilot.pause()
        view = app.view
        assert "✓ List files  read  ▸ 30 lines" in screen(view) and "row 5" not in seen(view)
        view.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "  row 5" in screen(view)
        await pilot.press("enter")
        await pilot.pause()
        assert "row 5" not in seen(view)
        # a click on the tool call toggles it too
        y = next(i for i, line in enumerate(screen(view)) if line.startswith("✓ List files"))
        await pilot.click(TranscriptView, offset=(3, y))
        await pilot.pause()
        assert "  row 5" in screen(view)


async def test_resize_rewraps() -> None:
    app = ViewApp()
    async with app.run_test(size=SIZE) as pilot:
        app.feed(turn("at-1", "wrap"), msg(" ".join(f"word{n}" for n in range(200))))
        await pilot.pause()
        await pilot.resize_terminal(50, 30)
        await pilot.pause()
        lines = screen(app.view)
        width = app.view.scrollable_content_region.width
        assert 40 < width < 50
        assert all(len(line) <= width for line in lines)
        assert "word199" in "\n".join(lines)


async def test_long_transcript_renders_only_what_is_visible() -> None:
    t = RoomModel(ROOM)
    seq = 0
    for n in range(2000):
        for frame in (turn(f"at-{n}", f"prompt {n}"), msg(f"reply {n} " * 20, f"m{n}"),
                      tool(f"t{n}", f"tool {n}", "completed"), done(f"at-{n}")):  # fmt: skip
            seq += 1
            t.apply(frame, seq, recorded_at=AT)
    app = ViewApp(RoomModel(ROOM))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = app.view
        view.set_transcript(t.transcript)
        await pilot.pause()
        assert "tool 1999" in seen(view)
        layout = view._layout
        assert layout is not None and layout.cached_lines < 3 * SIZE[1] * 2
        await pilot.press("home")
        await pilot.pause()
        assert seen(view).startswith(" you · 17:42\nprompt 0")
        for n in range(300):  # the pagedown action without Pilot's per-key pauses
            view.action_scroll_pages(1)
            if n % 50 == 0:
                await pilot.pause()
        await pilot.pause()
        assert layout.cached_lines <= ACTIVE_LINES
        assert "prompt 1000" not in seen(view)  # far down by now, not at the end
        assert not view.follow


async def test_live_and_rehydrated_look_the_same() -> None:
    frames = representative() + [turn("at-2", "long"), *[msg(f"w{n} ", "m2") for n in range(3000)],
                                 done("at-2")]  # fmt: skip
    live = ViewApp()
    async with live.run_test(size=SIZE) as pilot:
        for i in range(0, len(frames), 37):
            live.feed(*frames[i : i + 37])
            await pilot.pause()
        live_lines = screen(live.view)
    rehydrated = RoomModel(ROOM)
    for f in frames:
        rehydrated.apply(f, 0, recorded_at=AT)
    again = ViewApp(rehydrated)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert screen(again.view) == live_lines


# --- pieces ---------------------------------------------------------------------------------------


PARTS = [
    "word ",
    "**b** ",
    "\n",
    "\n\n",
    "```py\n",
    "```\n",
    "    x\n",
    "| a |\n",
    "- x\n",
    "y" * 300,
]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(PARTS), max_size=120),
    st.lists(st.integers(1, 400), min_size=1, max_size=50),
)
def test_pieces_do_not_depend_on_chunking(parts: list[str], cuts: list[int]) -> None:
    text = "".join(parts)
    whole = TextSplitter(True)
    whole.feed(text)
    streamed = TextSplitter(True)
    pos = 0
    for cut in cuts:
        pos = min(len(text), pos + cut)
        streamed.feed(text[:pos])
    streamed.feed(text)
    assert streamed.all_pieces(text) == whole.all_pieces(text)
    pieces = whole.all_pieces(text)
    assert "".join(text[p.start : p.end] for p in pieces) == text


def test_render_block_is_pure_and_literal() -> None:
    t = RoomModel(ROOM)
    t.apply(turn("at-1", "[bold]hi[/bold]"), 1, recorded_at=AT)
    console = Console(width=60, color_system=None)
    lines = render_block(t.blocks[0], console, 60)
    assert ["".join(s.text for s in line).rstrip() for line in lines] == [
        " you · 17:42",
        "[bold]hi[/bold]",
    ]


# --- snapshot -------------------------------------------------------------------------------------


class SnapshotApp(ViewApp):
    def on_mount(self) -> None:
        self.feed(*representative())


def test_snapshot_representative_transcript(snap_compare: Any) -> None:
    async def scroll_home(pilot: Any) -> None:
        await pilot.pause()
        pilot.app.view.scroll_to(y=0, animate=False)
        await pilot.pause()

    assert snap_compare(SnapshotApp(), terminal_size=(90, 44), run_before=scroll_home)
