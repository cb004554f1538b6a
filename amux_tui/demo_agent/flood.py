"""The ``/flood [N] [RATE] [stamp]`` scenario: many small message chunks, fast or paced.

``N`` chunks (default 10000) of ``chunk <n> ``, in one agent message. Without ``RATE`` they
go at full speed, pre-encoded and written ``FLOOD_BATCH`` lines at a time. With ``RATE``
(chunks per second) chunk ``n`` is due ``(n - 1) / RATE`` seconds after the first: the agent
wakes at most every ``PACE_TICK`` and writes every chunk due by then, so a client that reads
slowly blocks the writes and falls behind the schedule instead of being spared.

``stamp`` writes each chunk's time into its text, ``chunk <n>@<seconds> ``, seconds of the
system-wide monotonic clock (``time.monotonic()``, CLOCK_MONOTONIC on Linux, readable by any
process on the machine) with 6 decimals: with ``RATE`` the time the chunk was *due*, so the
age a reader measures includes any time the agent spent blocked; at full speed the time its
batch was written. End-to-end benchmarks read the stamps off the screen to tell how old the
newest chunk shown is.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from amux_tui.demo_agent.turn import Turn

FLOOD_DEFAULT = 10_000
FLOOD_BATCH = 2_000  # lines per write: big enough to be fast, small enough to cancel
PACE_TICK = 0.002  # paced floods wake at most this often (a write per wake-up)
STAMP_WORD = "stamp"
HINT = "N (default 10000), RATE chunks/s (default: full speed), stamp"


def parse(args: list[str]) -> tuple[int, float | None, bool]:
    """``(count, rate or None for full speed, stamp)`` from the scenario's arguments.

    Words that are not numbers (other than ``stamp``) and a rate that is not positive are
    ignored, as the other scenarios ignore bad arguments.
    """
    stamp = any(arg.lower() == STAMP_WORD for arg in args)
    numbers = [arg for arg in args if arg.lower() != STAMP_WORD]
    count = FLOOD_DEFAULT
    rate: float | None = None
    if numbers:
        with contextlib.suppress(ValueError):
            count = max(0, int(numbers[0]))
    if len(numbers) > 1:
        try:
            value = float(numbers[1])
        except ValueError:
            value = 0.0
        rate = value if value > 0 and value != float("inf") else None
    return count, rate, stamp


def _chunk(n: int, message_id: str, at: float | None) -> dict[str, Any]:
    text = f"chunk {n} " if at is None else f"chunk {n}@{at:.6f} "
    return {
        "sessionUpdate": "agent_message_chunk",
        "content": {"type": "text", "text": text},
        "messageId": message_id,
    }


async def run_flood(turn: Turn, args: list[str]) -> str:
    """Stream the chunks (see the module docstring); cancellable between writes."""
    count, rate, stamp = parse(args)
    message_id = turn.next_message_id()
    if rate is None:
        for start in range(1, count + 1, FLOOD_BATCH):
            at = time.monotonic() if stamp else None
            end = min(start + FLOOD_BATCH, count + 1)
            turn.emit_batch([_chunk(n, message_id, at) for n in range(start, end)])
            await turn.sleep(0)  # let a session/cancel in
        return "end_turn"
    first = time.monotonic()
    sent = 0
    while sent < count:
        due = min(count, int((time.monotonic() - first) * rate) + 1, sent + FLOOD_BATCH)
        if due > sent:
            turn.emit_batch(
                [
                    _chunk(n, message_id, first + (n - 1) / rate if stamp else None)
                    for n in range(sent + 1, due + 1)
                ]
            )
            sent = due
        if sent < count:  # sleep until the next chunk is due, at least a tick
            await turn.sleep(max(PACE_TICK, first + sent / rate - time.monotonic()))
    return "end_turn"
