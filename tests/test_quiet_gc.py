"""Full garbage collections at quiet moments and at a bounded cost (amux_tui/ui/quiet_gc.py).

The collector's clock and its collection are injected (a full collection "takes" the time
the test says); what makes one due is real: generation-1 collections counted by Python.
"""

from __future__ import annotations

import gc

import pytest

from amux_tui.acp.pacing import Pacer
from amux_tui.ui.quiet_gc import COST_RATIO, LONGEST_WAIT, QuietCollector


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup():
    clock = Clock()
    runs: list[float] = []

    def collect(duration: float = 0.1) -> None:
        runs.append(clock.now)
        clock.now += duration  # the collection takes 100 ms

    pacer = Pacer()
    collector = QuietCollector(pacer, clock=clock, collect=collect)
    collector.start()
    try:
        yield collector, clock, runs, pacer
    finally:
        collector.stop()


def make_due() -> None:
    """As many generation-1 collections as make a full one due (the default 10)."""
    for _ in range(gc.get_threshold()[2] or 10):
        gc.collect(1)


def test_full_collections_leave_python_s_schedule_and_return_to_it():
    saved = gc.get_threshold()
    collector = QuietCollector(Pacer())
    collector.start()
    try:
        assert gc.get_threshold()[2] > 100_000  # only the timer runs full collections
    finally:
        collector.stop()
    assert gc.get_threshold() == saved


def test_a_due_collection_runs_when_quiet(setup):
    collector, clock, runs, _ = setup
    collector.check()
    assert runs == []  # not due yet
    make_due()
    collector.check()
    assert len(runs) == 1
    collector.check()
    assert len(runs) == 1  # done: due again only after more collections


def test_a_full_collection_waits_for_its_cost_to_be_amortised(setup):
    collector, clock, runs, _ = setup
    make_due()
    collector.check()  # takes 100 ms
    assert len(runs) == 1
    make_due()
    clock.now += 0.1 * COST_RATIO - 0.05  # due, but too soon after the last one
    collector.check()
    assert len(runs) == 1
    clock.now += 0.1
    collector.check()
    assert len(runs) == 2


def test_typing_puts_a_due_collection_off():
    clock, runs, pacer = Clock(), [], Pacer()
    # A key "within the last hour" (the pacer's own clock): however slow this machine is.
    collector = QuietCollector(pacer, clock=clock, collect=lambda: runs.append(1), quiet=3600)
    collector.start()
    try:
        pacer.input_arrived()
        make_due()
        collector.check()
        assert runs == []  # the user is typing: not in front of the next key
        clock.now += LONGEST_WAIT  # typing for that long: collect anyway
        collector.check()
        assert runs == [1]
    finally:
        collector.stop()
