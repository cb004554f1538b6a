"""kill -9 of amux mid-turn, then a restart (SPEC §5.2, §5.3, issue: quit/reopen/resume)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine_helpers import log_lines, open_engine, wait_for

from amux_tui.engine import frames as F

CHILD = Path(__file__).parent / "helpers" / "engine_child.py"
# The durability rule is 50 ms; the extra margin absorbs scheduling noise on a loaded
# 2-core machine between the child printing a frame and the kill being delivered.
MARGIN_NS = 250_000_000


async def test_sigkill_during_a_compacting_turn(tmp_path):
    home = tmp_path / "h"
    env = dict(os.environ, AMUX_DEMO_CHUNK_DELAY="0.02")
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(home), "/compact stranded", "queued while busy"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    seen: list[tuple[int, int, str]] = []
    room_id = None
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            if line.startswith("ROOM "):
                room_id = line.split()[1]
                continue
            seq, ns, method = line.split()
            seen.append((int(seq), int(ns), method))
            # Kill once the compaction has started and a few more chunks streamed after it.
            started = [i for i, s in enumerate(seen) if s[2] == F.COMPACTION_STARTED]
            if started and len(seen) > started[0] + 5:
                break
        killed_at = time.monotonic_ns()
        os.killpg(child.pid, signal.SIGKILL)  # amux and its agent, like a crash of the terminal
    finally:
        child.wait(10)
    assert room_id and any(m == F.COMPACTION_STARTED for _, _, m in seen)

    engine = open_engine(home)
    room = engine.rooms[room_id]
    await engine.load(room)
    records = log_lines(room)
    recorded = {r["seq"] for r in records}
    old_enough = [s for s, ns, _ in seen if ns < killed_at - MARGIN_NS]
    assert old_enough and set(old_enough) <= recorded
    assert room.load_result.bad_lines == 0
    # The turn shows as interrupted; the badge is not back; the queued prompt is held.
    assert records[-1]["frame"]["method"] == F.TURN_INTERRUPTED
    assert records[-1]["frame"]["params"]["reason"] == F.INTERRUPTED_APP_EXIT
    assert room.compacting is False and room.state.active_turn_id is None
    assert [(q.text, q.held) for q in room.queue] == [("queued while busy", True)]
    assert any(b.kind == "turn_end" and b.outcome == "interrupted" for b in room.transcript.blocks)
    snap = json.loads(
        subprocess.run(
            [sys.executable, "-m", "amux_tui", "--home", str(home), "show", room_id, "--json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert snap["compaction"]["active"] is False and snap["activeTurnId"] is None
    # It runs only when released.
    await room.start()
    assert room.status == "ready" and not room.busy
    room.release_queue()
    await wait_for(lambda: room.busy, what="released prompt to start")
    await wait_for(lambda: not room.busy, what="released prompt to finish")
    await engine.shutdown()
