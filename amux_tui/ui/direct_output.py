"""The terminal written without a buffer: each frame reaches it as soon as it is written.

Textual's writer thread writes frames into a buffered stream and flushes only when its queue
is empty, so while the app keeps queueing (the start's first screens, a stream of agent
output) the end of a frame (the prompt, at the bottom) waits in the buffer behind the next
frame: 24 ms at start, measured. :class:`DirectOutput` stands in for that stream.
"""

from __future__ import annotations

import os
import select
from typing import Any

from textual.driver import Driver

from amux_tui.ui.textual_compat import replace_driver_output

__all__ = ["DirectOutput", "direct_output_driver"]


class DirectOutput:
    """A text stream over ``fd`` that writes everything at once (``flush`` has nothing to do)."""

    def __init__(self, fd: int, encoding: str = "utf-8", errors: str = "strict") -> None:
        self._fd = fd
        self.encoding = encoding
        self.errors = errors

    def write(self, text: str) -> int:
        data = memoryview(text.encode(self.encoding, self.errors))
        while data:
            try:
                data = data[os.write(self._fd, data) :]
            except BlockingIOError:  # a non-blocking terminal that is full: wait for room
                select.select([], [self._fd], [])
        return len(text)

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)


def direct_output_driver(base: type[Driver]) -> type[Driver]:
    """``base`` (the platform's driver) writing to the terminal through :class:`DirectOutput`."""

    class DirectDriver(base):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            replace_driver_output(self, DirectOutput)

    DirectDriver.__name__ = DirectDriver.__qualname__ = f"Direct{base.__name__}"
    return DirectDriver
