"""Replay-store micro-benchmarks (SPEC §7): log loading and log appending.

Run ``python benchmarks/bench_store.py [N]`` (default N = 1,000,000). Prints, for each
measurement, the figure and its ratio to a baseline measured in the same run:

* load: ``load_log`` over a generated log of N realistic records (~200 bytes each)
  vs a bare ``for line in data.split(b"\\n"): msgspec.json.decode(line)`` loop over the
  same file (target: ≥ 0.5 of the baseline's speed);
* append: ``ReplayLog.append`` + flush of N frames vs ``f.write(line)`` of pre-encoded
  lines (target: ≥ 200,000 frames/s).

Not a test: figures vary by machine. ``tests/test_store.py`` runs it with a small N.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from amux_tui.engine.store import LoadResult, Record, ReplayLog, load_log  # noqa: E402
from amux_tui.engine.timeutil import now_rfc3339  # noqa: E402


def make_frame(i: int) -> dict[str, Any]:
    """A realistic recorded frame: mostly streamed chunks, some tool calls and amux frames."""
    k = i % 50
    if k == 0:
        return {
            "jsonrpc": "2.0",
            "method": "amux/turn_started",
            "params": {"roomId": "r-bench", "amuxTurnId": f"at-{i // 50 + 1}", "peerId": "local"},
        }
    if k == 1:
        return {
            "jsonrpc": "2.0",
            "method": "session/update",
            "params": {
                "sessionId": "sess-1",
                "update": {
                    "sessionUpdate": "tool_call_update",
                    "toolCallId": f"t{i}",
                    "status": "completed",
                },
            },
        }
    kind = "agent_thought_chunk" if k < 5 else "agent_message_chunk"
    return {
        "jsonrpc": "2.0",
        "method": "session/update",
        "params": {
            "sessionId": "sess-1",
            "update": {"sessionUpdate": kind, "content": {"type": "text", "text": f"word {i} "}},
        },
    }


def write_log(path: Path, n: int) -> int:
    """Write a log of ``n`` records straight through msgspec; returns its size."""
    enc = msgspec.json.Encoder()
    ts = now_rfc3339()
    buf = bytearray()
    with open(path, "wb") as f:
        for i in range(1, n + 1):
            enc.encode_into(Record(1, i, 1 + i // 10_000, ts, make_frame(i)), buf, -1)
            buf.append(10)
            if len(buf) > 1 << 20:
                f.write(buf)
                buf.clear()
        f.write(buf)
    return path.stat().st_size


def _best(fn: Any, repeat: int) -> float:
    """Best wall time of ``fn()``; freeing its result is not timed (a loader's result
    is kept by its caller, while the baseline frees each line as it goes)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
        del result
    return best


def bench_load(n: int, workdir: Path, repeat: int = 2) -> dict[str, float]:
    """Time ``load_log`` (Raw frames and decoded frames) against a bare decode loop."""
    path = workdir / "bench-load.jsonl"
    size = write_log(path, n)
    decode = msgspec.json.decode

    def baseline() -> None:
        for line in path.read_bytes().split(b"\n"):
            if line:
                decode(line)

    def ours_raw() -> LoadResult:
        return load_log(path)

    def ours_decoded() -> LoadResult:
        return load_log(path, decode_frames=True)

    for check in (ours_raw(), ours_decoded()):
        assert len(check.records) == n and check.bad_lines == 0

    # The check above also warmed the page cache: every contender reads from memory.
    t_base = _best(baseline, repeat)
    t_raw = _best(ours_raw, repeat)
    t_dec = _best(ours_decoded, repeat)
    path.unlink()
    return {
        "records": n,
        "bytes_per_record": size / n,
        "baseline_s": t_base,
        "load_raw_s": t_raw,
        "load_decoded_s": t_dec,
        "ratio_raw": t_base / t_raw,
        "ratio_decoded": t_base / t_dec,
    }


def bench_append(n: int, workdir: Path) -> dict[str, float]:
    """Frames/s of ``ReplayLog.append`` (dict and raw-bytes frames) vs raw ``f.write``."""
    frames = [make_frame(i) for i in range(1, n + 1)]
    raw_frames = [msgspec.json.encode(f) for f in frames]
    ts = now_rfc3339()
    enc = msgspec.json.Encoder()
    lines = [enc.encode(Record(1, i + 1, 1, ts, f)) + b"\n" for i, f in enumerate(frames)]

    path = workdir / "bench-raw.jsonl"
    t0 = time.perf_counter()
    with open(path, "wb") as f:
        write = f.write
        for line in lines:
            write(line)
    t_base = time.perf_counter() - t0
    path.unlink()

    def run(items: list[Any], name: str) -> float:
        p = workdir / name
        log = ReplayLog(p, next_seq=1)
        append = log.append
        t0 = time.perf_counter()
        for item in items:
            append(item, 1)
        log.flush()
        elapsed = time.perf_counter() - t0
        log.close()
        assert log.write_error is None
        res = load_log(p)
        assert len(res.records) == n and res.bad_lines == 0
        p.unlink()
        return elapsed

    t_dict = run(frames, "bench-dict.jsonl")
    t_bytes = run(raw_frames, "bench-bytes.jsonl")
    return {
        "frames": n,
        "baseline_fps": n / t_base,
        "append_dict_fps": n / t_dict,
        "append_bytes_fps": n / t_bytes,
        "ratio_dict": t_base / t_dict,
        "ratio_bytes": t_base / t_bytes,
    }


def report(n: int, workdir: Path | None = None) -> str:
    """Run both benchmarks and return the printed table."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        d = Path(tmp)
        load = bench_load(n, d)
        app = bench_append(n, d)
    out = [
        f"replay store benchmarks, N={n:,} records ({load['bytes_per_record']:.0f} bytes/record), "
        f"python {sys.version.split()[0]}, msgspec {msgspec.__version__}, {os.cpu_count()} cpus",
        "",
        "load (best of 2)                       seconds   records/s   vs baseline",
        f"  baseline: split + msgspec.decode   {load['baseline_s']:8.3f}  {n / load['baseline_s']:10,.0f}   1.00",
        f"  load_log (frames as msgspec.Raw)   {load['load_raw_s']:8.3f}  {n / load['load_raw_s']:10,.0f}   {load['ratio_raw']:.2f}",
        f"  load_log(decode_frames=True)       {load['load_decoded_s']:8.3f}  {n / load['load_decoded_s']:10,.0f}   {load['ratio_decoded']:.2f}",
        "  target: >= 0.50 of baseline speed",
        "",
        "append                                 frames/s     vs baseline",
        f"  baseline: f.write(pre-encoded)     {app['baseline_fps']:10,.0f}   1.00",
        f"  ReplayLog.append(dict) + flush     {app['append_dict_fps']:10,.0f}   {app['ratio_dict']:.2f}",
        f"  ReplayLog.append(bytes) + flush    {app['append_bytes_fps']:10,.0f}   {app['ratio_bytes']:.2f}",
        "  target: >= 200,000 frames/s",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``python benchmarks/bench_store.py [N]``."""
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0].replace("_", "")) if argv else 1_000_000
    print(report(n))


if __name__ == "__main__":
    main()
