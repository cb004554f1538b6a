"""Memory benchmark (SPEC §7): under 1 KiB per recorded frame held for display.

Run ``python benchmarks/bench_memory.py [FRAMES]`` (default 50,000). Folds FRAMES
realistic frames (the same mix as ``bench_switch.py``) into a :class:`Transcript`, shows it
in a headless :class:`TranscriptView` (160×48) and scrolls through all of it, page by page,
then back to the end. ``tracemalloc`` measures what stays allocated:

* the transcript view model (the blocks the engine folds and the view reads),
* the view's own caches for it (heights, piece boundaries, the LRU of rendered lines),

each per recorded frame. Baseline, same run: the size of the raw frames as JSON (what the
log holds per frame). Prints each figure and its ratio to the baseline. Not a test.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import msgspec

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_switch import AT, SIZE, make_frames  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402

from amux_tui.engine.model import RoomModel  # noqa: E402
from amux_tui.ui.widgets.transcript_view import TranscriptView  # noqa: E402


class MemoryApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TranscriptView()


def _allocated() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def measure(n: int) -> dict[str, Any]:
    frames = make_frames(n)
    encoder = msgspec.json.Encoder()
    json_bytes = sum(len(encoder.encode(frame)) for frame in frames)
    app = MemoryApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = app.query_one(TranscriptView)
        tracemalloc.start()
        before = _allocated()
        model = RoomModel("r")
        for seq, frame in enumerate(frames, 1):
            model.apply(frame, seq, 0, AT)
        transcript = model.transcript
        del frames
        model = _allocated() - before
        view.set_transcript(transcript)
        await pilot.pause()
        view.focus()
        view.scroll_to(y=0, animate=False)
        await pilot.pause()
        pages = 0
        while not view.is_vertical_scroll_end and pages < 100_000:
            view.action_scroll_pages(1)
            pages += 1
            if pages % 50 == 0:
                await pilot.pause()
        view.jump_to_end()
        await pilot.pause()
        total = _allocated() - before
        peak = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.stop()
        layout = view._layout  # noqa: SLF001
        lines = layout.total if layout else 0
        cached = layout.cached_lines if layout else 0
    return {"n": n, "json": json_bytes, "model": model, "view": total - model, "total": total,
            "peak": peak, "pages": pages, "lines": lines, "cached": cached,
            "blocks": len(transcript.blocks)}  # fmt: skip


def report(n: int) -> str:
    r = asyncio.run(measure(n))
    per = lambda b: b / r["n"]  # noqa: E731
    base = per(r["json"])
    rows = [
        ("raw frames as JSON (baseline)", r["json"]),
        ("transcript view model (blocks)", r["model"]),
        ("view caches (layout + rendered lines)", r["view"]),
        ("held for display (model + view)", r["total"]),
        ("peak while scrolling", r["peak"]),
    ]
    out = [f"memory: {n:,} frames → {r['blocks']:,} blocks, {r['lines']:,} lines; scrolled "
           f"through {r['pages']:,} pages of {SIZE[0]}×{SIZE[1]}; {r['cached']:,} lines cached"]  # fmt: skip
    for label, value in rows:
        out.append(f"  {label:40s} {value / 1e6:8.2f} MB  {per(value):8.1f} B/frame  "
                   f"×{per(value) / base:.2f}")  # fmt: skip
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``python benchmarks/bench_memory.py [FRAMES]``."""
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0].replace("_", "")) if argv else 50_000
    print(report(n))


if __name__ == "__main__":
    main()
