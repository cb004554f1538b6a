"""The one place amux reaches into Textual's private API (checked against Textual 8.2.8).

Keep this module small: everything here may break on a Textual release (the dependency
policy in ``pyproject.toml`` allows only this module to rely on private API). The rest of the
UI, the key path included, uses public API only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from textual.app import App
from textual.driver import Driver
from textual.geometry import Size
from textual.screen import Screen
from textual.scrollbar import ScrollBar
from textual.widget import Widget


def write_to_terminal(app: App[Any], sequence: str) -> bool:
    """Write an escape sequence straight to the terminal; False when there is none (headless).

    Why private: Textual has no public way to send a raw sequence (``App.bell`` does the
    same internally for BEL). amux needs it for OSC 9 desktop notifications.
    """
    driver = app._driver
    if driver is None or app.is_headless:
        return False
    driver.write(sequence)
    driver.flush()
    return True


class _KeyName(str):
    """Stands in for a member of Textual's ``Keys`` enum: the parser reads its ``value``."""

    @property
    def value(self) -> str:
        return str(self)


# ESC + these starts a terminal's own sequence (CSI, SS3, DCS, OSC, APC, PM, SOS, ST): never a key.
_INTRODUCERS = frozenset("[OP]_^X\\")


def _alt_name(character: str) -> str:
    from textual.keys import _character_to_key

    if character.isalpha() and character.isupper():
        return f"alt+shift+{character.lower()}"
    return f"alt+{character if character.isalnum() else _character_to_key(character)}"


LEGACY_ALT_KEYS: dict[str, str] = {
    **{f"\x1b{c}": _alt_name(c) for c in map(chr, range(0x20, 0x7F)) if c not in _INTRODUCERS},
    "\x1b\r": "alt+enter",
}
"""Escape-prefixed keys as tmux, xterm and most Linux terminals send alt chords (no kitty
keyboard protocol): ESC + digit, letter or punctuation, ESC CR."""


def read_legacy_alt_keys() -> None:
    """Make Textual's input parser report ESC + key as that key with alt, at once.

    Why private: the parser's sequence table (``textual._ansi_sequences``) maps ESC + digit
    to the characters macOS option+digit types (WezTerm sends those), so ``alt+2`` in tmux
    typed ``™`` into the prompt; ESC CR lost its alt and became a plain enter (a send); and
    ESC + letter is only recognised after a pause (typed on at once, ``alt+x one`` came out
    as ``^xone``). Table entries make each one key, without a typed character. There is no
    public hook for the table. Idempotent; applies to every app of the process.
    """
    from textual import _ansi_sequences

    table: Any = _ansi_sequences.ANSI_SEQUENCES_KEYS
    for sequence, key in LEGACY_ALT_KEYS.items():
        table[sequence] = (_KeyName(key),)


def set_virtual_size_in_place(widget: Widget, size: Size) -> None:
    """Change a fixed-size scroll view's virtual size without a layout of the screen.

    Why private: assigning ``virtual_size`` (a ``layout=True`` reactive) makes Textual lay
    out the whole screen again and repaint every widget on it; a transcript that grows 25
    times a second in each of four tiled panes then repaints every pane, header and room
    list item on every flush. The view's own size does not depend on its content (CSS sets
    it), so only its scroll bars need updating, which ``_scroll_update`` does. Falls back
    to the public assignment when that method is missing.
    """
    scroll_update = getattr(widget, "_scroll_update", None)
    if scroll_update is None:
        widget.virtual_size = size
        return
    widget.set_reactive(Widget.virtual_size, size)  # type: ignore[arg-type]
    scroll_update(size)


@contextmanager
def scroll_bar_repainted_if_changed(widget: Widget) -> Iterator[None]:
    """Within the block, ``widget``'s vertical scroll bar is repainted only if what it shows
    changed (its thumb moved or resized by a visible amount), not on every change of the
    virtual size or scroll position.

    Why private: Textual repaints a scroll bar on any change of its size or position, and a
    transcript that streams into a following pane changes both on every flush while its
    thumb, one cell at the bottom, looks the same. Those repaints were half the lines of
    each screen update with four tiled panes streaming (7,872 scroll bar lines re-rendered
    against 7,475 transcript lines). The bar is reached through ``_vertical_scrollbar`` (the
    public property would create one); without it, the bar repaints as usual.
    """
    bar = getattr(widget, "_vertical_scrollbar", None)
    if not isinstance(bar, ScrollBar) or "refresh" in vars(bar):
        yield  # no bar, or an enclosing block (a scroll inside a resync) holds it already
        return
    before = _scroll_bar_look(bar)
    asked: list[bool] = []

    def note(*_regions: Any, **_options: Any) -> ScrollBar:
        asked.append(True)
        return bar

    bar.refresh = note  # type: ignore[method-assign]
    try:
        yield
    finally:
        del bar.refresh
        if asked and (before is None or _scroll_bar_look(bar) != before):
            bar.refresh()


def _scroll_bar_look(bar: ScrollBar) -> object | None:
    """What ``bar`` draws now, as Textual's own renderer lays it out (None: unknown)."""
    try:
        height, width = bar.size.height, bar.size.width
        segments = bar.renderer.render_bar(
            size=height,
            virtual_size=bar.window_virtual_size,
            window_size=bar.window_size,
            position=bar.position,
            thickness=width,
            vertical=bar.vertical,
        )
        return (height, width, [segment.text for segment in segments.segments],
                [segment.style for segment in segments.segments])  # fmt: skip
    except Exception:  # a renderer that lays out differently: repaint as Textual would
        return None


def paint_now(screen: Screen[Any]) -> bool:
    """Repaint what is dirty on ``screen`` now instead of at its update timer's next tick;
    False when nothing was waiting to be painted.

    Why private: Textual paints from a timer that, once it has skipped ticks (it pauses
    while nothing is dirty), waits one to two frame periods (17 to 33 ms at 60 fps) before
    it paints again; a typed character or a batch of agent output then reaches the terminal
    that much later. There is no public way to paint at once; without the method the timer
    paints as usual.
    """
    update = getattr(screen, "_on_timer_update", None)
    dirty = getattr(screen, "_dirty_widgets", None)
    if update is None or not dirty or not screen.is_current:
        return False
    update()
    return True


def breakpoint_classes(screen: Screen[Any], size: Size) -> dict[str, bool]:
    """The size classes (``HORIZONTAL_BREAKPOINTS``, ``VERTICAL_BREAKPOINTS``) Textual gives
    ``screen`` when it is resized to ``size``: each class on or off (none without the method).

    Why private: Textual's rule for them is a private method of Screen. Without it the
    screen is classed at its first resize, as it would be anyway, one restyle later.
    """
    choose = getattr(screen, "_get_breakpoint_classes", None)
    if choose is None:
        return {}
    classes: dict[str, bool] = {}
    for dimension, own, default in (
        (size.width, screen.HORIZONTAL_BREAKPOINTS, screen.app.HORIZONTAL_BREAKPOINTS),
        (size.height, screen.VERTICAL_BREAKPOINTS, screen.app.VERTICAL_BREAKPOINTS),
    ):
        breakpoints = (default if own is None else own) or []
        chosen = choose(dimension, breakpoints)
        classes.update({name: name in chosen for _, name in breakpoints})
    return classes


def replace_driver_output(driver: Driver, make: Callable[[int, str, str], Any]) -> bool:
    """Give ``driver`` the stream ``make(fd, encoding, errors)`` in place of the one it
    writes the terminal with (before it starts); False when it has none (headless).

    Why private: the driver's output stream is a private attribute with no setter.
    """
    stream = getattr(driver, "_file", None)
    try:
        fd = stream.fileno() if stream is not None else None
    except (AttributeError, OSError, ValueError):
        fd = None
    if fd is None or stream is None:
        return False
    driver._file = make(  # type: ignore[attr-defined]
        fd,
        getattr(stream, "encoding", None) or "utf-8",
        getattr(stream, "errors", None) or "strict",
    )
    return True
