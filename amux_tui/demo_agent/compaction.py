"""The ``/compact [style]`` scenario: every way real agents signal context compaction.

* ``hermes`` — Hermes Agent's current stderr lines (``rough_tokens=`` in the done line);
* ``hermes-old`` — older Hermes builds (``tokens=`` in the done line);
* ``acp`` / ``acp-failed`` — the unstable ``compaction_update`` session update, sent only
  if the client advertised ``clientCapabilities.session.compaction``;
* ``text`` / ``text-failed`` — claude-agent-acp's ``Compacting...`` message markers;
* ``stranded`` — a start signal that is never followed by a done (the turn just ends);
* ``all`` — ``hermes`` and ``acp`` together.

With ``AMUX_DEMO_GATE`` set, every style holds right after its start signal until the gate
file exists, so a client's "compacting" state lasts until the file is created.
"""

from __future__ import annotations

from datetime import datetime

from amux_tui.demo_agent.sessions import BASE_TOKENS
from amux_tui.demo_agent.turn import Turn

STYLES = ("hermes", "hermes-old", "acp", "acp-failed", "text", "text-failed", "stranded", "all")

_LOGGER = "agent.conversation_compression"
HERMES_BANNER = "🗜️ Compacting context — summarizing earlier conversation so I can continue..."


def hermes_session_id(turn: Turn) -> str:
    """An id shaped like Hermes' (``20260527_202251_df54bf``), stable per session."""
    try:
        created = datetime.fromisoformat(turn.session.createdAt.replace("Z", "+00:00"))
    except ValueError:
        created = datetime(2026, 1, 1)
    return f"{created:%Y%m%d_%H%M%S}_{turn.session_id[-6:]}"


def _client_supports_acp(turn: Turn) -> bool:
    return turn.agent.client_supports_compaction


def _acp_update(turn: Turn, compaction_id: str, status: str, **fields: object) -> None:
    turn.emit(
        {"sessionUpdate": "compaction_update", "compactionId": compaction_id, "status": status}
        | fields
    )


def _finish(turn: Turn) -> None:
    """The context now starts after this point: usage drops visibly."""
    turn.session.contextStart = len(turn.session.updates)
    turn.session.compactions += 1


async def run_compaction(turn: Turn, args: list[str]) -> str:
    """Run one compaction in ``args[0]`` style (default ``hermes``), then a short reply."""
    style = args[0].lower() if args else "hermes"
    if style not in STYLES:
        await turn.say(
            f"Unknown compaction style `{style}`. Try one of: "
            + ", ".join(f"`{s}`" for s in STYLES)
            + ".\n"
        )
        return "end_turn"

    pause = max(turn.delay * 10, 0.01)
    hid = hermes_session_id(turn)
    messages = 2 * len(turn.session.prompts) + 1
    before = turn.session.used_tokens()
    after_messages = min(messages, 4)
    after_tokens = BASE_TOKENS  # what used_tokens() reports once the context is cleared
    compaction_id = f"compaction-{turn.number}"
    notes: list[str] = []

    use_hermes = style in ("hermes", "hermes-old", "stranded", "all")
    use_acp = style in ("acp", "acp-failed", "stranded", "all")
    use_text = style in ("text", "text-failed")
    if use_acp and not _client_supports_acp(turn):
        notes.append(
            "This client did not advertise `clientCapabilities.session.compaction`, "
            "so I did not send `compaction_update`."
        )
        use_acp = False

    # ---- started
    if use_hermes:
        turn.agent.writer.info(
            _LOGGER,
            f"context compression started: session={hid} messages={messages} "
            f"tokens=~{before:,} model=demo-model focus=None",
        )
        turn.log(HERMES_BANNER)
    if use_acp:
        _acp_update(turn, compaction_id, "in_progress")
    if use_text:
        turn.message("Compacting...")
    await turn.hold()

    if style == "stranded":
        # Never a done signal: the client must clear its badge when the turn settles.
        await turn.sleep(pause)
        await turn.say(
            "I started compacting the context but never finished (no done signal was sent). "
            "The turn ends normally now.\n" + "".join("\n" + note + "\n" for note in notes)
        )
        return "end_turn"

    await turn.sleep(pause)

    # ---- done
    failed = style in ("acp-failed", "text-failed")
    if use_hermes:
        tail = (
            f"tokens=~{after_tokens:,}"
            if style == "hermes-old"
            else f"rough_tokens=~{after_tokens} awaiting_real_usage=true"
        )
        turn.agent.writer.info(
            _LOGGER,
            f"context compression done: session={hid} messages={messages}->{after_messages} "
            + tail,
        )
    if use_acp:
        if failed:
            _acp_update(turn, compaction_id, "failed", error="demo: the summarizer is unavailable")
        else:
            _acp_update(
                turn,
                compaction_id,
                "completed",
                summary=[
                    {
                        "type": "text",
                        "text": f"Summary of {messages} earlier messages of this demo session.",
                    }
                ],
            )
    if use_text:
        turn.message("Compacting failed." if failed else "Compacting completed.")

    if failed:
        reply = f"Compaction failed ({style}); the context is unchanged.\n"
    else:
        _finish(turn)
        reply = (
            f"Context compacted ({style}, #{turn.session.compactions}): "
            f"{messages} messages became {after_messages}, "
            f"about {before:,} tokens became {after_tokens:,}.\n"
        )
    if notes:
        reply += "\n" + "\n".join(notes) + "\n"
    await turn.say(reply)
    return "end_turn"
