"""The ``/permission [N|withdraw]`` scenario: ``session/request_permission`` round trips.

``/permission 2`` sends both requests before awaiting either, so a client sees two pending
requests at once (its FIFO queue is exercised). ``/permission withdraw`` asks, then takes the
question back with ``$/cancel_request`` (the client should resolve it as agent-cancelled).
"""

from __future__ import annotations

import os
from typing import Any

from amux_tui.demo_agent.turn import Turn, TurnCancelled

OPTIONS: list[dict[str, str]] = [
    {"optionId": "allow", "name": "Allow once", "kind": "allow_once"},
    {"optionId": "allow-always", "name": "Always allow", "kind": "allow_always"},
    {"optionId": "reject", "name": "Reject", "kind": "reject_once"},
    {"optionId": "reject-always", "name": "Always reject", "kind": "reject_always"},
]
_BY_ID = {opt["optionId"]: opt for opt in OPTIONS}


def text_content(text: str) -> dict[str, Any]:
    """A tool-call content item holding plain text."""
    return {"type": "content", "content": {"type": "text", "text": text}}


def _parse(args: list[str]) -> tuple[int, str | None]:
    """``(count, mode)`` from the scenario arguments; mode is withdraw, abandon or None."""
    count, withdraw = 1, None
    for arg in args:
        if arg.lower() in ("withdraw", "abandon"):
            withdraw = arg.lower()
        elif arg.isdigit():
            count = max(1, min(int(arg), 9))
    return count, withdraw


async def run_permission(turn: Turn, args: list[str]) -> str:
    """Ask ``count`` permissions at once, act on each answer in order, then report."""
    count, withdraw = _parse(args)
    plural = "s" if count > 1 else ""
    await turn.think(
        f"Writing files needs the user's consent; I'll ask for {count} permission{plural}."
    )

    asks: list[tuple[str, str, Any, Any]] = []
    for i in range(count):
        name = "notes.txt" if count == 1 else f"notes-{i + 1}.txt"
        path = os.path.join(turn.session.cwd, name)
        title = f"Write {name}"
        call_id = turn.tool_call(
            title,
            "edit",
            locations=[{"path": path}],
            rawInput={"path": path, "content": "remember the milk\n"},
        )
        params = {
            "sessionId": turn.session_id,
            "toolCall": {
                "toolCallId": call_id,
                "title": title,
                "kind": "edit",
                "status": "pending",
                "content": [text_content(f"Create {path} with one line of text.")],
            },
            "options": OPTIONS,
        }
        request_id, future = turn.agent.send_request("session/request_permission", params)
        asks.append((call_id, name, request_id, future))

    if withdraw == "abandon":
        # Ends the turn with the question still open: the client must sweep it itself.
        await turn.say("I asked, but I am ending the turn without waiting for the answer.\n")
        return "end_turn"
    if withdraw:
        await turn.sleep(max(turn.delay * 10, 0.05))
        for call_id, _name, request_id, _future in asks:
            turn.agent.writer.notify("$/cancel_request", {"requestId": request_id})
            turn.tool_update(
                call_id, status="failed", content=[text_content("Permission request withdrawn.")]
            )
        await turn.say(
            f"I withdrew the permission request{plural} (`$/cancel_request`) without waiting.\n"
        )
        return "end_turn"

    lines: list[str] = []
    for index, (call_id, name, _request_id, future) in enumerate(asks):
        try:
            response = await turn.wait_response(future)
        except TurnCancelled:
            # Abandon the open questions; report the tool calls as not run (allowed after cancel).
            for pending_call, *_ in asks[index:]:
                turn.tool_update(pending_call, status="failed", force=True)
            raise
        if "error" in response:
            err = response.get("error") or {}
            turn.tool_update(
                call_id, status="failed", content=[text_content("Permission request failed.")]
            )
            lines.append(
                f"- `{name}`: the permission request failed with error "
                f"{err.get('code')} ({err.get('message')})."
            )
            continue
        result = response.get("result") or {}
        outcome = result.get("outcome") if isinstance(result, dict) else None
        outcome = outcome if isinstance(outcome, dict) else {}
        if outcome.get("outcome") == "cancelled":
            for pending_call, *_ in asks[index:]:
                turn.tool_update(pending_call, status="failed", force=True)
            turn.cancel("permission")  # the user dismissed the question: the turn ends
            raise TurnCancelled
        option_id = outcome.get("optionId")
        option = _BY_ID.get(option_id) if isinstance(option_id, str) else None
        if option is None:
            turn.tool_update(call_id, status="failed", content=[text_content("Unknown option.")])
            lines.append(f"- `{name}`: unknown option `{option_id}`, so I did not write it.")
        elif option["kind"].startswith("allow"):
            turn.tool_update(call_id, status="in_progress")
            await turn.sleep(turn.delay * 3)
            turn.tool_update(
                call_id,
                status="completed",
                content=[text_content(f"Wrote 1 line to {name} (demo: nothing touched the disk).")],
            )
            lines.append(f"- `{name}`: allowed with **{option['name']}** (`{option_id}`); written.")
        else:
            turn.tool_update(
                call_id, status="failed", content=[text_content("Rejected by the user.")]
            )
            lines.append(
                f"- `{name}`: rejected with **{option['name']}** (`{option_id}`); not written."
            )
    await turn.say("Permission results:\n\n" + "\n".join(lines) + "\n")
    return "end_turn"
