"""Find in the room and ``amux grep`` (issue 14), each against a same-run baseline.

* find bar: a room of 50,000 recorded frames; each "keystroke" (a query one character
  longer) searches every block and updates the highlighted hits and the count; target
  < 100 ms per keystroke. Baseline: one plain ``re`` scan of the same text, joined.
* grep: 20 rooms holding 1,000,000 frames (``bench_hydration``'s home); target: at least
  50% of the speed of a bare msgspec decode + ``re`` loop over the same files.

Run ``python benchmarks/bench_find.py [ROOM_FRAMES] [TOTAL_FRAMES] [ROOMS]``.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import msgspec

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_hydration import build  # noqa: E402

from amux_tui.engine.hydrate import hydrate  # noqa: E402
from amux_tui.engine.search import block_text, compile_query, grep_log  # noqa: E402

QUERY = "word17 and"


def find_keystrokes(room_frames: int) -> dict[str, float]:
    """Per-keystroke time of the find bar on a 50,000-frame room, in the real view."""
    from textual.app import App, ComposeResult

    from amux_tui.ui.widgets.find_bar import TranscriptFind
    from amux_tui.ui.widgets.transcript_view import TranscriptView

    home = Path(tempfile.mkdtemp(prefix="amux-bench-find-"))
    try:
        [path] = build(home, room_frames, 1)
        model = hydrate(path, path.stem).model
    finally:
        shutil.rmtree(home, ignore_errors=True)
    blocks = model.transcript.blocks
    corpus = "\n".join(block_text(b) for b in blocks)
    times: list[float] = []
    hits: list[int] = []

    class Bench(App[None]):
        def compose(self) -> ComposeResult:
            yield TranscriptView(model.transcript)

    async def run() -> None:
        app = Bench()
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            view = app.query_one(TranscriptView)
            finder = TranscriptFind(view)
            finder.run("w", regex=False)  # the first keystroke fills the text cache
            for n in range(1, len(QUERY) + 1):
                t = time.perf_counter()
                finder.run(QUERY[:n], regex=False)
                for y in range(view.size.height):  # repaint what is on screen, marks included
                    view.render_line(y)
                times.append(time.perf_counter() - t)
                hits.append(len(finder.hits))

    asyncio.run(run())
    base = []
    for n in range(1, len(QUERY) + 1):
        pattern = compile_query(QUERY[:n])
        t = time.perf_counter()
        sum(1 for _ in pattern.finditer(corpus))
        base.append(time.perf_counter() - t)
    worst, median = max(times), sorted(times)[len(times) // 2]
    base_median = sorted(base)[len(base) // 2]
    print(f"find bar: {room_frames:,} frames, {len(blocks):,} blocks, {len(corpus):,} chars")
    print(f"  per keystroke: median {median * 1000:.1f} ms, worst {worst * 1000:.1f} ms "
          f"(target < 100 ms); hits {hits[0]:,} → {hits[-1]:,}")  # fmt: skip
    print(f"  plain re scan of the same text (baseline): median {base_median * 1000:.2f} ms"
          f"  ratio {median / base_median:.1f}x")  # fmt: skip
    return {"find_median_s": median, "find_worst_s": worst, "re_scan_s": base_median}


def bare_decode_re(files: list[Path], pattern: re.Pattern[str]) -> tuple[float, int]:
    decode = msgspec.json.decode
    t = time.perf_counter()
    found = 0
    for path in files:
        for line in path.read_bytes().split(b"\n"):
            if not line:
                continue
            record = decode(line)
            try:
                text = record["frame"]["params"]["update"]["content"]["text"]
            except (KeyError, TypeError):
                continue
            if isinstance(text, str) and pattern.search(text):
                found += 1
    return time.perf_counter() - t, found


def grep_all(files: list[Path], pattern: re.Pattern[str]) -> tuple[float, int]:
    t = time.perf_counter()
    found = sum(1 for path in files for _ in grep_log(path, path.stem, pattern))
    return time.perf_counter() - t, found


def grep_speed(total: int, rooms: int) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="amux-bench-grep-"))
    try:
        files = build(home, total, rooms)
        pattern = compile_query(QUERY)
        base, base_hits = min(bare_decode_re(files, pattern) for _ in range(2))
        full, hits = min(grep_all(files, pattern) for _ in range(2))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    speed = base / full
    print(f"grep: {total:,} frames in {rooms} rooms, {hits:,} hits (baseline {base_hits:,})")
    print(
        f"  bare msgspec decode + re loop (baseline): {base:.2f} s ({total / base:,.0f} frames/s)"
    )
    print(f"  amux grep: {full:.2f} s ({total / full:,.0f} frames/s)"
          f"  speed ratio {speed:.2f} of baseline (target >= 0.50)")  # fmt: skip
    return {"grep_s": full, "baseline_s": base, "speed_ratio": speed}


def main(room_frames: int = 50_000, total: int = 1_000_000, rooms: int = 20) -> dict[str, float]:
    return {**find_keystrokes(room_frames), **grep_speed(total, rooms)}


if __name__ == "__main__":
    main(*[int(a) for a in sys.argv[1:4]])
