"""End-to-end benchmark (issue 13): the real ``amux`` in a pseudo-terminal, as a user runs it.

Each figure starts ``python -m amux_tui`` in a 160x48 xterm-256color pty
(``tests/terminal.py``: exact key bytes in, the screen read back through pyte) with the real
demo agent subprocesses, and times what shows on the screen. Each has a baseline measured in
the same run, started the same way in the same harness (``e2e_bare.py``: a bare Textual app
with one ``Input``; the same with bare ``Log`` panes fed by the same demo agents; a bare
``ListView`` + ``Log`` of a rooms directory; ``json`` reading the metadata files), and the
ratio amux / baseline. Runs of amux and of its baseline alternate; each figure is the median
over the runs of the per-run value. The load average is printed: the machine is shared.

Figures (``--only`` takes these names, comma separated):

``start``       cold start until the prompt is on screen and the tty is in raw mode
``echo``        key echo, idle: median / worst of ``--keys`` keys
``flood1``      key echo while the focused room streams ``/flood 200000``: median / p90 / worst
``flood4``      key echo with 4 tiled rooms flooding at full speed: median / p90 / first key
``rate``        4 tiled rooms at ``/flood N 5000 stamp``: chunk-to-screen latency of every
                chunk (its due time, stamped in its text by the agent, to the first screen read
                that shows a chunk at least as new in its pane), and whether a backlog grows
                (age of the newest chunk shown, first vs last third of the window; chunks
                shown per second)
``throughput``  ``/flood 50000`` until its last chunk is on screen: wall time, and CPU time
                of the amux (or bare app) process alone
``reopen``      a home of 20 rooms / 1,000,000 records (``bench_hydration.build``): first
                paint (raw mode + footer) and room list + focused transcript on screen
``ls``          ``amux ls`` on that home: as built (no summaries), after amux has opened (and hydrated) it
                once, and while amux runs on it (answered over the control socket)

Clocks: ``time.perf_counter`` here and ``time.monotonic`` in the agent's stamps are both
CLOCK_MONOTONIC on Linux (checked at start), so a stamp and a screen read compare directly.
The harness's own CPU (pyte parsing amux's output) is printed for the load sections: it
shares the 2 cores with amux.

Run ``python benchmarks/bench_e2e.py [--quick] [--runs N] [--keys N] [--only a,b]
[--json FILE]``. Not a test: it prints figures, it never passes or fails.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(HERE)]

from bench_hydration import build  # noqa: E402
from terminal import AmuxTerminal, TerminalTimeout, run_cli, terminal_env  # noqa: E402

BARE = HERE / "e2e_bare.py"
PROMPT = "Message the agent"  # amux's prompt placeholder; the bare Input uses it too
FOOTER = "ctrl+q quit"
STAMP = re.compile(r"(\d+)@(\d+\.\d{6})(?!\d)")  # "chunk N@T": the agent's due time T
CHUNK = re.compile(r"chunk \d+")
GAP = 0.05  # seconds between measured keys
START_RUNS = 7  # at least this many cold starts of each (see fig_start)
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Sizes:
    runs: int = 3
    keys: int = 30
    flood_one: int = 200_000
    flood_four: int = 1_000_000  # killed after the keys: only "flooding meanwhile" matters
    rate: int = 5_000
    rate_window: float = 10.0  # seconds sampled, after 1 s of warm-up
    throughput: int = 50_000
    reopen_total: int = 1_000_000
    reopen_rooms: int = 20


QUICK = Sizes(runs=1, keys=8, flood_one=20_000, flood_four=200_000, rate_window=2.0,
              throughput=10_000, reopen_total=20_000, reopen_rooms=4)  # fmt: skip


# --------------------------------------------------------------------------- helpers


def launch(kind: str, home: Path, *args: str) -> AmuxTerminal:
    """amux (``kind="amux"``) or the bare baseline app, in the same pty harness."""
    if kind == "amux":
        return AmuxTerminal(home, *args)
    return AmuxTerminal(home, *args, entry=(str(BARE),))


def new_home(rooms: int) -> Path:
    """A home with ``rooms`` demo rooms, made with the CLI (``amux new --background``)."""
    home = Path(tempfile.mkdtemp(prefix="amux-e2e-"))
    for n in range(rooms):
        run_cli(home, "new", "--background", "--title", f"room-{n + 1}")
    return home


def quit_app(term: AmuxTerminal) -> None:
    """ctrl+q and wait; killed if it does not exit within 20 s (the pty closes either way)."""
    try:
        term.press("ctrl+q")
        term.wait_exit(20)
    except (TerminalTimeout, OSError):
        pass
    term.close()


def prompt_ready(t: AmuxTerminal) -> bool:
    return PROMPT in t.screen_text() and t.raw_mode()


def agents_ready(kind: str, count: int) -> Callable[[AmuxTerminal], bool]:
    """``count`` agents answered the handshake (amux: its room list says ``ready``; amux
    starts the focused room's agent at once, the others with their first prompt)."""
    word = "demo ready" if kind == "amux" else "agent ready"
    return lambda t: prompt_ready(t) and t.screen_text().count(word) >= count


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (not its children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def panes(lines: list[str]) -> dict[tuple[int, int], str]:
    """The text inside each box drawn with round corners (tiled panes, bare Logs), by its
    top-left corner."""
    out = {}
    for y, row in enumerate(lines):
        for x, ch in enumerate(row):
            if ch != "╭":
                continue
            right = row.find("╮", x)
            bottom = next((b for b in range(y + 1, len(lines)) if lines[b][x : x + 1] == "╰"), None)
            if right > x and bottom is not None:
                out[(x, y)] = "\n".join(r[x + 1 : right] for r in lines[y + 1 : bottom])
    return out


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def start_floods(kind: str, term: AmuxTerminal, rooms: int, prompt: str) -> None:
    """Send ``prompt`` to every room: amux room by room (ctrl+b N, type, enter), the bare
    client once (it sends every prompt to all its agents)."""
    if kind == "amux":
        for n in range(1, rooms + 1):
            if rooms > 1:
                term.press("ctrl+b", str(n))
            term.type(prompt + "\r")
    else:
        term.type(prompt + "\r")


def all_panes_show(pattern: re.Pattern[str], rooms: int) -> Callable[[AmuxTerminal], bool]:
    def check(t: AmuxTerminal) -> bool:
        lines = t.lines()
        if rooms == 1:
            return bool(pattern.search("\n".join(lines)))
        shown = [text for text in panes(lines).values() if pattern.search(text)]
        return len(shown) >= rooms

    return check


def measure_keys(term: AmuxTerminal, keys: int, done: re.Pattern[str] | None) -> dict[str, Any]:
    """``keys`` echo latencies (ms); how many were typed while the load (``done`` not yet
    on screen) lasted."""
    ms, during = [], 0
    for _ in range(keys):
        ms.append(term.measure_echo("x", timeout=60) * 1000)
        if done is None or not done.search(term.screen_text()):
            during += 1
        time.sleep(GAP)
    return {
        "median": statistics.median(ms), "p90": pct(ms, 90), "worst": max(ms), "first": ms[0],
        "during": during, "keys": keys,
    }  # fmt: skip


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else float("nan")


class Report:
    """Figures as they come, the table at the end."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []
        self.data: dict[str, Any] = {"loadavg": {"start": os.getloadavg()}}

    def row(self, what: str, amux: str, base: str, ratio: str) -> None:
        self.rows.append((what, amux, base, ratio))
        print(f"  {what}: amux {amux} | baseline {base} | ratio {ratio}", flush=True)

    def table(self) -> str:
        lines = ["| measure | amux | baseline | ratio |", "|---|---|---|---|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in self.rows]
        return "\n".join(lines)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b and b == b and a == a else "-"


def section(name: str, report: Report) -> None:
    load = os.getloadavg()
    report.data.setdefault("sections", {})[name] = {"loadavg": load}
    print(f"\n-- {name} (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})", flush=True)


def interleaved(runs: int, one: Callable[[str], Any]) -> dict[str, list[Any]]:
    """``one(kind)`` for amux and the baseline, alternating which goes first."""
    out: dict[str, list[Any]] = {"amux": [], "bare": []}
    for r in range(runs):
        for kind in ("amux", "bare") if r % 2 == 0 else ("bare", "amux"):
            try:
                out[kind].append(one(kind))
            except (TerminalTimeout, OSError, subprocess.SubprocessError) as exc:
                print(f"  {kind} run {r + 1} failed: {str(exc).splitlines()[0]}", flush=True)
    return out


# --------------------------------------------------------------------------- the figures


def fig_start(sizes: Sizes, report: Report) -> None:
    section("cold start -> prompt on screen (amux: a home with one demo room)", report)

    def one(kind: str) -> float:
        home = new_home(1) if kind == "amux" else Path(tempfile.mkdtemp(prefix="amux-e2e-"))
        try:
            t0 = time.perf_counter()
            with launch(kind, home, *(() if kind == "amux" else ("input",))) as term:
                at = term.wait_for(prompt_ready, 60)
                quit_app(term)
            return (at - t0) * 1000
        finally:
            shutil.rmtree(home, ignore_errors=True)

    one("amux"), one("bare")  # warm-up: page cache, bytecode
    # A start takes a second and spreads by ±25 % on a shared machine: more runs than
    # the other figures, so the median is that of the machine, not of one unlucky run.
    got = interleaved(max(sizes.runs, START_RUNS), one)
    a, b = statistics.median(got["amux"]), statistics.median(got["bare"])
    report.data["start"] = got
    report.row("cold start -> prompt on screen", f"{a:.0f} ms", f"{b:.0f} ms (bare Textual Input)",
               ratio(a, b))  # fmt: skip


def fig_echo(sizes: Sizes, report: Report) -> None:
    section(f"key echo, idle ({sizes.keys} keys)", report)

    def one(kind: str) -> dict[str, Any]:
        home = new_home(1) if kind == "amux" else Path(tempfile.mkdtemp(prefix="amux-e2e-"))
        try:
            term = launch(kind, home, *(() if kind == "amux" else ("input",)))
            with term:
                term.wait_for(agents_ready(kind, 1) if kind == "amux" else prompt_ready, 60)
                stats = measure_keys(term, sizes.keys, None)
                quit_app(term)
            return stats
        finally:
            shutil.rmtree(home, ignore_errors=True)

    got = interleaved(sizes.runs, one)
    report.data["echo"] = got
    a, b = (median_of(got[k], "median") for k in ("amux", "bare"))
    aw, bw = (median_of(got[k], "worst") for k in ("amux", "bare"))
    report.row(f"key echo idle, median / worst of {sizes.keys}", f"{a:.1f} / {aw:.1f} ms",
               f"{b:.1f} / {bw:.1f} ms (bare Input)", f"{ratio(a, b)} / {ratio(aw, bw)}")  # fmt: skip


def _flood_echo(kind: str, sizes: Sizes, rooms: int, flood: int) -> dict[str, Any]:
    home = new_home(rooms) if kind == "amux" else Path(tempfile.mkdtemp(prefix="amux-e2e-"))
    try:
        term = launch(kind, home, *(() if kind == "amux" else ("client", str(rooms))))
        with term:
            term.wait_for(agents_ready(kind, 1 if kind == "amux" else rooms), 60)
            if kind == "amux" and rooms > 1:
                term.press("ctrl+b", "z")
                term.wait_for("ctrl+b z single", 30)
            start_floods(kind, term, rooms, f"/flood {flood}")
            term.wait_for(all_panes_show(CHUNK, rooms), 120, what="every room flooding")
            cpu0, t0 = os.times(), time.perf_counter()
            stats = measure_keys(term, sizes.keys, re.compile(rf"(?<!flood )\b{flood}\b"))
            cpu1, t1 = os.times(), time.perf_counter()
            stats["harness_cpu"] = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / (t1 - t0)
        return stats
    finally:
        shutil.rmtree(home, ignore_errors=True)


def fig_flood1(sizes: Sizes, report: Report) -> None:
    section(f"key echo while one room streams /flood {sizes.flood_one}", report)
    got = interleaved(sizes.runs, lambda kind: _flood_echo(kind, sizes, 1, sizes.flood_one))
    report.data["flood1"] = got
    m, p, w = ([median_of(got[k], s) for k in ("amux", "bare")] for s in ("median", "p90", "worst"))
    during = [f"{r['during']}/{r['keys']}" for r in got["amux"]]
    cpu = median_of(got["amux"], "harness_cpu")
    report.row(
        f"key echo, one room streaming /flood {sizes.flood_one}: median / p90 / worst",
        f"{m[0]:.0f} / {p[0]:.0f} / {w[0]:.0f} ms (keys during the flood {', '.join(during)}; "
        f"harness CPU {cpu:.0%})",
        f"{m[1]:.0f} / {p[1]:.0f} / {w[1]:.0f} ms (bare Log + Input)",
        f"{ratio(m[0], m[1])} / {ratio(p[0], p[1])} / {ratio(w[0], w[1])}",
    )


def fig_flood4(sizes: Sizes, report: Report) -> None:
    section(f"key echo with 4 tiled rooms flooding (/flood {sizes.flood_four} each)", report)
    got = interleaved(sizes.runs, lambda kind: _flood_echo(kind, sizes, 4, sizes.flood_four))
    report.data["flood4"] = got
    m, p, f = ([median_of(got[k], s) for k in ("amux", "bare")] for s in ("median", "p90", "first"))
    cpu = median_of(got["amux"], "harness_cpu")
    report.row(
        "key echo, 4 tiled rooms flooding at full speed: median / p90 / first key",
        f"{m[0]:.0f} / {p[0]:.0f} / {f[0]:.0f} ms (harness CPU {cpu:.0%})",
        f"{m[1]:.0f} / {p[1]:.0f} / {f[1]:.0f} ms (4 bare Logs + Input)",
        f"{ratio(m[0], m[1])} / {ratio(p[0], p[1])} / {ratio(f[0], f[1])}",
    )


class RateSampler:
    """On every screen read: each pane's newest stamped chunk; the latency of every chunk
    that became visible with it (its due time to this read)."""

    def __init__(self, rate: int, until: float) -> None:
        self.rate = rate
        self.until = until
        self.latest: dict[tuple[int, int], tuple[int, float]] = {}
        self.latencies: list[float] = []
        self.ages: dict[tuple[int, int], list[tuple[float, float, int]]] = {}  # (at, age, n)

    def __call__(self, t: AmuxTerminal) -> bool:
        at = t.last_read_at
        for corner, text in panes(t.lines()).items():
            stamps = STAMP.findall(text)
            if not stamps:
                continue
            n, due = max((int(a), float(b)) for a, b in stamps)
            prev = self.latest.get(corner)
            self.ages.setdefault(corner, []).append((at, at - due, n))
            if prev is None or n > prev[0]:
                first = n if prev is None else prev[0] + 1
                # chunk k was due (n - k) / rate before chunk n
                self.latencies += [at - due + (n - k) / self.rate for k in range(first, n + 1)]
                self.latest[corner] = (n, due)
        return at >= self.until

    def backlog(self) -> dict[str, Any]:
        """Median age of the newest chunk shown, first and last third of the window, and
        the chunks shown per second, per pane."""
        out = []
        for series in self.ages.values():
            if len(series) < 6:
                continue
            third = len(series) // 3
            first = statistics.median(a for _, a, _ in series[:third])
            last = statistics.median(a for _, a, _ in series[-third:])
            shown = (series[-1][2] - series[0][2]) / max(1e-9, series[-1][0] - series[0][0])
            out.append({"first_ms": first * 1000, "last_ms": last * 1000, "shown_per_s": shown})
        return {"panes": out}


def _rate_run(kind: str, sizes: Sizes) -> dict[str, Any]:
    home = new_home(4) if kind == "amux" else Path(tempfile.mkdtemp(prefix="amux-e2e-"))
    count = int(sizes.rate * (sizes.rate_window + 30))
    try:
        term = launch(kind, home, *(() if kind == "amux" else ("client", "4")))
        with term:
            term.wait_for(agents_ready(kind, 1 if kind == "amux" else 4), 60)
            if kind == "amux":
                term.press("ctrl+b", "z")
                term.wait_for("ctrl+b z single", 30)
            start_floods(kind, term, 4, f"/flood {count} {sizes.rate} stamp")
            term.wait_for(all_panes_show(STAMP, 4), 120, what="every room streaming")
            time.sleep(1.0)  # warm-up
            start = time.perf_counter()
            sampler = RateSampler(sizes.rate, start + sizes.rate_window)
            cpu0 = os.times()
            term.wait_for(sampler, sizes.rate_window + 60, poll=0.1)
            cpu1 = os.times()
        lat = [x * 1000 for x in sampler.latencies]
        backlog = sampler.backlog()
        return {
            "median": statistics.median(lat) if lat else float("nan"),
            "p90": pct(lat, 90) if lat else float("nan"),
            "chunks": len(lat),
            **backlog,
            "harness_cpu": (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / sizes.rate_window,
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _backlog_words(run: dict[str, Any], rate: int) -> str:
    panes_ = run["panes"]
    if not panes_:
        return "no data"
    first = statistics.median(p["first_ms"] for p in panes_)
    last = statistics.median(p["last_ms"] for p in panes_)
    shown = statistics.median(p["shown_per_s"] for p in panes_)
    grows = last > 2 * first and last - first > 50 or shown < 0.9 * rate
    return (f"{'GROWS' if grows else 'none'} (newest shown {first:.0f} -> {last:.0f} ms old, "
            f"{shown:,.0f} chunks/s shown per pane)")  # fmt: skip


def fig_rate(sizes: Sizes, report: Report) -> None:
    section(f"4 tiled rooms x {sizes.rate} chunks/s, {sizes.rate_window:g} s sampled", report)
    got = interleaved(sizes.runs, lambda kind: _rate_run(kind, sizes))
    report.data["rate"] = got
    m, p = ([median_of(got[k], s) for k in ("amux", "bare")] for s in ("median", "p90"))
    words = ["; ".join(_backlog_words(r, sizes.rate) for r in got[k]) for k in ("amux", "bare")]
    cpu = median_of(got["amux"], "harness_cpu")
    report.row(
        f"4 x {sizes.rate:,} chunks/s: chunk-to-screen median / p90; backlog",
        f"{m[0]:.0f} / {p[0]:.0f} ms; backlog {words[0]} (harness CPU {cpu:.0%})",
        f"{m[1]:.0f} / {p[1]:.0f} ms; backlog {words[1]} (4 bare Logs)",
        f"{ratio(m[0], m[1])} / {ratio(p[0], p[1])}",
    )


def fig_throughput(sizes: Sizes, report: Report) -> None:
    n = sizes.throughput
    section(f"/flood {n} until its last chunk is on screen", report)
    done = re.compile(rf"(?<!flood )\b{n}\b")

    def one(kind: str) -> dict[str, float]:
        home = new_home(1) if kind == "amux" else Path(tempfile.mkdtemp(prefix="amux-e2e-"))
        try:
            term = launch(kind, home, *(() if kind == "amux" else ("client", "1")))
            with term:
                term.wait_for(agents_ready(kind, 1), 60)
                term.type(f"/flood {n}")
                term.wait_for(f"/flood {n}", 30)
                cpu0, t0 = cpu_seconds(term.pid), time.perf_counter()
                term.press("enter")
                at = term.wait_for(done, 300)
                cpu1 = cpu_seconds(term.pid)
            return {"wall": at - t0, "cpu": cpu1 - cpu0}
        finally:
            shutil.rmtree(home, ignore_errors=True)

    got = interleaved(sizes.runs, one)
    report.data["throughput"] = got
    w, c = ([median_of(got[k], s) for k in ("amux", "bare")] for s in ("wall", "cpu"))
    report.row(f"/flood {n} fully on screen: wall / CPU of the app process",
               f"{w[0]:.2f} s / {c[0]:.2f} s", f"{w[1]:.2f} s / {c[1]:.2f} s (bare Log)",
               f"{ratio(w[0], w[1])} / {ratio(c[0], c[1])}")  # fmt: skip


def _timed_cli(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, timeout=300,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    elapsed = (time.perf_counter() - t0) * 1000
    if done.returncode != 0:
        raise subprocess.SubprocessError(done.stderr.decode(errors="replace")[-300:])
    return elapsed


BARE_LS = (
    "import json, pathlib, sys\n"
    "for p in sorted(pathlib.Path(sys.argv[1]).glob('*.json')):\n"
    "    if p.stem != 'layout':\n"
    "        m = json.loads(p.read_bytes())\n"
    "        print(p.stem, m.get('title'), m.get('status'), m.get('last_active'))\n"
)


def fig_reopen_and_ls(sizes: Sizes, report: Report, figures: set[str]) -> None:
    total, rooms = sizes.reopen_total, sizes.reopen_rooms
    home = Path(tempfile.mkdtemp(prefix="amux-e2e-big-"))
    try:
        section(f"building a home of {rooms} rooms / {total:,} records", report)
        build(home, total, rooms)
        env = terminal_env(home)
        ls = [sys.executable, "-m", "amux_tui", "ls"]
        bare_ls = [sys.executable, "-c", BARE_LS, str(home / "rooms")]
        if "ls" in figures:
            section("amux ls on the home as built (no summaries yet): once", report)
            a = _timed_cli(ls, env, home)
            b = _timed_cli(bare_ls, env, home)
            report.data["ls_built"] = {"amux": a, "bare": b}
            report.row(f"`amux ls`, {rooms} rooms / {total:,} records, as built (no summaries)",
                       f"{a:.0f} ms", f"{b:.0f} ms (python + json of the metadata)",
                       ratio(a, b))  # fmt: skip
        if "reopen" in figures:
            _reopen(sizes, report, home)
        if "ls" in figures:
            _ls_after(sizes, report, home, env, ls, bare_ls)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _reopen(sizes: Sizes, report: Report, home: Path) -> None:
    section(f"reopen {sizes.reopen_rooms} rooms / {sizes.reopen_total:,} records", report)

    def full(t: AmuxTerminal) -> bool:
        text = t.screen_text()
        return "room 0" in text and "room 1" in text and "some more text" in text

    def one(kind: str) -> dict[str, float]:
        t0 = time.perf_counter()
        term = launch(kind, home, *(() if kind == "amux" else ("home", str(home))))
        with term:
            paint = (
                term.wait_for(lambda t: FOOTER in t.screen_text() and t.raw_mode(), 120)
                if kind == "amux"
                else None
            )
            shown = term.wait_for(full, 120, what="room list and focused transcript")
            quit_app(term)
        first = (paint if paint is not None else shown) - t0
        return {"first": first * 1000, "full": (shown - t0) * 1000}

    one("amux"), one("bare")  # warm-up: the page cache holds the logs for both
    got = interleaved(sizes.runs, one)
    report.data["reopen"] = got
    fa, ua = median_of(got["amux"], "first"), median_of(got["amux"], "full")
    b = median_of(got["bare"], "full")
    report.row(
        f"reopen {sizes.reopen_rooms} rooms / {sizes.reopen_total:,} records: "
        "first paint / room list + focused transcript",
        f"{fa:.0f} / {ua:.0f} ms",
        f"{b:.0f} ms (bare ListView + Log, first room decoded with msgspec)",
        f"{ratio(fa, b)} / {ratio(ua, b)}",
    )


def _summaries_saved(home: Path) -> bool:
    """Whether every room's metadata holds a log summary (written once it is hydrated)."""
    metas = [p for p in (home / "rooms").glob("*.json") if p.name != "layout.json"]
    try:
        return all(json.loads(p.read_bytes()).get("summary") for p in metas)
    except (OSError, ValueError):
        return False  # caught mid-replace: look again


def _ls_after(
    sizes: Sizes, report: Report, home: Path, env: dict[str, str], ls: list[str], bare: list[str]
) -> None:
    section("amux ls after amux has opened the home (hydrated it, and quit)", report)
    term = launch("amux", home)
    with term:
        term.wait_for(lambda t: FOOTER in t.screen_text() and t.raw_mode(), 120)
        # Every room hydrated in the background has saved its log summary: then quit.
        term.wait_for(lambda t: _summaries_saved(home), 120, what="every room's summary")
        quit_app(term)
    got = interleaved(max(3, sizes.runs), lambda kind: _timed_cli(ls if kind == "amux" else bare,
                                                                  env, home))  # fmt: skip
    report.data["ls"] = got
    a, b = statistics.median(got["amux"]), statistics.median(got["bare"])
    report.row(f"`amux ls`, {sizes.reopen_rooms} rooms / {sizes.reopen_total:,} records",
               f"{a:.0f} ms", f"{b:.0f} ms (python + json of the metadata)", ratio(a, b))  # fmt: skip

    section("amux ls while amux runs on that home (control socket)", report)
    term = launch("amux", home)
    with term:
        term.wait_for(lambda t: FOOTER in t.screen_text() and t.raw_mode(), 120)
        got = interleaved(max(3, sizes.runs),
                          lambda kind: _timed_cli(ls if kind == "amux" else bare, env, home))  # fmt: skip
        quit_app(term)
    report.data["ls_live"] = got
    a, b = statistics.median(got["amux"]), statistics.median(got["bare"])
    first = got["amux"][0] if got["amux"] else float("nan")
    report.row("`amux ls` while amux runs on it (first call right after its first paint)",
               f"{a:.0f} ms (first {first:.0f} ms)", f"{b:.0f} ms (python + json)",
               ratio(a, b))  # fmt: skip


# --------------------------------------------------------------------------- main

FIGURES = ("start", "echo", "flood1", "flood4", "rate", "throughput", "reopen", "ls")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run")
    parser.add_argument("--runs", type=int, help="runs of each (default 3)")
    parser.add_argument("--keys", type=int, help="keys per echo measure (default 30)")
    parser.add_argument("--only", help=f"comma-separated figures: {', '.join(FIGURES)}")
    parser.add_argument("--json", metavar="FILE", help="also write every run's figures here")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    if args.runs:
        sizes.runs = args.runs
    if args.keys:
        sizes.keys = args.keys
    figures = set(args.only.split(",")) if args.only else set(FIGURES)
    if unknown := figures - set(FIGURES):
        parser.error(f"unknown figures: {', '.join(sorted(unknown))}")
    clocks = {time.get_clock_info(c).implementation for c in ("perf_counter", "monotonic")}
    if len(clocks) != 1:
        print(f"warning: perf_counter and monotonic differ ({clocks}): 'rate' is meaningless")
    report = Report()
    # amux as installed: pip writes its bytecode at install time, Textual's is on disk. An
    # editable checkout run with PYTHONDONTWRITEBYTECODE would compile every module at each
    # start (~60 ms on this machine) and the baseline would not: write it once here.
    compileall.compile_dir(ROOT / "amux_tui", quiet=1)
    print(f"amux end to end, 160x48 pty, {sizes.runs} run(s) each; {os.cpu_count()} CPUs; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)  # fmt: skip
    steps: list[tuple[str, Callable[[Sizes, Report], None]]] = [
        ("start", fig_start), ("echo", fig_echo), ("flood1", fig_flood1),
        ("flood4", fig_flood4), ("rate", fig_rate), ("throughput", fig_throughput),
    ]  # fmt: skip
    for name, step in steps:
        if name in figures:
            step(sizes, report)
    if figures & {"reopen", "ls"}:
        fig_reopen_and_ls(sizes, report, figures)
    report.data["loadavg"]["end"] = os.getloadavg()
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\n" + report.table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.data, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
