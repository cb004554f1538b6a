"""Startup benchmark (SPEC §7): 20 rooms holding 1,000,000 recorded frames in total.

Measures, in the real ``AmuxApp`` (headless ``run_test``), the time from constructing the
engine until the room list shows every room and the focused room's transcript is on screen.
Baseline, in the same run: a bare Textual app (a ``ListView`` of 20 titles and a ``Log`` with
the focused room's last lines, decoded with msgspec) reaching the same point.

Run ``python benchmarks/bench_startup.py [TOTAL_FRAMES] [ROOMS]``.
"""

from __future__ import annotations

import asyncio
import os
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
from textual.app import App, ComposeResult  # noqa: E402
from textual.widgets import ListItem, ListView, Log, Static  # noqa: E402

from amux_tui.engine.engine import Engine  # noqa: E402
from amux_tui.paths import Paths  # noqa: E402

SIZE = (160, 48)


async def amux_first_screen(home: Path) -> float:
    from amux_tui.ui.app import AmuxApp

    t0 = time.perf_counter()
    engine = Engine(Paths.resolve(home))
    engine.open()
    app = AmuxApp(engine, motion=False)
    async with app.run_test(size=SIZE) as pilot:
        while True:
            room = app.current_room
            pane = app.current_pane
            items = len(app.room_list.items())
            view = pane.transcript_view if pane is not None else None
            if (
                items == len(engine.rooms)
                and room is not None
                and room.loaded
                and view is not None
                and getattr(view, "transcript", None) is room.transcript
                and view.render_line(0).text.strip()
            ):
                elapsed = time.perf_counter() - t0
                break
            await pilot.pause(0.005)
    if engine.lock is not None:
        engine.lock.release()
    return elapsed


class _Bare(App[None]):
    def __init__(self, titles: list[str], lines: list[str]) -> None:
        super().__init__()
        self.titles, self.lines = titles, lines

    def compose(self) -> ComposeResult:
        yield ListView(*(ListItem(Static(t)) for t in self.titles))
        yield Log()

    def on_mount(self) -> None:
        self.query_one(Log).write_lines(self.lines)


async def bare_first_screen(home: Path) -> float:
    t0 = time.perf_counter()
    rooms = sorted((home / "rooms").glob("*.jsonl"))
    titles = [p.stem for p in rooms]
    texts = []
    for line in rooms[0].read_bytes().split(b"\n"):
        if line:
            frame = msgspec.json.decode(line)["frame"]
            params = frame.get("params", {})
            update = params.get("update") if isinstance(params, dict) else None
            if isinstance(update, dict):
                texts.append(str(update.get("content", {}).get("text", "")))
    app = _Bare(titles, texts[-SIZE[1] :])
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(Log)
        while not log.render_line(0).text.strip():
            await pilot.pause(0.005)
        elapsed = time.perf_counter() - t0
    return elapsed


def main(total: int = 1_000_000, rooms: int = 20) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="amux-bench-start-"))
    os.environ.setdefault("AMUX_DEMO_STATE", str(home / "demo"))
    try:
        build(home, total, rooms)
        base = min(asyncio.run(bare_first_screen(home)) for _ in range(2))
        amux = min(asyncio.run(amux_first_screen(home)) for _ in range(2))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"frames: {total} in {rooms} rooms")
    print(f"bare Textual ListView + Log first screen (baseline): {base * 1000:.0f} ms")
    print(f"amux room list + focused room on screen: {amux * 1000:.0f} ms"
          f"  ({amux / base:.2f}x baseline; target < 1000 ms)")  # fmt: skip
    return {"baseline_s": base, "amux_s": amux}


if __name__ == "__main__":
    main(*[int(a) for a in sys.argv[1:3]])
