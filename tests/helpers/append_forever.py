"""Child process for tests/test_store_durability.py: append to a replay log until killed.

Usage: ``python append_forever.py LOG_PATH``

Runs an asyncio loop that appends realistic frames through ``ReplayLog`` with no
explicit flush, and a flush threshold far too large to ever trigger, so the only thing
that gets frames to the OS is the flusher thread (SPEC §5.2: within 50 ms). Each time a write of the
buffer completes it prints ``w <seq>`` on stdout: every record up to ``seq`` is then in
the OS's hands, so the parent knows what a kill -9 must not lose. It yields to the loop
after every append, as a room's gate does between agent lines, and pauses briefly now
and then to keep the rate realistic.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from amux_tui.engine.store import ReplayLog, load_log  # noqa: E402


class ReportingLog(ReplayLog):
    """A ReplayLog that says which records have reached the OS after each complete write."""

    def _write_out(self) -> bool:
        last = self.next_seq - 1  # every record up to here is in the buffer or written
        done = super()._write_out()
        if done and last > 0:
            os.write(1, b"w %d\n" % last)
        return done


async def main(path: Path) -> None:
    log = ReportingLog.open(path, load_log(path), flush_threshold=1 << 30)
    i = 0
    while True:
        i += 1
        frame = {
            "jsonrpc": "2.0",
            "method": "session/update",
            "params": {
                "sessionId": "s-1",
                "update": {
                    "sessionUpdate": "agent_message_chunk",
                    "content": {"type": "text", "text": f"chunk {i} " + "x" * (i % 40)},
                },
            },
        }
        log.append(frame, 1)
        await asyncio.sleep(0.001 if i % 20 == 0 else 0)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
