"""A headless amux engine in its own process, for kill -9 tests.

Usage: engine_child.py HOME PROMPT [QUEUED...]. Creates a demo room, sends PROMPT, queues
the rest, and prints one line per recorded frame: ``<seq> <monotonic_ns> <method>``.
"""

from __future__ import annotations

import asyncio
import sys
import time

from amux_tui.engine.config import DEMO_AGENT
from amux_tui.engine.engine import Engine
from amux_tui.paths import Paths


class Printer:
    def room_frame(self, room, frame, seq, blocks):
        print(seq, time.monotonic_ns(), frame.get("method"), flush=True)

    def room_status(self, room):
        pass


async def main() -> None:
    home, prompt, *queued = sys.argv[1:]
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
