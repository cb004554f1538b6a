"""Sharing one event loop between agents' output and what must not wait for it (keys).

asyncio hands a pipe callback everything one read returned (up to 256 KiB: thousands of
JSON-RPC lines) and runs every ready callback before it looks at anything else, so a few
agents writing at full speed leave a keystroke waiting behind many milliseconds of parsing,
logging and folding per agent at every step of its way to the screen. A :class:`Pacer`
bounds that work and lets urgent work go first:

* **budget**: a reader handles at most ``budget`` seconds of lines per loop turn, then
  pauses its pipe and continues on a later turn (:meth:`AgentProcess
  <amux_tui.acp.process.AgentProcess>` does this), so a loop turn never runs long however
  much output waits;
* **hold**: while something urgent is in flight (a key on its way to the screen),
  :meth:`hold` keeps output waiting altogether; :meth:`release` (or ``max_hold`` seconds at
  most, so output always moves on) lets it continue. Work that should not run while held
  (the reader's next turn, a UI batch) asks with :meth:`when_free`.
* **early notice**: a key is known to the terminal's input thread several loop turns
  before the loop gets to it; :meth:`input_arrived` (safe from any thread) holds output
  from that moment until the loop takes the key (:meth:`input_taken`, which turns it into
  an ordinary hold) or ``max_hold`` passes.

One pacer is shared by every agent of an engine; it does nothing by itself, so a consumer
that never holds only gets the budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from time import perf_counter

__all__ = ["BUDGET", "MAX_HOLD", "Pacer"]

BUDGET = 0.002
"""Seconds of agent output one reader handles per loop turn."""
MAX_HOLD = 0.25
"""Longest a hold keeps output waiting (however many keys keep coming)."""


class Pacer:
    """Bounds and defers agent-output work on one event loop; see the module docstring.

    Args:
        budget: Seconds of work a reader does per loop turn.
        max_hold: Seconds after which holds lapse on their own (their releases are then
            no-ops), so output is never stopped for good by a release that never comes.
    """

    def __init__(self, budget: float = BUDGET, max_hold: float = MAX_HOLD) -> None:
        self.budget = budget
        self.max_hold = max_hold
        self._holds = 0
        # Keys announced by the input thread / taken by the loop: each counter is written
        # by one thread only, so no lock is needed; they differ while a key is on its way.
        self._arrived = 0
        self._taken = 0
        self._input_at = -1e9  # perf_counter() of the latest key (written by one thread)
        self._waiting: list[Callable[[], None]] = []
        self._lapse: asyncio.TimerHandle | None = None

    @property
    def held(self) -> bool:
        """Whether output should wait now."""
        return self._holds > 0 or self._arrived != self._taken

    def deadline(self) -> float:
        """The ``time.perf_counter()`` value at which a reader starting now stops."""
        return perf_counter() + self.budget

    def input_arrived(self) -> None:
        """A key was read from the terminal (any thread): hold output until the loop takes
        it (:meth:`input_taken`)."""
        self._input_at = perf_counter()
        self._arrived += 1

    def input_within(self, seconds: float) -> bool:
        """Whether a key arrived in the last ``seconds`` (the user is typing)."""
        return perf_counter() - self._input_at < seconds

    def input_taken(self) -> None:
        """The loop has the key announced by :meth:`input_arrived`: hold output until
        :meth:`release`, as :meth:`hold` does."""
        if self._taken != self._arrived:
            self._taken += 1
        self.hold()

    def hold(self) -> None:
        """Something urgent is in flight: keep output waiting until :meth:`release`.

        Holds count (one release each); all of them lapse ``max_hold`` seconds after the
        first, so a stream of keys cannot stop output for long.
        """
        self._holds += 1
        self._arm_lapse()

    def release(self) -> None:
        """One hold is over; output continues when none is left."""
        if self._holds == 0:
            return  # lapsed already
        self._holds -= 1
        if not self.held:
            self._resume()

    def when_free(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on a later loop turn, once nothing holds output (each callback
        is queued once however often it is asked for)."""
        if self.held:
            if callback not in self._waiting:
                self._waiting.append(callback)
            self._arm_lapse()  # an announced key the loop never takes holds no longer
            return
        asyncio.get_running_loop().call_soon(callback)

    def _arm_lapse(self) -> None:
        if self._lapse is None:
            self._lapse = asyncio.get_running_loop().call_later(self.max_hold, self._resume)

    def _resume(self) -> None:
        self._holds = 0
        self._taken = self._arrived
        if self._lapse is not None:
            self._lapse.cancel()
            self._lapse = None
        waiting, self._waiting = self._waiting, []
        if waiting:
            loop = asyncio.get_running_loop()
            for callback in waiting:
                loop.call_soon(callback)
