"""One prompt turn: the helpers scenarios use to stream, wait and ask the client.

Cancellation is cooperative and prompt: every emit and every wait checks the turn's
cancel event, and waits race against it, so a ``session/cancel`` stops streaming within
one event-loop tick instead of after the current sleep.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from amux_tui.demo_agent.sessions import Session
from amux_tui.demo_agent.wire import encode

if TYPE_CHECKING:
    from amux_tui.demo_agent.agent import DemoAgent

# Words with their trailing whitespace (or a whitespace run on its own, e.g. leading
# newlines), so the chunks concatenate back to exactly the original text.
_TOKEN_RE = re.compile(r"\S+\s*|\s+")

GATE_POLL = 0.01  # seconds between looks at the AMUX_DEMO_GATE file while a turn is held


class TurnCancelled(Exception):
    """Raised inside a scenario once the client cancelled the turn."""


def split_words(text: str, per_chunk: int = 3) -> list[str]:
    """``text`` in chunks of ``per_chunk`` words; ``"".join(result) == text``."""
    tokens = _TOKEN_RE.findall(text)
    return ["".join(tokens[i : i + per_chunk]) for i in range(0, len(tokens), per_chunk)]


class Turn:
    """State and helpers of one ``session/prompt`` while it runs."""

    def __init__(self, agent: DemoAgent, session: Session) -> None:
        self.agent = agent
        self.session = session
        # 1-based number of this prompt in the session; used for deterministic ids.
        self.number = len(session.prompts)
        self.cancelled = asyncio.Event()
        self.cancel_via: str | None = None
        self._messages = 0
        self._tools = 0

    # ----------------------------------------------------------------- properties
    @property
    def session_id(self) -> str:
        """The ACP session id this turn belongs to."""
        return self.session.sessionId

    @property
    def delay(self) -> float:
        """Seconds between streamed chunks (``AMUX_DEMO_CHUNK_DELAY``)."""
        return self.agent.knobs.chunk_delay

    @property
    def earlier_prompts(self) -> list[str]:
        """The prompts this session saw before the current one."""
        return self.session.prompts[:-1]

    # ----------------------------------------------------------------- cancellation
    def cancel(self, via: str) -> None:
        """Mark the turn cancelled; the running scenario notices at its next step."""
        if not self.cancelled.is_set():
            self.cancel_via = via
            self.cancelled.set()

    def check(self) -> None:
        """Raise :class:`TurnCancelled` if the client cancelled."""
        if self.cancelled.is_set():
            raise TurnCancelled

    async def sleep(self, seconds: float) -> None:
        """Sleep, but wake (and raise) as soon as the turn is cancelled."""
        self.check()
        if seconds <= 0:
            await asyncio.sleep(0)  # still yield so the reader can see a cancel
        else:
            try:
                async with asyncio.timeout(seconds):
                    await self.cancelled.wait()
            except TimeoutError:
                pass
        self.check()

    async def hold(self) -> None:
        """Wait until the ``AMUX_DEMO_GATE`` file exists (no gate: return at once).

        Raises :class:`TurnCancelled` as soon as the turn is cancelled, like :meth:`sleep`.
        """
        gate = self.agent.knobs.gate
        if gate is None:
            return
        while not gate.exists():
            await self.sleep(GATE_POLL)

    # ----------------------------------------------------------------- ids
    def next_message_id(self) -> str:
        """A message id unique within the session (and readable in logs)."""
        self._messages += 1
        return f"{self.session_id[5:]}-t{self.number}-m{self._messages}"

    def next_tool_call_id(self) -> str:
        """A tool call id unique within the session."""
        self._tools += 1
        return f"call-{self.number}-{self._tools}"

    # ----------------------------------------------------------------- output
    def emit(self, update: dict[str, Any], *, force: bool = False) -> None:
        """Send one ``session/update`` (and keep it for replay).

        ``force`` sends even after cancellation: ACP lets an agent report final tool
        states after ``session/cancel``.
        """
        if not force:
            self.check()
        self.session.record(update)
        self.agent.writer.notify("session/update", {"sessionId": self.session_id, "update": update})

    def emit_batch(self, updates: list[dict[str, Any]]) -> None:
        """Send many updates in one write (for ``/flood``): pre-encoded, one flush."""
        self.check()
        sid = self.session_id
        parts = []
        for update in updates:
            self.session.record(update)
            parts.append(
                encode(
                    {
                        "jsonrpc": "2.0",
                        "method": "session/update",
                        "params": {"sessionId": sid, "update": update},
                    }
                )
            )
        self.agent.writer.write_raw(b"".join(parts))

    async def stream(self, text: str, *, kind: str = "agent_message_chunk", words: int = 3) -> str:
        """Stream ``text`` as one message of ``kind`` in small chunks; returns its id."""
        message_id = self.next_message_id()
        for i, chunk in enumerate(split_words(text, words)):
            if i:
                await self.sleep(self.delay)
            self.emit(
                {
                    "sessionUpdate": kind,
                    "content": {"type": "text", "text": chunk},
                    "messageId": message_id,
                }
            )
        await self.sleep(self.delay)
        return message_id

    async def say(self, text: str, words: int = 3) -> str:
        """Stream an agent message."""
        return await self.stream(text, words=words)

    async def think(self, text: str) -> str:
        """Stream a thought in (at most) three chunks."""
        tokens = _TOKEN_RE.findall(text)
        per = max(1, -(-len(tokens) // 3))  # ceil: 2-3 chunks for any short thought
        return await self.stream(text, kind="agent_thought_chunk", words=per)

    def message(self, text: str) -> None:
        """One complete agent message in a single chunk (e.g. ``Compacting...``)."""
        self.emit(
            {
                "sessionUpdate": "agent_message_chunk",
                "content": {"type": "text", "text": text},
                "messageId": self.next_message_id(),
            }
        )

    def log(self, line: str) -> None:
        """A raw stderr line."""
        self.agent.writer.log(line)

    # ----------------------------------------------------------------- client requests
    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send a request to the client and wait for its response message.

        Returns the whole response (``result`` or ``error`` key). If the turn is cancelled
        meanwhile, the request is abandoned (its late answer is discarded) and
        :class:`TurnCancelled` is raised.
        """
        _, future = self.agent.send_request(method, params)
        return await self.wait_response(future)

    async def wait_response(self, future: asyncio.Future[dict[str, Any]]) -> dict[str, Any]:
        """Wait for ``future`` or for cancellation, whichever comes first."""
        self.check()
        waiter = asyncio.ensure_future(self.cancelled.wait())
        try:
            await asyncio.wait({future, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if future.done():
            return future.result()
        raise TurnCancelled

    # ----------------------------------------------------------------- tool calls
    def tool_call(self, title: str, kind: str, **fields: Any) -> str:
        """Announce a tool call (status pending unless given); returns its id."""
        call_id = self.next_tool_call_id()
        update = {
            "sessionUpdate": "tool_call",
            "toolCallId": call_id,
            "title": title,
            "kind": kind,
            "status": "pending",
        }
        update.update(fields)
        self.emit(update)
        return call_id

    def tool_update(self, call_id: str, *, force: bool = False, **fields: Any) -> None:
        """Patch a tool call (only the changed fields)."""
        self.emit(
            {"sessionUpdate": "tool_call_update", "toolCallId": call_id, **fields}, force=force
        )

    def plan(self, entries: list[tuple[str, str, str]]) -> None:
        """Send the complete plan: ``(content, priority, status)`` per entry."""
        self.emit(
            {
                "sessionUpdate": "plan",
                "entries": [{"content": c, "priority": p, "status": s} for c, p, s in entries],
            }
        )
