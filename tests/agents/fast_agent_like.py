"""Imitates fast-agent 0.10 (``fast-agent acp``): ``{list, resume}``, never asks
permission, announces only the first tool call and **never completes it** (it stays
``pending`` after the turn ends), sends coarse chunks, and writes plain-text lists with
single ``\\n`` line breaks.
"""

from __future__ import annotations

import sys
from typing import Any

from acp_script import ScriptedAgent

COMMANDS = (
    "Available commands:\n/help - show this help\n/clear - forget the conversation\n"
    "/model - switch the model\n/tools - list MCP tools"
)


class FastAgentLike(ScriptedAgent):
    name = "fast-agent"
    capabilities: dict[str, Any] = {"sessionCapabilities": {"list": {}, "resume": {}}}

    def prompt(self, text: str) -> str:
        self.update("tool_call", toolCallId="fetch-1", title="fetch https://example.com",
                    kind="fetch", status="pending")  # fmt: skip
        self.say(COMMANDS)
        self.say("\n\nThe page says hello.")
        return "end_turn"

    def load(self, request_id: Any, session_id: str) -> None:  # session/resume
        self.session_id = session_id
        self.sessions.setdefault(session_id, {})
        self.answer(request_id, {"sessionId": session_id})


if __name__ == "__main__":
    FastAgentLike(sys.argv[1:]).run()
