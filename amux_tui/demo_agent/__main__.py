"""Entry point: ``python -m amux_tui.demo_agent``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading

from amux_tui.demo_agent.agent import LINE_LIMIT, DemoAgent
from amux_tui.demo_agent.config import Knobs


def _feed_stdin(loop: asyncio.AbstractEventLoop, reader: asyncio.StreamReader) -> None:
    """Copy fd 0 into ``reader`` from a thread.

    A thread (rather than ``connect_read_pipe``) works for pipes, terminals and regular
    files alike, and never flips stdin to non-blocking mode behind a shared terminal.
    """
    try:
        while True:
            data = os.read(0, 1 << 16)
            if not data:
                break
            loop.call_soon_threadsafe(reader.feed_data, data)
    except (OSError, RuntimeError):  # stdin gone, or the loop already closed
        pass
    with contextlib.suppress(RuntimeError):  # loop already closed
        loop.call_soon_threadsafe(reader.feed_eof)


async def _amain() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    threading.Thread(target=_feed_stdin, args=(loop, reader), daemon=True).start()
    agent = DemoAgent(Knobs.from_env())
    await agent.run(reader)


def main() -> int:
    """Serve ACP on stdio until stdin closes."""
    try:
        asyncio.run(_amain())
    except KeyboardInterrupt:
        return 130
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
