"""Writing a room's metadata: batched, atomic, and again until it works (SPEC §5.2).

A room's ``<roomId>.json`` changes often (draft, history, session id) and must never be
lost to a full disk: a failed write is reported, retried every ``retry_delay`` on the
room's loop, and at quit anything still unsaved is listed by
:meth:`~amux_tui.engine.engine.Engine.unwritten` instead of vanishing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from amux_tui.engine.store import write_json_atomic

logger = logging.getLogger("amux.meta")

SAVE_DELAY = 0.3  # changes within this window become one atomic write
RETRY_DELAY = 1.0  # a failed write is tried again after this long


class MetaSaver:
    """The metadata file of one room.

    Args:
        path: ``<roomId>.json`` (None: never saved, e.g. a throwaway room in a test).
        payload: returns the JSON to write, at the moment of writing; always called on the
            room's loop (or with none running), never in a worker thread.
        on_error: called (on the room's loop) when a write fails.
        on_saved: called (on the room's loop) when a write worked after failing.
    """

    def __init__(
        self,
        path: Path | None,
        payload: Callable[[], Any],
        on_error: Callable[[Exception], None],
        on_saved: Callable[[], None],
    ) -> None:
        self.path = path
        self.error: str | None = None  # the last write's failure, until one works
        self.dirty = False  # a change not yet on disk
        self._payload = payload
        self._on_error = on_error
        self._on_saved = on_saved
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    def soon(self, delay: float = SAVE_DELAY) -> None:
        """Save within ``delay`` (batched); at once when no event loop runs."""
        if self.path is None:
            return
        self.dirty = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.now()
            return
        if self._timer is None and not self._stopped:
            self._timer = loop.call_later(delay, self._start)

    def now(self) -> bool:
        """Write synchronously; True when the file is current. A failure is retried
        every ``RETRY_DELAY`` when an event loop runs in this thread."""
        ok = self._write_now()
        if not ok:
            self._retry_later()
        return ok

    def _retry_later(self) -> None:
        if self._stopped:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop here: the next change or the quit (Engine.unwritten) covers it
        if self._timer is None:
            self._timer = loop.call_later(RETRY_DELAY, self._start)

    def _write_now(self, payload: Any = None) -> bool:
        """Write ``payload`` (None: take it now, on this thread)."""
        if self.path is None:
            return True
        self.dirty = True
        try:
            write_json_atomic(self.path, self._payload() if payload is None else payload)
        except OSError as exc:
            first = self.error is None
            self.error = str(exc.strerror or exc)
            if first:
                logger.error("metadata %s not written: %s", self.path, exc)
            self._on_error(exc)
            return False
        self.dirty = False
        if self.error is not None:
            self.error = None
            logger.warning("metadata %s written again", self.path)
            self._on_saved()
        return True

    async def stop(self) -> bool:
        """At quit: no more timers; wait for a write under way, then write once more.
        True when the file is current."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        return self._write_now()

    def forget(self) -> None:
        """Stop trying to write what is unsaved (saved elsewhere, or given up)."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.dirty = False
        self.error = None

    def _start(self) -> None:
        self._timer = None
        self._task = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        # The payload is taken here, on the room's loop, so it is one consistent view of
        # the room (its log summary's figures and log end included); only the I/O moves.
        if not await asyncio.to_thread(self._write_now, self._payload()):
            self._retry_later()  # e.g. the disk is full: try again until there is space
