"""Room-switch benchmark (SPEC §7): show a transcript of 50,000 frames in under 50 ms.

Run ``python benchmarks/bench_switch.py [FRAMES]`` (default 50,000). Two transcripts of
FRAMES realistic frames each (turns with a prompt, thoughts, a streamed Markdown reply with
code, tool calls with text and diff content, a plan) are folded like hydration does; then
one headless :class:`TranscriptView` (160×48) switches between them with
``set_transcript``. Measured: the time from the call until the first screen has been
painted (the view's ``render_line`` has drawn every row once), for a transcript never shown
before (cold) and for one shown before (warm). Baseline, same run: the time until a plain
Textual ``Log`` paints the same number of visible lines written to it (``clear`` +
``write_lines``). Prints each figure and its ratio to the baseline. Not a test.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual.app import App, ComposeResult  # noqa: E402
from textual.strip import Strip  # noqa: E402
from textual.widgets import Log  # noqa: E402

from amux_tui.engine import frames as F  # noqa: E402
from amux_tui.engine.model import RoomModel  # noqa: E402
from amux_tui.engine.transcript import Transcript  # noqa: E402
from amux_tui.ui.widgets.transcript_view import TranscriptView  # noqa: E402

SIZE = (160, 48)
TURN = 50  # frames per turn
AT = "2026-05-27T17:42:04.000000000Z"


def _upd(update_kind: str, /, **fields: Any) -> dict:
    update = {"sessionUpdate": update_kind, **fields}
    return F.notification(F.SESSION_UPDATE, {"sessionId": "s1", "update": update})


def _text(text: str) -> dict:
    return {"type": "text", "text": text}


def make_frames(n: int) -> list[dict]:
    """``n`` frames in turns of 50: mostly streamed chunks, as real logs are."""
    frames: list[dict] = []
    t = 0
    while len(frames) < n:
        t += 1
        tid, mid = f"at-{t}", f"m{t}"
        frames.append(F.amux_frame(F.TURN_STARTED, "r", amuxTurnId=tid, peerId="local",
                                   content=[_text(f"Please fix issue #{t} in module {t % 7}")]))  # fmt: skip
        for k in range(4):
            frames.append(_upd(F.AGENT_THOUGHT_CHUNK, messageId=f"th{t}",
                               content=_text(f"Thinking about step {k} of the fix. ")))  # fmt: skip
        frames.append(_upd(F.TOOL_CALL, toolCallId=f"r{t}", title=f"Read src/mod{t % 7}.py",
                           kind="read", status="in_progress"))  # fmt: skip
        frames.append(_upd(F.TOOL_CALL_UPDATE, toolCallId=f"r{t}", status="completed",
                           content=[{"type": "content", "content": _text("def f(x):\n    return x\n")}]))  # fmt: skip
        chunks = [
            "I read the module. ", "The problem is in `f`: ", "it returns **x** unchanged.\n\n",
            "Here is the fix:\n\n", "```python\n", "def f(x):\n", "    return x + 1\n", "```\n\n",
        ]  # fmt: skip
        while len(chunks) < 34:
            chunks.append(f"More explanation {len(chunks)} with some words. ")
            if len(chunks) % 9 == 0:
                chunks.append("\n\n")
        chunks = chunks[:34]
        for chunk in chunks:
            frames.append(_upd(F.AGENT_MESSAGE_CHUNK, messageId=mid, content=_text(chunk)))
        diff = {"type": "diff", "path": f"src/mod{t % 7}.py", "oldText": "def f(x):\n    return x\n",
                "newText": "def f(x):\n    return x + 1\n"}  # fmt: skip
        frames.append(_upd(F.TOOL_CALL, toolCallId=f"e{t}", title="Edit", kind="edit",
                           status="in_progress", content=[diff]))  # fmt: skip
        frames.append(_upd(F.TOOL_CALL_UPDATE, toolCallId=f"e{t}", status="completed"))
        frames.append(_upd(F.PLAN, entries=[{"content": "Fix f", "status": "completed",
                                             "priority": "high"}]))  # fmt: skip
        for k in range(TURN - 46):
            frames.append(_upd(F.AGENT_MESSAGE_CHUNK, messageId=f"{mid}b",
                               content=_text(f"Done with part {k}. ")))  # fmt: skip
        frames.append(F.turn_complete("r", tid, "end_turn"))
    return frames[:n]


def fold(frames: list[dict]) -> Transcript:
    model = RoomModel("r")
    for seq, frame in enumerate(frames, 1):
        model.apply(frame, seq, 0, AT)
    return model.transcript


class PaintProbe:
    """Records when every row of the viewport has been painted since :meth:`arm`."""

    def __init__(self) -> None:
        self.rows: set[int] = set()
        self.height = 0
        self.done_at = 0.0

    def arm(self, height: int) -> None:
        self.rows = set()
        self.height = height
        self.done_at = 0.0

    def painted(self, y: int) -> None:
        if self.height and not self.done_at:
            self.rows.add(y)
            if len(self.rows) >= self.height:
                self.done_at = time.perf_counter()


class ProbedView(TranscriptView):
    def __init__(self) -> None:
        super().__init__()
        self.probe = PaintProbe()

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        self.probe.painted(y)
        return strip


class ProbedLog(Log):
    def __init__(self, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.probe = PaintProbe()

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        self.probe.painted(y)
        return strip


class SwitchApp(App[None]):
    CSS = "ProbedView, ProbedLog { height: 1fr; } .hidden { display: none; }"

    def compose(self) -> ComposeResult:
        yield ProbedView()
        yield ProbedLog(classes="hidden")


async def _until_painted(pilot: Any, probe: PaintProbe, start: float) -> float:
    while not probe.done_at and time.perf_counter() - start < 10:
        await pilot.pause(0.001)
    return probe.done_at - start


async def measure(n: int, rounds: int = 5) -> dict[str, Any]:
    t0 = time.perf_counter()
    first, second = fold(make_frames(n)), fold(make_frames(n))
    fold_s = (time.perf_counter() - t0) / 2
    app = SwitchApp()
    out: dict[str, Any] = {"blocks": len(first.blocks), "fold": fold_s}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = app.query_one(ProbedView)
        log = app.query_one(ProbedLog)
        height = view.scrollable_content_region.height
        cold: list[float] = []
        calls: list[float] = []
        for target in (first, second):  # each shown for the first time
            view.probe.arm(height)
            start = time.perf_counter()
            view.set_transcript(target)
            calls.append(time.perf_counter() - start)
            cold.append(await _until_painted(pilot, view.probe, start))
            visible = [view.render_line(y).text.rstrip() for y in range(height)]
        warm: list[float] = []
        for k in range(rounds * 2):
            view.probe.arm(height)
            start = time.perf_counter()
            view.set_transcript(first if k % 2 == 0 else second)
            warm.append(await _until_painted(pilot, view.probe, start))
        out["lines"] = view._layout.total if view._layout else 0  # noqa: SLF001
        view.display = False
        log.remove_class("hidden")
        await pilot.pause()
        base: list[float] = []
        for _ in range(rounds * 2):
            log.probe.arm(log.scrollable_content_region.height)
            start = time.perf_counter()
            log.clear()
            log.write_lines(visible)
            base.append(await _until_painted(pilot, log.probe, start))
    out.update(cold=cold, call=calls, warm=statistics.median(warm),
               warm_max=max(warm), base=statistics.median(base))  # fmt: skip
    return out


def report(n: int) -> str:
    r = asyncio.run(measure(n))
    base = r["base"]
    ms = 1000
    lines = [
        f"switch: two transcripts of {n:,} frames ({r['blocks']:,} blocks, ~{r['lines']:,} "
        f"lines each), {SIZE[0]}×{SIZE[1]} headless; fold (hydration) {r['fold'] * ms:.0f} ms each",
        f"  baseline: Log clear + write_lines of one screen → painted: {base * ms:.2f} ms",
    ]  # fmt: skip
    for k, (cold, call) in enumerate(zip(r["cold"], r["call"], strict=True), 1):
        lines.append(f"  cold switch #{k} (never shown) → painted: {cold * ms:.2f} ms "
                     f"(set_transcript call {call * ms:.2f} ms)  ×{cold / base:.2f}")  # fmt: skip
    lines.append(f"  warm switch (shown before) → painted, median / max: {r['warm'] * ms:.2f} / "
                 f"{r['warm_max'] * ms:.2f} ms  ×{r['warm'] / base:.2f}")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``python benchmarks/bench_switch.py [FRAMES]``."""
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0].replace("_", "")) if argv else 50_000
    print(report(n))


if __name__ == "__main__":
    main()
