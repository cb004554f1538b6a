"""The garbage collector pauses (amux_tui/gc_pause.py): nesting, and the start's pause
ended by the app once its first screen is painted."""

from __future__ import annotations

import gc

import pytest
from test_ui_support import add_demo_rooms, open_engine, running, screen_text

from amux_tui import gc_pause


@pytest.fixture(autouse=True)
def _unfreeze():
    """The start's pause freezes what exists when it ends: here, the test process's
    objects; they are given back to the collector after each test."""
    yield
    gc.unfreeze()


def test_pauses_nest_and_the_last_resume_restores_the_collector():
    assert gc.isenabled()
    gc_pause.pause()
    with gc_pause.paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the outer pause still holds
    gc_pause.resume()
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled():
    gc.disable()
    try:
        with gc_pause.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_startup_pause_ends_once_and_only_once():
    gc_pause.start_startup_pause()
    gc_pause.start_startup_pause()  # one pause, however often started
    assert not gc.isenabled()
    gc.unfreeze()
    gc_pause.end_startup_pause()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # what the start made is never rescanned
    gc_pause.end_startup_pause()  # a second end does not unbalance other pauses
    with gc_pause.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


async def test_the_app_ends_the_startup_pause_after_its_first_paint(tmp_path):
    engine = open_engine(tmp_path / "h")
    add_demo_rooms(engine, "first")
    gc_pause.start_startup_pause()  # as `amux` does before importing the app
    try:
        async with running(engine) as (app, pilot):
            await pilot.pause()
            assert "first" in screen_text(app)
            assert gc.isenabled()
    finally:
        gc_pause.end_startup_pause()
    assert gc.isenabled()
