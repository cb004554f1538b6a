"""Imitates Codex through ``@zed-industries/codex-acp``: permission request ids are string
UUIDs, sent *before* any ``tool_call`` with that id; ``/compact`` streams
``Context compacted\\n`` and a "Heads up…" chunk (no structured signal).
"""

from __future__ import annotations

import sys
from typing import Any

from acp_script import ScriptedAgent

PERMISSION_ID = "6f1c2b7e-3d4a-4b9e-8c21-0a5f9e7d1b33"
HEADS_UP = (
    "Heads up: Long conversations and multiple compactions can cause the model to be less "
    "accurate. Start a new conversation when possible to keep conversations small and targeted."
)


class CodexLike(ScriptedAgent):
    name = "codex"
    capabilities: dict[str, Any] = {
        "loadSession": True,
        "sessionCapabilities": {"list": {}, "resume": {}, "close": {}},
    }

    def prompt(self, text: str) -> str:
        if text == "/compact":
            self.say("Context compacted\n")
            self.say(HEADS_UP)
            return "end_turn"
        tool = {"toolCallId": "call_7Qx", "title": "pytest -q", "kind": "execute"}
        options = [
            {"optionId": "approved", "name": "Yes", "kind": "allow_once"},
            {"optionId": "abort", "name": "No, provide feedback", "kind": "reject_once"},
        ]
        result = self.request(
            "session/request_permission",
            {"sessionId": self.session_id, "toolCall": tool, "options": options},
            request_id=PERMISSION_ID,
        )
        allowed = ((result or {}).get("outcome") or {}).get("optionId") == "approved"
        self.update("tool_call", **tool, status="in_progress")
        content = [{"type": "content", "content": {"type": "text", "text": "3 passed in 0.02s"}}]
        if allowed:
            self.update("tool_call_update", toolCallId="call_7Qx", status="completed",
                        content=content)  # fmt: skip
            self.say("All 3 tests pass.")
        else:
            self.update("tool_call_update", toolCallId="call_7Qx", status="failed")
            self.say("Not run.")
        return "end_turn"


if __name__ == "__main__":
    CodexLike(sys.argv[1:]).run()
