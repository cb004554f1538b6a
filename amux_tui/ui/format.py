"""Turning room state into short, literal, styled text for the room list and pane headers.

Everything that comes from users or agents (titles, cwd, failure reasons) is placed in
:class:`~textual.content.Content` as *plain text*: never parsed as markup, control
characters replaced, so a title like ``[red]x[/]`` or one holding ``\\x1b`` shows as typed.
Styles use theme variables (``$warning`` …) so they follow the active theme.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import msgspec
from textual.content import Content

from amux_tui.engine.lifecycle import Lifecycle
from amux_tui.text import one_line

if TYPE_CHECKING:
    from amux_tui.engine.room import Room

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
STILL_SPINNER = "⠿"  # the busy glyph when animation is off (deterministic snapshots)

STATE_GLYPHS: dict[str, tuple[str, str]] = {
    Lifecycle.NOT_STARTED: ("○", "$text-muted"),
    Lifecycle.STARTING: ("◌", "$warning"),
    Lifecycle.READY: ("●", "$success"),
    Lifecycle.BUSY: ("", "$accent"),  # the spinner frame
    Lifecycle.EXITED: ("✖", "$error"),
    Lifecycle.FAILED: ("✖", "$error"),
}

COMPACTING_GLYPH = "⟳"
NEEDS_YOU_GLYPH = "!"
UNREAD_GLYPH = "●"
QUEUED_GLYPH = "≡"


def short_path(path: str, limit: int = 40) -> str:
    """A cwd for a header: ``~`` for the home directory, shortened from the left."""
    home = os.path.expanduser("~")
    if home and home != "/" and (path == home or path.startswith(home + os.sep)):
        path = "~" + path[len(home) :]
    path = one_line(path)
    if len(path) > limit:
        path = "…" + path[-(limit - 1) :]
    return path


def agent_name(room: Room) -> str:
    """The agent's configured name (``demo``, ``claude`` …)."""
    name = (room.meta.agent or {}).get("name")
    return one_line(name) if isinstance(name, str) and name else "unknown"


class Flags(msgspec.Struct, frozen=True):
    """The independent flags of SPEC §1.2, as the UI shows them."""

    compacting: bool = False
    needs_you: int = 0
    unread: bool = False
    queued: int = 0
    held: bool = False

    @classmethod
    def of(cls, room: Room, unread: bool) -> Flags:
        queue = room.public_queue
        return cls(
            compacting=room.compacting,
            needs_you=len(room.pending_permissions),
            unread=unread,
            queued=len(queue),
            held=any(q.held for q in queue),
        )

    def parts(self, *, long: bool) -> list[tuple[str, str]]:
        """(text, style) per active flag: glyph plus label (``long``) or a compact badge."""
        out: list[tuple[str, str]] = []
        if self.needs_you:
            count = f" ({self.needs_you})" if self.needs_you > 1 or long else ""
            label = f" needs you{count}" if long else str(self.needs_you)
            out.append((NEEDS_YOU_GLYPH + label, "bold $error"))
        if self.compacting:
            out.append(
                (f"{COMPACTING_GLYPH} compacting" if long else COMPACTING_GLYPH, "bold $warning")
            )
        if self.queued:
            held = " held" if self.held else ""
            label = f" queued {self.queued}{held}" if long else str(self.queued)
            out.append((QUEUED_GLYPH + label, "$secondary"))
        if self.unread:
            out.append((f"{UNREAD_GLYPH} unread" if long else UNREAD_GLYPH, "bold $accent"))
        return out


def state_glyph(status: str, tick: int | None) -> tuple[str, str]:
    """The lifecycle glyph; ``busy`` is a spinner frame (``tick`` None = still)."""
    glyph, style = STATE_GLYPHS.get(status, ("?", "$text-muted"))
    if status == Lifecycle.BUSY:
        glyph = STILL_SPINNER if tick is None else SPINNER[tick % len(SPINNER)]
    return glyph, style


def state_label(room: Room, restart_key: str = "ctrl+b r", cancel_key: str = "esc esc") -> str:
    """Lifecycle state with its detail: exit code, failure reason, restart hint."""
    status = room.status
    if status == Lifecycle.EXITED:
        code = f" (code {room.exit_code})" if room.exit_code is not None else ""
        return f"exited{code} — {restart_key} or a prompt restarts it"
    if status == Lifecycle.FAILED:
        return f"failed — {restart_key} to retry"
    if status == Lifecycle.BUSY and room.force_stop_available:
        return f"busy — agent ignores cancel: {cancel_key} to force stop"
    if status == Lifecycle.BUSY and room.cancel_requested_at is not None:
        return "cancelling…"
    return status


def usage_text(room: Room) -> str | None:
    """Context window usage as a percentage, when the agent reports it."""
    usage = room.model.usage
    if not usage:
        return None
    used, size = usage
    if size <= 0:
        return None
    return f"ctx {round(100 * used / size)}%"


def join(parts: list[tuple[str, str]], sep: str = "  ") -> Content:
    """Styled parts joined by ``sep``; every part's text stays literal."""
    pieces: list[tuple[str, str] | str] = []
    for i, part in enumerate(parts):
        if i:
            pieces.append(sep)
        pieces.append(part)
    return Content.assemble(*pieces)
