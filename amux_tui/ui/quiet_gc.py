"""Full garbage collections between keys, not in front of one.

Python's collector scans every tracked object in a full (generation 2) collection; with a
long transcript or a streaming agent that is tens of milliseconds, up to 130 ms measured
with one room flooding, and it starts whenever allocations reach its thresholds: in the
middle of the repaint that shows a key. :class:`QuietCollector` takes full collections
off the automatic schedule (their threshold raised far out of reach) and runs them from a
timer instead, as often as the default schedule would, but only while no key arrived in the
last ``QUIET`` seconds; after ``LONGEST_WAIT`` seconds of continuous typing it collects
anyway, so memory held by garbage cycles stays bounded. Younger generations, which are
cheap, are still collected automatically.

As in Python's own schedule, a full collection is due only once the objects that outlived
the younger collections have grown the oldest generation by a quarter since the last full
one (``GROWTH``): a long transcript or the strips of four streaming panes keep a large,
steady heap that rescanning every few seconds would only cost time (75 ms each, measured).

A full collection also waits until ``COST_RATIO`` times its last duration has passed since
it ended, so full collections take at most about 1/``COST_RATIO`` of the time: four rooms
streaming 5,000 chunks a second grow the heap fast enough to make one due every second or
two, and each took up to 215 ms (12% of the CPU, measured) where Python's own schedule
would also have waited for the heap to grow by a quarter.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from time import monotonic

from amux_tui.acp.pacing import Pacer

__all__ = ["QuietCollector"]

CHECK_EVERY = 0.5  # seconds between two looks at the collector
QUIET = 1.0  # seconds without a key before a full collection may run
LONGEST_WAIT = 30.0  # seconds a due full collection may be put off by typing
OUT_OF_REACH = 1_000_000  # generation-1 collections before an automatic full one
COST_RATIO = 20  # a full collection waits this many times its last duration after it
GROWTH = 0.25  # the oldest generation's growth since the last full collection that makes one due


def oldest_generation_size() -> int:
    """Objects in the oldest generation (what a full collection scans, frozen ones aside)."""
    return len(gc.get_objects(generation=2))


class QuietCollector:
    """Runs due full collections at quiet moments; see the module docstring."""

    def __init__(
        self,
        pacer: Pacer,
        *,
        clock: Callable[[], float] = monotonic,
        collect: Callable[[], object] = gc.collect,
        quiet: float = QUIET,
        oldest_size: Callable[[], int] = oldest_generation_size,
    ) -> None:
        self._pacer = pacer
        self._quiet = quiet
        self._clock = clock
        self._collect = collect
        self._oldest_size = oldest_size
        self._oldest_after_full = 0  # its size after the last full collection
        self._saved: tuple[int, ...] | None = None
        self._every = 10  # generation-1 collections per full one (the default threshold2)
        self._gen1_at_full = 0
        self._due_since: float | None = None
        self._next_allowed = 0.0  # clock time before which no full collection runs

    def start(self) -> None:
        """Take full collections off the automatic schedule (undone by :meth:`stop`)."""
        if self._saved is not None:
            return
        threshold = gc.get_threshold()
        self._saved = threshold
        self._every = threshold[2] if len(threshold) > 2 and threshold[2] > 0 else 10
        self._gen1_at_full = self._gen1_collections()
        self._oldest_after_full = self._oldest_size()
        gc.set_threshold(threshold[0], threshold[1], OUT_OF_REACH)

    def stop(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def check(self) -> None:
        """Collect now if a full collection is due and the moment is quiet (timer)."""
        if self._saved is None:
            return
        gen1 = self._gen1_collections()
        if gen1 - self._gen1_at_full < self._every:
            return
        if self._due_since is None and not self._grown():
            self._gen1_at_full = gen1  # look again after as many more young collections
            return
        now = self._clock()
        if self._due_since is None:
            self._due_since = now
        if now < self._next_allowed:
            return
        if self._pacer.input_within(self._quiet) and now - self._due_since < LONGEST_WAIT:
            return
        self._collect()
        end = self._clock()
        self._next_allowed = end + COST_RATIO * (end - now)
        self._gen1_at_full = self._gen1_collections()
        self._oldest_after_full = self._oldest_size()
        self._due_since = None

    def _grown(self) -> bool:
        """The oldest generation grew enough since the last full collection."""
        return self._oldest_size() - self._oldest_after_full > GROWTH * self._oldest_after_full

    @staticmethod
    def _gen1_collections() -> int:
        return int(gc.get_stats()[1]["collections"])
