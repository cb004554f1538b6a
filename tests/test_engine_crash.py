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


async def test_sigkill_during_a_compacting_turn(tmp_path):
    home = tmp_path / "h"
    # The gate file never appears: the demo agent holds the compaction open, so the kill
    # below always lands mid-compaction, however slow the machine.
    env = dict(os.environ, AMUX_DEMO_GATE=str(tmp_path / "never"))
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(home), "/compact stranded", "queued while busy"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    seen: list[tuple[int, str]] = []
    written = 0  # every record up to this seq was handed to the OS (the child's W reports)
    room_id = None
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            if line.startswith("ROOM "):
                room_id = line.split()[1]
                continue
            if line.startswith("W "):
                written = max(written, int(line.split()[1]))
            else:
                seq, _ns, method = line.split()
                seen.append((int(seq), method))
            # Kill once the compaction has started and the log writer has handed that
            # frame to the OS (the 50 ms timer, no turn end: the turn is held open).
            started = [seq for seq, method in seen if method == F.COMPACTION_STARTED]
            if room_id and started and written >= started[0]:
                break
        os.killpg(child.pid, signal.SIGKILL)  # amux and its agent, like a crash of the terminal
    finally:
        child.wait(10)
    assert room_id and any(m == F.COMPACTION_STARTED for _, m in seen)

    engine = open_engine(home)
    room = engine.rooms[room_id]
    await engine.load(room)
    records = log_lines(room)
    recorded = {r["seq"] for r in records}
    assert written and set(range(1, written + 1)) <= recorded  # nothing written was lost
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
