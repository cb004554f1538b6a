"""Rehydration benchmark (SPEC §7): 20 rooms holding 1,000,000 recorded frames in total.

Prints, each with its ratio to a baseline measured in the same run:

* full hydration of every room (load + the RoomState fold + the transcript fold) vs a bare
  ``msgspec.json.decode`` loop over every line of the same files (target: ≥ 50% of the
  baseline's speed, i.e. ratio ≤ 2.0 in time);
* time until the room list and the focused room are ready in the engine (``Engine.open`` +
  hydration of the focused room), the engine's share of the "< 1 s on screen" target.

Run ``python benchmarks/bench_hydration.py [TOTAL_FRAMES] [ROOMS]``.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

import msgspec

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from amux_tui.engine import frames as F  # noqa: E402
from amux_tui.engine.engine import Engine  # noqa: E402
from amux_tui.engine.hydrate import hydrate  # noqa: E402
from amux_tui.engine.meta import Layout, RoomMeta  # noqa: E402
from amux_tui.engine.store import write_json_atomic  # noqa: E402
from amux_tui.paths import Paths  # noqa: E402

_enc = msgspec.json.Encoder()


def conversation(room_id: str, n: int) -> list[bytes]:
    """n record lines of a realistic conversation: turns of ~48 streamed chunks."""
    lines = []
    seq = 0
    turn = 0

    def rec(frame: dict, seg: int = 1) -> None:
        nonlocal seq
        seq += 1
        lines.append(_enc.encode({"v": 1, "seq": seq, "segment_id": seg,
                                  "recorded_at": "2026-05-27T17:42:01.234567890Z", "frame": frame}))  # fmt: skip

    rec(
        F.amux_frame(
            F.SEGMENT_STARTED, room_id, segmentId="seg-1", acpSessionId="s-1", openedAt="x"
        )
    )
    while seq < n:
        turn += 1
        tid = f"at-{turn}"
        rec(F.amux_frame(F.TURN_STARTED, room_id, amuxTurnId=tid, peerId="local",
                         content=[{"type": "text", "text": f"please do step {turn}"}]))  # fmt: skip
        for i in range(46):
            rec({"jsonrpc": "2.0", "method": "session/update", "params": {"sessionId": "s-1", "update": {
                "sessionUpdate": "agent_message_chunk", "messageId": f"m-{turn}",
                "content": {"type": "text", "text": f"word{i} and some more text "}}}})  # fmt: skip
        rec(F.turn_complete(room_id, tid, "end_turn"))
    return lines[:n]


def build(home: Path, total: int, rooms: int) -> list[Path]:
    rooms_dir = home / "rooms"
    rooms_dir.mkdir(parents=True)
    files = []
    for r in range(rooms):
        rid = f"bench-{r:02d}"
        path = rooms_dir / f"{rid}.jsonl"
        path.write_bytes(b"\n".join(conversation(rid, total // rooms)) + b"\n")
        write_json_atomic(rooms_dir / f"{rid}.json", RoomMeta(rid, f"room {r}").to_json())
        files.append(path)
    write_json_atomic(
        rooms_dir / "layout.json",
        Layout([f"bench-{r:02d}" for r in range(rooms)], "bench-00").to_json(),
    )
    return files


def bare_decode(files: list[Path]) -> float:
    decode = msgspec.json.decode
    t = time.perf_counter()
    for path in files:
        for line in path.read_bytes().split(b"\n"):
            if line:
                decode(line)
    return time.perf_counter() - t


def full_hydration(files: list[Path]) -> float:
    t = time.perf_counter()
    for path in files:
        hydrate(path, path.stem)
    return time.perf_counter() - t


def first_screen(home: Path) -> float:
    async def run() -> float:
        t = time.perf_counter()
        engine = Engine(Paths.resolve(home))
        engine.open()
        room = engine.rooms[engine.layout.focused]
        await engine.load(room)
        elapsed = time.perf_counter() - t
        engine.lock.release()
        return elapsed

    return asyncio.run(run())


def main(total: int = 1_000_000, rooms: int = 20) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="amux-bench-"))
    try:
        files = build(home, total, rooms)
        base = min(bare_decode(files) for _ in range(2))
        full = min(full_hydration(files) for _ in range(2))
        first = first_screen(home)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    speed = base / full
    print(f"frames: {total} in {rooms} rooms")
    print(f"bare msgspec decode loop (baseline): {base:.2f} s ({total / base:,.0f} frames/s)")
    print(f"full hydration (log + state + transcript): {full:.2f} s ({total / full:,.0f} frames/s)"
          f"  speed ratio {speed:.2f} of baseline (target >= 0.50)")  # fmt: skip
    print(f"engine ready with room list + focused room: {first * 1000:.0f} ms"
          f"  ({first / (base / rooms):.2f}x one room's bare decode; target < 1000 ms on screen)")  # fmt: skip
    return {"baseline_s": base, "hydration_s": full, "speed_ratio": speed, "first_room_s": first}


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
