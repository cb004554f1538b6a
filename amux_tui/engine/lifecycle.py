"""A room's lifecycle state (SPEC §1.2): exactly one at a time."""

from __future__ import annotations

from enum import StrEnum


class Lifecycle(StrEnum):
    """What a room's agent is doing; the value is the label users see."""

    NOT_STARTED = "not started"  # restored, agent not running yet
    STARTING = "starting"  # spawned, handshaking
    READY = "ready"  # idle
    BUSY = "busy"  # a turn is in flight (derived: ready + an active turn)
    EXITED = "exited"  # the agent process ended
    FAILED = "failed"  # could not start, or the handshake failed

    @property
    def stopped(self) -> bool:
        """Exited or failed: the agent is gone and restarting is the user's call."""
        return self in (Lifecycle.EXITED, Lifecycle.FAILED)

    @property
    def running(self) -> bool:
        """An agent process is up (starting, ready or busy)."""
        return self in (Lifecycle.STARTING, Lifecycle.READY, Lifecycle.BUSY)
