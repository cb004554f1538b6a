"""A headless amux engine in its own process, for kill -9 tests.

Usage: engine_child.py HOME PROMPT [QUEUED...]. Creates a demo room, sends PROMPT, queues
the rest, and prints one line per recorded frame: ``<seq> <monotonic_ns> <method>``, and
``W <seq>`` each time a write of the room's log completes (every record up to ``seq`` is
then in the OS's hands, so a kill -9 must not lose it).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from amux_tui.engine.config import DEMO_AGENT
from amux_tui.engine.engine import Engine
from amux_tui.engine.store import ReplayLog
from amux_tui.paths import Paths


class Printer:
    def room_frame(self, room, frame, seq, blocks):
        print(seq, time.monotonic_ns(), frame.get("method"), flush=True)

    def room_status(self, room):
        pass


def report_writes() -> None:
    """Make every ReplayLog print ``W <seq>`` after each complete write (any thread)."""
    write_out = ReplayLog._write_out

    def reporting(self: ReplayLog) -> bool:
        last = self.next_seq - 1  # every record up to here is in the buffer or written
        done = write_out(self)
        if done and last > 0:
            os.write(1, b"W %d\n" % last)  # one write: whole lines even from two threads
        return done

    ReplayLog._write_out = reporting  # type: ignore[method-assign]


async def main() -> None:
    home, prompt, *queued = sys.argv[1:]
    report_writes()
    engine = Engine(Paths.resolve(home))
    engine.open()
    room = engine.create_room(DEMO_AGENT, title="victim")
    room.subscribe(Printer())
    await room.start()
    room.prompt(prompt)
    for text in queued:
        room.prompt(text)
    print("ROOM", room.id, flush=True)
    await asyncio.sleep(3600)


asyncio.run(main())
