"""kill -9 soak (SPEC §5.2): how old is the oldest frame amux took in and never wrote?

Run ``python benchmarks/soak_kill.py [--kills 10] [--flood 3000000]``. Each cycle starts
the real ``amux`` TUI in a pseudo-terminal (tiled layout, so the UI renders both rooms),
sends ``/flood N`` to two demo-agent rooms, lets them stream for a random 0.5–3 s, and
SIGKILLs amux. Then it works out, per room, which frames amux *took in* and which of
those reached the log:

* taken in: the demo agent runs with ``AMUX_DEMO_STDOUT_REPORT``; when amux dies its
  next write fails with EPIPE, and it reports how many bytes it wrote, how many amux
  never read (``FIONREAD`` on the pipe) and the last complete line amux did read. Frames
  still in the pipe were never amux's to lose.
* written: the log, loaded as the next amux would (only complete records count).

Lost frames are the flood chunks after the last one in the log up to the last one amux
read. Their age at the kill cannot be observed directly (amux is dead), but it is
bounded from both sides of the pipe: frames are recorded in the order they are read, so
the oldest lost frame was taken in after the log's last record was (``recorded_at``),
and after the last moment the agent's sampler (every 1 ms, ``FIONREAD``) saw it still
unread in the pipe. ``kill time - the later of the two`` is printed: it can only
overstate the age (amux decodes a read of up to 64 KiB after the read itself); when
nothing is lost there is no lost frame and no age.

Target: the largest bound over all kills is <= 50 ms (SPEC §5.2: "a recorded frame
reaches the OS within 50 ms however busy the UI is"). The ratio printed is to that bound.
Also checked: no corrupt record, seqs contiguous.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from terminal import AmuxTerminal  # noqa: E402  (tests/terminal.py)

from amux_tui.engine.config import DEMO_AGENT  # noqa: E402
from amux_tui.engine.engine import Engine  # noqa: E402
from amux_tui.engine.loader import load_log  # noqa: E402
from amux_tui.engine.timeutil import parse_rfc3339  # noqa: E402
from amux_tui.paths import Paths  # noqa: E402

BOUND_MS = 50.0


def make_home(home: Path) -> list[tuple[str, Path]]:
    """Two demo rooms, tiled; returns (room id, log path) of each."""
    engine = Engine(Paths.resolve(home))
    engine.open()
    rooms = [engine.create_room(DEMO_AGENT, cwd=str(home), title=f"flood-{i}") for i in (1, 2)]
    engine.layout.mode = "tiled"
    engine.layout.focused = rooms[0].id
    engine.save_layout()
    out = [(room.id, room.log_path) for room in rooms]
    for room in rooms:
        room.log.close()
    assert engine.lock is not None
    engine.lock.release()
    return out


def chunk_number(frame: Any) -> tuple[str | None, int | None]:  # noqa: D103
    """(session id, N) of a flood chunk ``chunk N `` frame; (sid, None) otherwise."""
    if not isinstance(frame, dict) or frame.get("method") != "session/update":
        return None, None
    params = frame.get("params") or {}
    update = params.get("update") or {}
    text = (update.get("content") or {}).get("text") if isinstance(update, dict) else None
    sid = params.get("sessionId")
    if isinstance(text, str) and text.startswith("chunk "):
        try:
            return sid, int(text.split()[1])
        except (IndexError, ValueError):
            pass
    return sid, None


def log_facts(path: Path) -> dict[str, Any]:
    """What the next amux would find in a log."""
    res = load_log(path, decode_frames=True)
    seqs = [r.seq for r in res.records]
    last_chunk: int | None = None
    sid: str | None = None
    for rec in reversed(res.records):
        s, n = chunk_number(rec.frame)
        if n is not None:
            last_chunk, sid = n, s
            break
    last_at = parse_rfc3339(res.records[-1].recorded_at) if res.records else None
    return {
        "records": len(seqs),
        "bad": res.bad_lines,
        "contiguous": seqs == list(range(1, len(seqs) + 1)),
        "last_chunk": last_chunk,
        "session": sid,
        "last_recorded_ns": last_at,
    }


def wait_for(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


def one_kill(
    workdir: Path, flood: int, low: float, high: float, seed: random.Random
) -> list[dict[str, Any]]:
    home = workdir / "home"
    reports = workdir / "reports"
    reports.mkdir()
    rooms = make_home(home)
    env = {"AMUX_DEMO_STDOUT_REPORT": str(reports)}
    term = AmuxTerminal(home, env=env)
    try:
        term.wait_ready()
        term.type(f"/flood {flood}")
        term.press("enter")
        term.wait_for("demo busy")
        term.press("ctrl+b")
        term.type("n")
        term.wait_for("demo ready")  # room 2 focused and its agent up (lazy start)
        term.type(f"/flood {flood}")
        term.press("enter")
        sizes = [0, 0]

        def both_growing() -> bool:
            grew = True
            for i, (_rid, path) in enumerate(rooms):
                size = path.stat().st_size if path.exists() else 0
                grew = grew and size > sizes[i] + 100_000
            return grew

        wait_for(both_growing, 60, "both rooms flooding")
        time.sleep(seed.uniform(low, high))
        killed_ns = time.time_ns()
        os.kill(term.pid, signal.SIGKILL)
        wait_for(lambda: len(list(reports.glob("stdout-*.json"))) >= 2, 30, "agent reports")
    finally:
        term.close()
    by_session = {}
    for report_file in reports.glob("stdout-*.json"):
        report = json.loads(report_file.read_text())
        by_session[report["sessionId"]] = report
    out = []
    for room_id, path in rooms:
        facts = log_facts(path)
        report = by_session.get(facts["session"])
        row: dict[str, Any] = {"room": room_id, "records": facts["records"], "bad": facts["bad"],
                               "contiguous": facts["contiguous"], "lost": None, "age_bound_ms": 0.0,
                               "staleness_ms": (killed_ns - facts["last_recorded_ns"]) / 1e6}  # fmt: skip
        if report is not None:
            row.update(lost_frames(report, facts, killed_ns))
        out.append(row)
    return out


def lost_frames(report: dict[str, Any], facts: dict[str, Any], killed_ns: int) -> dict[str, Any]:
    """Frames amux read but never wrote, and the bound on the age of the oldest one."""
    logged = facts["last_chunk"] or 0
    consumed = report["consumed"]
    lost = [
        (end, n) for end, n in report["lines"] if n is not None and n > logged and end <= consumed
    ]
    if not lost:
        return {"lost": 0, "age_bound_ms": 0.0}
    first_end = min(end for end, _n in lost)
    # The latest moment the oldest lost frame had certainly not been read yet, and the
    # log's last record (recorded before it): it was taken in after both.
    not_read_yet = [before for before, _after, seen in report["samples"] if seen < first_end]
    taken_after = max([facts["last_recorded_ns"], *not_read_yet])
    return {"lost": len(lost), "age_bound_ms": (killed_ns - taken_after) / 1e6}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--flood", type=int, default=3_000_000, help="chunks per /flood")
    parser.add_argument("--min", type=float, default=0.5, help="shortest run before the kill (s)")
    parser.add_argument("--max", type=float, default=3.0, help="longest run before the kill (s)")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    seed = random.Random(args.seed)
    print(f"kill -9 soak: {args.kills} kills, 2 rooms flooding /flood {args.flood:,}, "
          f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")  # fmt: skip
    print("kill  room            records   lost  oldest lost (ms, bound)  log staleness (ms)")
    worst = 0.0
    problems = 0
    for k in range(1, args.kills + 1):
        with tempfile.TemporaryDirectory(prefix="amux-soak-") as tmp:
            rows = one_kill(Path(tmp), args.flood, args.min, args.max, seed)
        for row in rows:
            if row["bad"] or not row["contiguous"] or row["lost"] is None:
                problems += 1
            worst = max(worst, row["age_bound_ms"] or 0.0)
            lost = "?" if row["lost"] is None else str(row["lost"])
            print(f"{k:4}  {row['room']:14} {row['records']:9,} {lost:>6}  "
                  f"{row['age_bound_ms']:23.1f}  {row['staleness_ms']:18.1f}"
                  f"{'  CORRUPT' if row['bad'] else ''}{'' if row['contiguous'] else '  SEQ GAP'}")  # fmt: skip
    print()
    print(f"largest age of a lost frame: {worst:.1f} ms (bound {BOUND_MS:.0f} ms, "
          f"ratio {worst / BOUND_MS:.2f}); records corrupt or unaccounted: {problems}")  # fmt: skip
    return 1 if problems else 0  # a figure is not a failure; a corrupt record is


if __name__ == "__main__":
    raise SystemExit(main())
