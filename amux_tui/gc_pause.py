"""Pausing Python's cyclic garbage collector while many long-lived objects are made.

Decoding a million log records, or importing Textual and amux and building the first
screen, allocates objects that all stay alive: every collection those allocations trigger
rescans them for nothing (a start took ~60 ms longer with the collector running). Pauses
nest and may overlap across threads; the collector runs again when the last one ends, if
it ran before the first.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["end_startup_pause", "pause", "paused", "resume", "start_startup_pause"]

_lock = threading.Lock()
_depth = 0
_was_enabled = False
_startup = False


def pause() -> None:
    """Stop automatic collections until the matching :func:`resume`."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1


def resume() -> None:
    """End one :func:`pause`; the last one lets the collector run again."""
    global _depth
    with _lock:
        _depth -= 1
        if _depth == 0 and _was_enabled:
            gc.enable()


@contextmanager
def paused() -> Iterator[None]:
    """The collector paused for the ``with`` block."""
    pause()
    try:
        yield
    finally:
        resume()


def start_startup_pause() -> None:
    """Pause until amux's first screen is painted (:func:`end_startup_pause`)."""
    global _startup
    if not _startup:
        _startup = True
        pause()


def end_startup_pause() -> None:
    """End the start's pause (idempotent: the app calls it once painted, the CLI again
    when the app is gone, whatever happened).

    What the start made (modules, classes, the first screen) is frozen: it lives as long as
    the app, and collecting it would only rescan it, in one pause of tens of milliseconds
    right after the first paint and in every full collection after that."""
    global _startup
    if _startup:
        _startup = False
        gc.freeze()
        resume()
