"""Compaction detectors (SPEC §4.6): pure functions from agent output to signals, and the
:class:`CompactionTracker` that turns signals into compactions.

Three sources, each tolerant of version drift (only the markers are required):
1. Hermes stderr lines (``context compression started:`` / ``done:``), source ``hermes_stderr``;
   ``Compression summary failed`` before a done makes that done a failure.
2. The unstable ACP ``compaction_update`` session update, source ``acp``.
3. claude-agent-acp style text markers (``Compacting...`` etc.), source ``agent_text``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from amux_tui.engine import frames as F

HERMES_STARTED = "context compression started:"
HERMES_DONE = "context compression done:"
HERMES_SUMMARY_FAILED = "Compression summary failed"


class CompactionSignal(msgspec.Struct):
    """A detected compaction start (``done is False``) or end, or a ``failure`` remark
    about the compaction under way (Hermes: its summary failed; neither start nor end)."""

    done: bool
    source: str
    outcome: str | None = None  # done only: completed | failed | cancelled
    fields: dict[str, Any] = msgspec.field(default_factory=dict)  # detector fields for the frame
    failure: str | None = None


def _digits(value: str) -> int | None:
    """``~72,908`` → 72908; no digits → None (Hermes prints approximations)."""
    digits = "".join(ch for ch in value if ch.isascii() and ch.isdigit())
    return int(digits) if digits else None


def _tokens(rest: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for token in rest.split():
        key, sep, value = token.partition("=")
        if sep and key:
            pairs[key] = value
    return pairs


def parse_hermes_line(line: str) -> CompactionSignal | None:
    """Parse one Hermes stderr line; ``None`` when it is not a compaction marker."""
    if "ompression " not in line:  # cheap reject for the stderr flood path
        return None
    pos = line.find(HERMES_SUMMARY_FAILED)
    if pos >= 0:  # "⚠ Compression summary failed: <why>. Inserted a fallback context marker."
        why = line[pos + len(HERMES_SUMMARY_FAILED) :].lstrip(": ").strip()
        return CompactionSignal(False, F.SOURCE_HERMES, failure=why or "summary failed")
    pos = line.find(HERMES_STARTED)
    if pos >= 0:
        kv = _tokens(line[pos + len(HERMES_STARTED) :])
        out: dict[str, Any] = {}
        if kv.get("session"):
            out["hermesSessionId"] = kv["session"]
        if (n := _digits(kv.get("messages", ""))) is not None:
            out["messagesBefore"] = n
        tokens = kv.get("tokens", kv.get("rough_tokens", ""))
        if (n := _digits(tokens)) is not None:
            out["tokensApproxBefore"] = n
        if kv.get("model"):
            out["model"] = kv["model"]
        if kv.get("focus") and kv["focus"] != "None":
            out["focus"] = kv["focus"]
        return CompactionSignal(False, F.SOURCE_HERMES, fields=out)
    pos = line.find(HERMES_DONE)
    if pos >= 0:
        kv = _tokens(line[pos + len(HERMES_DONE) :])
        out = {}
        if kv.get("session"):
            out["hermesSessionId"] = kv["session"]
        messages = kv.get("messages", "").replace("→", "->")
        before, arrow, after = messages.partition("->")
        if (n := _digits(before)) is not None:
            out["messagesBefore"] = n
        if arrow and (n := _digits(after)) is not None:
            out["messagesAfter"] = n
        tokens = kv.get("rough_tokens", kv.get("tokens", ""))
        if (n := _digits(tokens)) is not None:
            out["tokensApproxAfter"] = n
        return CompactionSignal(True, F.SOURCE_HERMES, outcome="completed", fields=out)
    return None


_ACP_DONE = {"completed": "completed", "failed": "failed", "cancelled": "cancelled"}


def signal_from_update(update: Any) -> CompactionSignal | None:
    """Detect compaction in a ``session/update`` ``update`` object (ACP or text markers)."""
    if not isinstance(update, dict):
        return None
    kind = update.get("sessionUpdate")
    if kind == F.COMPACTION_UPDATE:
        status = update.get("status")
        out: dict[str, Any] = {}
        if isinstance(update.get("compactionId"), str):
            out["compactionId"] = update["compactionId"]
        if status == "in_progress":
            return CompactionSignal(False, F.SOURCE_ACP, fields=out)
        if status in _ACP_DONE:
            return CompactionSignal(True, F.SOURCE_ACP, outcome=_ACP_DONE[status], fields=out)
        return None
    if kind == F.AGENT_MESSAGE_CHUNK:
        content = update.get("content")
        if not isinstance(content, dict):
            return None
        text = content.get("text")
        if not isinstance(text, str) or not text.startswith(("Compacting", " ", "\n", "\t")):
            return None
        text = text.strip()
        if text == "Compacting...":
            return CompactionSignal(False, F.SOURCE_AGENT_TEXT)
        if text == "Compacting completed.":
            return CompactionSignal(True, F.SOURCE_AGENT_TEXT, outcome="completed")
        if text == "Compacting failed." or text.startswith("Compacting failed:"):
            return CompactionSignal(True, F.SOURCE_AGENT_TEXT, outcome="failed")
    return None


class CompactionEvent(msgspec.Struct):
    """What the room does for a signal: record ``amux/context_compaction_started`` or
    ``_done`` (``record``), and for a Hermes done rotate the segment (``provenance``)."""

    done: bool
    source: str
    fields: dict[str, Any]
    outcome: str = "completed"
    record: bool = True  # False: another detector already reported this compaction's end
    provenance: dict[str, Any] | None = None


class CompactionTracker:
    """Detector signals → compactions, as the room records them (pure, no I/O).

    One compaction may be reported by several detectors (the demo's ``/compact all``:
    Hermes stderr and ``compaction_update``, read from two pipes in either order). Within
    one turn, a detector that has not reported yet joins the compaction under way (or
    just finished) instead of starting another, so it counts once. A Hermes
    ``Compression summary failed`` remark makes the next Hermes done a failure: messages
    were dropped without a summary. A Hermes done says whether the session was compacted
    in place (same Hermes session before and after: Hermes 0.19) or split into a new one.
    """

    def __init__(self) -> None:
        self._turn: object = _NO_TURN
        self._reported: set[str] = set()  # detectors that reported this compaction
        self._finished: set[str] = set()  # … and those that reported its end
        self._failure: str | None = None
        self._hermes_session: Any = None  # from the Hermes start line

    def signal(self, signal: CompactionSignal, turn_id: str | None) -> CompactionEvent | None:
        """The event for ``signal`` during turn ``turn_id``; None when there is none."""
        if turn_id is not None and turn_id != self._turn:
            # Compactions never span turns (the settlement bound). Outside a turn the last
            # turn's compaction stays known: stderr is a pipe of its own, so a detector's
            # report of it can arrive after the prompt's answer settled the turn.
            self._turn, self._failure = turn_id, None
            self._reported, self._finished = set(), set()
        source = signal.source
        if signal.failure is not None:
            self._failure = signal.failure
            return None
        hermes = source == F.SOURCE_HERMES
        if not signal.done:
            if self._reported and source not in self._reported:
                self._reported.add(source)  # another detector saw the same compaction
                return None
            self._reported, self._finished = {source}, set()
            if hermes:
                self._hermes_session = signal.fields.get("hermesSessionId")
            return CompactionEvent(False, source, dict(signal.fields))
        event = CompactionEvent(True, source, dict(signal.fields), signal.outcome or "completed")
        if self._finished and source not in self._finished:
            event.record = False  # a second detector confirming the same end
        elif source in self._finished:  # the same detector again: a new compaction
            self._reported, self._finished = set(), set()
        self._reported.add(source)
        self._finished.add(source)
        if hermes:
            event.provenance = self._provenance(event.fields.get("hermesSessionId"))
            if self._failure is not None:
                event.outcome = "failed"
                event.fields["failure"] = self._failure
                self._failure = None
        return event

    def _provenance(self, after: Any) -> dict[str, Any]:
        """What the Hermes compaction did to its session, for the segment it opens."""
        before = self._hermes_session
        provenance: dict[str, Any] = {"lastReason": "compaction"}
        if isinstance(after, str):
            provenance["hermesSessionId"] = after
        if isinstance(before, str) and isinstance(after, str):
            provenance["lastMode"] = "in_place" if before == after else "session_split"
            if before != after:
                provenance["previousHermesSessionId"] = before
        return provenance


_NO_TURN = object()
