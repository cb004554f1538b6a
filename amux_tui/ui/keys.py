"""Key handling that Textual bindings cannot express: the tmux-style prefix and double escape.

The prefix (``ctrl+b``) is intercepted at the app level, before the focused widget sees the
key, so it works while the prompt ``TextArea`` has focus; the key after it is a command
looked up in :data:`PREFIX_KEYS` and never reaches the prompt. The same table drives the
help screen, the footer hints and the command palette, so they cannot drift apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

PREFIX = "ctrl+b"
PREFIX_DISPLAY = "ctrl+b"


@dataclass(frozen=True, slots=True)
class PrefixKey:
    """One command reachable as ``ctrl+b`` then ``keys``."""

    keys: tuple[str, ...]  # Textual key names or the characters typed
    action: str  # the app action (``action_<name>``); digits pass the digit as argument
    display: str
    description: str
    footer: str = ""  # short label in the footer while the prefix is armed ("" = not shown)


PREFIX_KEYS: tuple[PrefixKey, ...] = (
    PrefixKey(("c",), "new_room", "c", "new room (agent, working directory, title)", "new"),
    PrefixKey(("n",), "next_room", "n", "next room", "next"),
    PrefixKey(("p",), "prev_room", "p", "previous room", "prev"),
    PrefixKey(
        tuple("0123456789"), "jump", "0–9", "jump to room by number (0 is the 10th)", "room N"
    ),
    PrefixKey(("l",), "last_room", "l", "last (previously focused) room", "last"),
    PrefixKey(("w",), "pick_room", "w", "room picker with fuzzy filter", "pick"),
    PrefixKey(("a",), "attention", "a", "next room that needs you, else next unread", "needs you"),
    PrefixKey((",", "comma"), "rename_room", ",", "rename room", "rename"),
    PrefixKey(("&", "ampersand"), "close_room", "&", "close room (its log is archived)", "close"),
    PrefixKey(("z",), "toggle_layout", "z", "toggle single / tiled layout", "layout"),
    PrefixKey(("o", "tab"), "next_room", "o", "next pane (same as n)"),
    PrefixKey(("r",), "restart_room", "r", "restart the room's agent", "restart"),
    PrefixKey(
        ("i",), "inspect", "i", "inspector: debug snapshot, stderr tail, agent log", "inspect"
    ),
    PrefixKey(("t",), "toggle_thoughts", "t", "show / hide agent thoughts"),
    PrefixKey(("e", "end"), "jump_to_end", "e", "jump to the end of the transcript (follow)"),
    PrefixKey(("q",), "unqueue_last", "q", "remove the last queued prompt"),
    PrefixKey(("k",), "force_stop", "k", "force stop an agent that ignores cancel"),
    PrefixKey(("?", "question_mark"), "help", "?", "help: every key", "help"),
)

_BY_KEY: dict[str, PrefixKey] = {k: entry for entry in PREFIX_KEYS for k in entry.keys}


def lookup(key: str, character: str | None) -> PrefixKey | None:
    """The prefix command for a pressed key (by Textual key name, then by character)."""
    entry = _BY_KEY.get(key)
    if entry is None and character:
        entry = _BY_KEY.get(character)
    return entry


class PrefixState:
    """Armed by ``ctrl+b``; the next key is a command (escape or ``ctrl+b`` disarm)."""

    def __init__(self, on_change: Callable[[bool], None] | None = None) -> None:
        self.armed = False
        self._on_change = on_change

    def arm(self) -> None:
        self._set(True)

    def disarm(self) -> None:
        self._set(False)

    def _set(self, armed: bool) -> None:
        if armed != self.armed:
            self.armed = armed
            if self._on_change is not None:
                self._on_change(armed)


class DoublePress:
    """Detects the same key pressed twice within ``window`` seconds (escape twice cancels)."""

    def __init__(self, window: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._first: float | None = None

    def press(self) -> bool:
        """Register a press; True when it completes a double press."""
        now = self._clock()
        if self._first is not None and now - self._first <= self.window:
            self._first = None
            return True
        self._first = now
        return False

    @property
    def pending(self) -> bool:
        """A first press happened and the window is still open."""
        return self._first is not None and self._clock() - self._first <= self.window

    def reset(self) -> None:
        self._first = None
