"""Keys before agent output: the UI's side of the engine's :class:`~amux_tui.acp.pacing.Pacer`.

A key travels from the terminal's input thread through several hops of the event loop
(the app's queue, the screen, the focused widget) and then waits for the next screen
update; agent output processed in between (pipe reads, the log, transcript batches) would
delay it at every hop. So the pacer is told at once, from the input thread, that a key
arrived (:func:`announcing_driver`), the app takes over that notice as a hold when the key
reaches it (:meth:`InputFirst.key_taken`), and the hold ends once the key's widget has
handled it and the screen has been repainted (:meth:`InputFirst.key_done`). That repaint
happens as soon as the screen is idle (:class:`EchoScreen`), not at Textual's next frame.

The input thread needs the GIL to parse a key, and the loop thread holds it while agents
stream; Python hands it over every ``sys.getswitchinterval()`` seconds (5 ms by default),
so :class:`InputFirst` shortens that to ``SWITCH_INTERVAL``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from textual import events
from textual.app import App
from textual.driver import Driver
from textual.geometry import Size
from textual.message import Message
from textual.screen import Screen

from amux_tui.acp.pacing import Pacer
from amux_tui.ui.textual_compat import paint_now

__all__ = ["SWITCH_INTERVAL", "EchoScreen", "InputFirst", "announcing_driver"]

SWITCH_INTERVAL = 0.001
"""Seconds a thread may keep the GIL while another waits (the input thread, for a key)."""


def announcing_driver(base: type[Driver], announce: Callable[[], None]) -> type[Driver]:
    """``base`` (the platform's driver) calling ``announce()`` for each key it reads,
    on its input thread, before the key is queued for the app."""

    class AnnouncingDriver(base):  # type: ignore[valid-type,misc]
        def process_message(self, message: Message) -> None:
            if isinstance(message, events.Key):
                announce()
            super().process_message(message)

    AnnouncingDriver.__name__ = AnnouncingDriver.__qualname__ = f"Announcing{base.__name__}"
    return AnnouncingDriver


class InputFirst:
    """Holds the engine's agent output while a key is on its way to the screen."""

    def __init__(self, app: App[Any], pacer: Pacer) -> None:
        self._app = app
        self._pacer = pacer
        self.echo_pending = 0  # keys taken whose repaint has not happened yet
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))

    def driver_class(self, base: type[Driver]) -> type[Driver]:
        return announcing_driver(base, self._pacer.input_arrived)

    def key_taken(self) -> None:
        """A key reached the app (before it is routed)."""
        self.echo_pending += 1
        self._pacer.input_taken()

    def key_done(self) -> None:
        """The key was routed: release the hold after the widget it went to has handled it
        and the screen was repainted (the pacer lets holds lapse if that never comes)."""
        screen = self._app.screen
        target = screen.focused or screen

        def release() -> None:
            self.echo_pending -= 1
            self._pacer.release()

        def handled() -> None:
            if not screen.call_after_refresh(release):
                release()

        if not target.call_later(handled):
            release()


class EchoScreen(Screen[None]):
    """The app's main screen: paints as soon as it goes idle, rather than at Textual's next
    frame, while a key waits for its repaint or after :meth:`paint_soon` (a batch of agent
    output handed to the panes)."""

    def __init__(self, input_first: InputFirst, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._input_first = input_first
        self._paint_requested = False
        self._resumed = False
        self._laid_out_at: Size | None = None

    def paint_soon(self) -> None:
        """Paint the widgets being refreshed now at the next idle moment."""
        self._paint_requested = True

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Handled here before Screen's own handler (subclass first). The first time, every
        # widget was styled as it was mounted: styling the whole screen again would only
        # delay the first paint. Later resumes (after a dialog) restyle as usual.
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False

    def on_resize(self, event: events.Resize) -> None:
        # Handled here before Screen's own handler, which lays the whole screen out and
        # repaints all of it. At start Textual sends three resizes of the same size (and
        # the screen one more for itself after each layout): only a new size needs that.
        if event.size == self._laid_out_at:
            event.prevent_default()
        self._laid_out_at = event.size

    def on_idle(self, event: events.Idle) -> None:
        if (self._input_first.echo_pending or self._paint_requested) and paint_now(self):
            self._paint_requested = False
