"""Run every benchmark of SPEC §7 and print its figures (each with its same-run baseline).

``python benchmarks/run_all.py`` runs the full sizes (a few minutes on 2 cores);
``--quick`` runs small sizes to check that everything works. Benchmarks are not tests:
they print figures and ratios, they never pass or fail.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FULL = [
    ("rehydration: 20 rooms, 1M frames (speed vs bare msgspec decode)", "bench_hydration.py", []),
    ("startup: room list + focused room on screen", "bench_startup.py", []),
    ("streaming: 4 rooms x 5,000 chunks/s", "bench_streaming.py", []),
    ("switching rooms of 50,000 frames", "bench_switch.py", []),
    ("memory per recorded frame held for display", "bench_memory.py", []),
    ("log append / load", "bench_store.py", []),
    ("find bar on 50,000 frames; amux grep over 1M frames", "bench_find.py", []),
    ("control socket: malformed requests vs key echo", "bench_control.py", []),
    ("kill -9 while 2 rooms flood: age of the oldest lost frame", "soak_kill.py", []),
    ("end to end: the real amux in a pty vs bare Textual (issue 13)", "bench_e2e.py", []),
]
QUICK = {
    "bench_hydration.py": ["20000", "4"],
    "bench_startup.py": ["20000", "4"],
    "bench_streaming.py": ["1", "1000"],
    "bench_switch.py": ["2000"],
    "bench_memory.py": ["2000"],
    "bench_store.py": ["20000"],
    "bench_find.py": ["2000", "20000", "4"],
    "bench_control.py": ["1000", "5"],
    "soak_kill.py": ["--kills", "2"],
    "bench_e2e.py": ["--quick"],
}


def main() -> int:
    quick = "--quick" in sys.argv
    failed = 0
    for title, script, args in FULL:
        print(f"\n== {title} ({script})", flush=True)
        cmd = [sys.executable, str(HERE / script), *(QUICK[script] if quick else args)]
        failed += subprocess.run(cmd, check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
