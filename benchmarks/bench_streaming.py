"""Streaming benchmark (SPEC §7): 4 rooms × 5,000 chunks/s into the transcript view.

Run ``python benchmarks/bench_streaming.py [SECONDS] [RATE]`` (defaults 5 s, 5,000 chunks/s
per room). One headless app (``App.run_test``, 200×60) shows four views side by side. Per
room a feeder folds agent-message chunks into a real :class:`Transcript` as they "arrive"
(every 5 ms, as many as the rate asks for), and a flusher hands the changed blocks to the
view every 40 ms, as the shell does. Every chunk carries a unique word; the view records
when a painted line first contains the last chunk of a flush, which gives the
chunk-to-screen latency of every chunk in that flush. A key binding is pressed every
250 ms to time how long the app takes to run it while streaming.

The same run repeats with the baselines receiving the same chunks at the same pace:
Textual's ``Log`` (``write`` of the new text each flush: no Markdown, no wrapping) and
Textual's ``Markdown`` fed through ``Markdown.get_stream``. Prints each figure and its
ratio to the ``Log`` baseline. Not a test: figures vary by machine.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import events  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.await_complete import AwaitComplete  # noqa: E402
from textual.binding import Binding  # noqa: E402
from textual.containers import Grid  # noqa: E402
from textual.strip import Strip  # noqa: E402
from textual.widgets import Log, Markdown  # noqa: E402

from amux_tui.engine import frames as F  # noqa: E402
from amux_tui.engine.model import RoomModel  # noqa: E402
from amux_tui.engine.transcript import Transcript  # noqa: E402
from amux_tui.ui.widgets.transcript_view import TranscriptView  # noqa: E402

ROOMS = 4
FLUSH = 0.040  # the shell's coalescing interval
TICK = 0.005  # how often chunks "arrive"
KEY_EVERY = 0.25
SIZE = (200, 60)


def chunk_text(n: int) -> tuple[str, str]:
    """Chunk ``n`` and its marker: token-sized words (fixed width, so no marker is a prefix
    of another) with paragraphs, some inline Markdown and a code block now and then."""
    word = f"w{n:07d}"
    if n % 600 == 599:
        return f"\n\n```python\ndef {word}(x):\n    return x + {n}\n```\n\n", word
    if n % 60 == 59:
        return f"{word}.\n\n", word
    if n % 17 == 0:
        return f"**{word}** ", word
    return f"{word} ", word


def chunk_frame(text: str) -> dict:
    update = {"sessionUpdate": F.AGENT_MESSAGE_CHUNK, "messageId": "m1",
              "content": {"type": "text", "text": text}}  # fmt: skip
    return F.notification(F.SESSION_UPDATE, {"sessionId": "s1", "update": update})


class Probe:
    """Per-room bookkeeping: chunks waiting to be painted and the latencies measured."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[float]]] = []  # (marker, feed times), oldest first
        self.latencies: list[tuple[float, float]] = []  # (fed at, latency)
        self.painted = 0

    def seen(self, text: str) -> None:
        """A line was painted: settle every batch up to the newest marker it contains."""
        batches = self.batches
        for k in range(len(batches) - 1, -1, -1):
            if batches[k][0] in text:
                now = time.perf_counter()
                for _, fed in batches[: k + 1]:
                    self.latencies.extend((t, now - t) for t in fed)
                    self.painted += len(fed)
                del batches[: k + 1]
                return


class ProbedView(TranscriptView):
    def __init__(self, transcript: Transcript) -> None:
        super().__init__(transcript)
        self.probe = Probe()

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        if self.probe.batches:
            self.probe.seen(strip.text)
        return strip


class ProbedLog(Log):
    def __init__(self) -> None:
        super().__init__()
        self.probe = Probe()

    def _render_line_strip(self, y: int, rich_style: Any) -> Strip:
        strip = super()._render_line_strip(y, rich_style)  # the whole line, before cropping
        if self.probe.batches:
            self.probe.seen(strip.text)
        return strip


class ProbedMarkdown(Markdown):
    """Markdown has no single paint hook: probe at the refresh after each append."""

    def __init__(self) -> None:
        super().__init__()
        self.probe = Probe()

    def append(self, markdown: str) -> AwaitComplete:
        appended = super().append(markdown)

        async def then_probe() -> None:
            await appended
            self.call_after_refresh(lambda: self.probe.seen(self.source))

        return AwaitComplete(then_probe())


class BenchApp(App[None]):
    CSS = "Grid { grid-size: 2 2; } Grid > * { height: 1fr; }"
    BINDINGS = [Binding("k", "ping", "ping")]

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.key_sent = 0.0
        self.key_latencies: list[float] = []

    def compose(self) -> ComposeResult:
        with Grid():
            for _ in range(ROOMS):
                if self.kind == "view":
                    yield ProbedView(RoomModel("r").transcript)
                elif self.kind == "log":
                    yield ProbedLog()
                else:
                    yield ProbedMarkdown()

    def action_ping(self) -> None:
        self.key_latencies.append(time.perf_counter() - self.key_sent)


async def run(kind: str, seconds: float, rate: int) -> dict[str, Any]:
    """One streaming run with widgets of ``kind``: "view", "log" or "markdown"."""
    app = BenchApp(kind)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        widgets = list(app.query("Grid > *"))
        probes = [w.probe for w in widgets]  # type: ignore[attr-defined]
        # The view shows a model's transcript; the feeder folds frames through that model.
        models = [RoomModel("r") for _ in widgets]
        for w, m in zip(widgets, models, strict=True):
            if isinstance(w, TranscriptView):
                w.set_transcript(m.transcript)
        transcripts = [m.transcript for m in models]
        streams = [w.get_stream(w) if isinstance(w, Markdown) else None for w in widgets]
        for w, m, t in zip(widgets, models, transcripts, strict=True):
            m.apply(F.amux_frame(F.TURN_STARTED, "r", amuxTurnId="at-1", peerId="local",
                                 content=[{"type": "text", "text": "flood"}]))  # fmt: skip
            if isinstance(w, TranscriptView):
                w.blocks_changed(t.blocks)
        fed = [0] * len(widgets)
        pending: list[list[float]] = [[] for _ in widgets]
        texts: list[list[str]] = [[] for _ in widgets]
        markers = [""] * len(widgets)
        flush_costs: list[float] = []
        start = time.perf_counter()
        stop = start + seconds

        async def feeder() -> None:
            while (now := time.perf_counter()) < stop:
                due = int((now - start) * rate)
                for r, m in enumerate(models):
                    while fed[r] < due:
                        text, markers[r] = chunk_text(fed[r])
                        m.apply(chunk_frame(text))
                        texts[r].append(text)
                        pending[r].append(now)
                        fed[r] += 1
                await asyncio.sleep(TICK)

        async def flusher() -> None:
            while time.perf_counter() < stop + FLUSH:
                await asyncio.sleep(FLUSH)
                t0 = time.perf_counter()
                for r, w in enumerate(widgets):
                    if not pending[r]:
                        continue
                    probes[r].batches.append((markers[r], pending[r]))
                    pending[r] = []
                    new_text = "".join(texts[r])
                    texts[r] = []
                    if isinstance(w, TranscriptView):
                        w.blocks_changed([transcripts[r].blocks[-1]])
                    elif isinstance(w, Log):
                        w.write(new_text)
                    else:
                        await streams[r].write(new_text)  # type: ignore[union-attr]
                flush_costs.append(time.perf_counter() - t0)

        async def keys() -> None:
            # A key event posted to the app goes the way a real key press does (the driver
            # posts it too); the binding's action records when it ran.
            while time.perf_counter() < stop:
                await asyncio.sleep(KEY_EVERY)
                app.key_sent = time.perf_counter()
                app.post_message(events.Key("k", "k"))

        await asyncio.gather(feeder(), flusher(), keys())
        key_latencies = app.key_latencies
        drain_start = time.perf_counter()
        while any(p.batches for p in probes) and time.perf_counter() - drain_start < 5:
            await pilot.pause(0.01)
        drain = time.perf_counter() - drain_start
        for stream in streams:
            if stream is not None:
                await stream.stop()
    return _summary(kind, probes, fed, flush_costs, key_latencies, drain, seconds, start)


def _summary(
    kind: str, probes: list[Probe], fed: list[int], flush_costs: list[float],
    key_latencies: list[float], drain: float, seconds: float, start: float,
) -> dict[str, Any]:  # fmt: skip
    lat = [x for p in probes for _, x in p.latencies]
    early = [x for p in probes for t, x in p.latencies if t - start < 1.0]
    late = [x for p in probes for t, x in p.latencies if t - start > seconds - 1.0]
    return {
        "kind": kind,
        "fed": sum(fed),
        "painted": sum(p.painted for p in probes),
        "rate": sum(fed) / seconds / len(fed),
        "median": statistics.median(lat) if lat else float("nan"),
        "p95": statistics.quantiles(lat, n=20)[-1] if len(lat) > 20 else float("nan"),
        "early": statistics.median(early) if early else float("nan"),
        "late": statistics.median(late) if late else float("nan"),
        "flush": statistics.median(flush_costs) if flush_costs else float("nan"),
        "key": statistics.median(key_latencies) if key_latencies else float("nan"),
        "key_max": max(key_latencies) if key_latencies else float("nan"),
        "drain": drain,
    }


def report(seconds: float, rate: int) -> str:
    """Run the view and both baselines; one line per figure with the ratio to ``Log``."""
    results = {kind: asyncio.run(run(kind, seconds, rate)) for kind in ("view", "log", "markdown")}
    base = results["log"]
    out = [f"streaming: {ROOMS} rooms × {rate:,} chunks/s for {seconds:g} s, flush every "
           f"{FLUSH * 1000:.0f} ms, {SIZE[0]}×{SIZE[1]} headless"]  # fmt: skip
    rows = [
        ("chunks fed / painted", lambda r: f"{r['fed']:,} / {r['painted']:,}", None),
        ("achieved rate per room (chunks/s)", lambda r: f"{r['rate']:,.0f}", "rate"),
        ("chunk-to-screen median (ms)", lambda r: f"{r['median'] * 1000:.1f}", "median"),
        ("chunk-to-screen p95 (ms)", lambda r: f"{r['p95'] * 1000:.1f}", "p95"),
        ("median in first / last second (ms)",
         lambda r: f"{r['early'] * 1000:.1f} / {r['late'] * 1000:.1f}", "late"),
        ("flush cost, all rooms, median (ms)", lambda r: f"{r['flush'] * 1000:.2f}", "flush"),
        ("key binding latency median / max (ms)",
         lambda r: f"{r['key'] * 1000:.1f} / {r['key_max'] * 1000:.1f}", "key"),
        ("drain after the last chunk (ms)", lambda r: f"{r['drain'] * 1000:.0f}", "drain"),
    ]  # fmt: skip
    for label, fmt, key in rows:
        cells = []
        for kind in ("view", "log", "markdown"):
            cell = f"{kind} {fmt(results[kind])}"
            if key and kind != "log" and base[key] > 1e-3:  # no ratio to (almost) zero
                cell += f" (×{results[kind][key] / base[key]:.2f})"
            cells.append(cell)
        out.append(f"  {label:40s} " + " | ".join(cells))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``python benchmarks/bench_streaming.py [SECONDS] [RATE]``."""
    argv = sys.argv[1:] if argv is None else argv
    seconds = float(argv[0]) if argv else 5.0
    rate = int(argv[1].replace("_", "")) if len(argv) > 1 else 5000
    print(report(seconds, rate))


if __name__ == "__main__":
    main()
