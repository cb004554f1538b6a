"""Compaction detectors (SPEC §4.6): pure functions from agent output to signals.

Three sources, each tolerant of version drift (only the markers are required):
1. Hermes stderr lines (``context compression started:`` / ``done:``), source ``hermes_stderr``.
2. The unstable ACP ``compaction_update`` session update, source ``acp``.
3. claude-agent-acp style text markers (``Compacting...`` etc.), source ``agent_text``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from amux_tui.engine import frames as F

HERMES_STARTED = "context compression started:"
HERMES_DONE = "context compression done:"


@dataclass(slots=True)
class CompactionSignal:
    """A detected compaction start (``done is False``) or end."""

    done: bool
    source: str
    outcome: str | None = None  # done only: completed | failed | cancelled
    fields: dict[str, Any] = field(default_factory=dict)  # detector fields for the frame


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
    if "context compression " not in line:  # cheap reject for the stderr flood path
        return None
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
