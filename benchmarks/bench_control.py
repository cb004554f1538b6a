"""Control socket benchmark: malformed requests must not disturb the running amux.

The real ``amux`` runs in a pseudo-terminal (``tests/terminal.py``) with its demo room.
Measured, each as a median over SAMPLES:

* key echo (a typed key until it is on the screen) with the socket idle: the baseline;
* key echo while another client floods the socket with malformed requests nonstop;
* right after a burst of REQUESTS malformed requests in a row (each answered with an
  error): a request answered (a fresh connection's ``ping``) and a key echoed — the
  target is under 100 ms for both. Baseline for the ping: the same with no burst before.

Also printed: how fast the malformed requests are answered (requests per second). Run
``python benchmarks/bench_control.py [REQUESTS] [SAMPLES]`` (default 1000 20). Not a test.
"""

from __future__ import annotations

import json
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if __package__ in (None, ""):
    sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from terminal import AmuxTerminal  # noqa: E402

from amux_tui.engine.control_socket import connect  # noqa: E402

JUNK = [b"{nope\n", b'{"cmd":"frobnicate"}\n', b'{"cmd":"send","room":1}\n', b"[]\n"]


def _open(path: Path) -> tuple[socket.socket, object]:
    sock = connect(path, timeout=30)
    reader = sock.makefile("rb")
    assert json.loads(reader.readline())["event"] == "hello"
    return sock, reader


def ping_time(path: Path) -> float:
    """Seconds from connecting to the answer of a ``ping``."""
    t0 = time.perf_counter()
    sock, reader = _open(path)
    with sock:
        sock.sendall(b'{"cmd":"ping"}\n')
        assert json.loads(reader.readline())["ok"]  # type: ignore[attr-defined]
    return time.perf_counter() - t0


def burst(path: Path, n: int) -> float:
    """Send ``n`` malformed requests in a row and read every error; returns the seconds."""
    sock, reader = _open(path)
    with sock:
        t0 = time.perf_counter()
        sock.sendall(b"".join(JUNK[i % len(JUNK)] for i in range(n)))
        for _ in range(n):
            assert json.loads(reader.readline())["ok"] is False  # type: ignore[attr-defined]
        return time.perf_counter() - t0


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.1f} ms (min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f})"


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    samples = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    with AmuxTerminal(cols=160, rows=48) as term:
        term.wait_ready()
        term.wait_for("ready")
        path = term.home / "rooms" / "control.sock"

        echo_idle = [term.measure_echo("x") for _ in range(samples)]
        ping_idle = [ping_time(path) for _ in range(samples)]

        stop = threading.Event()
        flooded = [0]

        def flood() -> None:
            while not stop.is_set():
                burst(path, 200)
                flooded[0] += 200

        thread = threading.Thread(target=flood, daemon=True)
        t0 = time.perf_counter()
        thread.start()
        echo_flood = [term.measure_echo("y") for _ in range(samples)]
        stop.set()
        thread.join()
        rate = flooded[0] / (time.perf_counter() - t0)

        burst_times, ping_after, echo_after = [], [], []
        for _ in range(samples):
            burst_times.append(burst(path, requests))
            ping_after.append(ping_time(path))
            echo_after.append(term.measure_echo("z"))
        term.press("ctrl+q")
        term.wait_exit()

    base_echo, base_ping = statistics.median(echo_idle), statistics.median(ping_idle)
    print(f"key echo, socket idle (baseline):           {ms(echo_idle)}")
    print(f"key echo during a malformed-request flood:  {ms(echo_flood)}"
          f"  ratio {statistics.median(echo_flood) / base_echo:.2f}")  # fmt: skip
    print(f"malformed requests answered:                {rate:,.0f} requests/s")
    print(f"{requests} malformed requests in a row:        {ms(burst_times)}")
    print(f"ping answered right after them:             {ms(ping_after)}"
          f"  ratio {statistics.median(ping_after) / base_ping:.2f} to an idle ping {base_ping * 1000:.1f} ms")  # fmt: skip
    print(f"key echo right after them:                  {ms(echo_after)}"
          f"  ratio {statistics.median(echo_after) / base_echo:.2f}  (target < 100 ms)")  # fmt: skip


if __name__ == "__main__":
    main()
