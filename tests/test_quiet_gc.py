"""Full garbage collections at quiet moments and at a bounded cost (amux_tui/ui/quiet_gc.py).

The collector's clock and its collection are injected (a full collection "takes" the time
the test says); what makes one due is real: generation-1 collections counted by Python.
"""

from __future__ import annotations

import gc

import pytest

from amux_tui.acp.pacing import Pacer
from amux_tui.ui.quiet_gc import COST_RATIO, GROWTH, LONGEST_WAIT, QuietCollector


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Heap:
    """The oldest generation's size, as the test says it is."""

    def __init__(self) -> None:
        self.size = 100_000

    def __call__(self) -> int:
        return self.size

    def grow(self, fraction: float) -> None:
        self.size = int(self.size * (1 + fraction))


@pytest.fixture
def heap() -> Heap:
    return Heap()


@pytest.fixture
def setup(heap):
    clock = Clock()
    runs: list[float] = []

    def collect(duration: float = 0.1) -> None:
        runs.append(clock.now)
        clock.now += duration  # the collection takes 100 ms

    pacer = Pacer()
    collector = QuietCollector(pacer, clock=clock, collect=collect, oldest_size=heap)
    collector.start()
    try:
        yield collector, clock, runs, pacer
    finally:
        collector.stop()


def young_collections() -> None:
    """As many generation-1 collections as make Python look at a full one (default 10)."""
    for _ in range(gc.get_threshold()[2] or 10):
        gc.collect(1)


def make_due(heap: Heap) -> None:
    """What makes a full collection due: young collections, and the oldest generation
    grown by more than GROWTH since the last full one."""
    heap.grow(GROWTH + 0.05)
    young_collections()


def test_full_collections_leave_python_s_schedule_and_return_to_it():
    saved = gc.get_threshold()
    collector = QuietCollector(Pacer())
    collector.start()
    try:
        assert gc.get_threshold()[2] > 100_000  # only the timer runs full collections
    finally:
        collector.stop()
    assert gc.get_threshold() == saved


def test_a_due_collection_runs_when_quiet(setup, heap):
    collector, clock, runs, _ = setup
    collector.check()
    assert runs == []  # not due yet
    make_due(heap)
    collector.check()
    assert len(runs) == 1
    collector.check()
    assert len(runs) == 1  # done: due again only after more collections


def test_a_full_collection_waits_for_its_cost_to_be_amortised(setup, heap):
    collector, clock, runs, _ = setup
    make_due(heap)
    collector.check()  # takes 100 ms
    assert len(runs) == 1
    make_due(heap)
    clock.now += 0.1 * COST_RATIO - 0.05  # due, but too soon after the last one
    collector.check()
    assert len(runs) == 1
    clock.now += 0.1
    collector.check()
    assert len(runs) == 2


def test_typing_puts_a_due_collection_off(heap):
    clock, runs, pacer = Clock(), [], Pacer()
    # A key "within the last hour" (the pacer's own clock): however slow this machine is.
    collector = QuietCollector(
        pacer, clock=clock, collect=lambda: runs.append(1), quiet=3600, oldest_size=heap
    )
    collector.start()
    try:
        pacer.input_arrived()
        make_due(heap)
        collector.check()
        assert runs == []  # the user is typing: not in front of the next key
        clock.now += LONGEST_WAIT  # typing for that long: collect anyway
        collector.check()
        assert runs == [1]
    finally:
        collector.stop()


def test_a_steady_heap_is_not_rescanned(setup, heap):
    """Young collections alone (a large heap that does not grow: the strips of streaming
    panes replaced as fast as they are made) never make a full collection due."""
    collector, clock, runs, _ = setup
    for _ in range(3):
        young_collections()
        collector.check()
    heap.grow(GROWTH - 0.05)  # grown, but less than a quarter since the last full one
    young_collections()
    collector.check()
    assert runs == []
    heap.grow(0.1)  # now past a quarter
    young_collections()
    collector.check()
    assert len(runs) == 1
    young_collections()  # measured again after the collection: not grown since
    collector.check()
    assert len(runs) == 1


def test_the_oldest_generation_is_measured_by_default():
    """Without an injected measure the collector counts the objects a full collection
    scans: more of them (kept alive) count."""
    from amux_tui.ui.quiet_gc import oldest_generation_size

    enabled = gc.isenabled()
    gc.collect()  # no garbage left for an automatic full collection to take meanwhile
    gc.disable()
    try:
        before = oldest_generation_size()
        kept = [[i] for i in range(50_000)]
        young_collections()  # moves the lists, which survive, to the oldest generation
        assert oldest_generation_size() >= before + 50_000
        del kept
    finally:
        if enabled:
            gc.enable()
