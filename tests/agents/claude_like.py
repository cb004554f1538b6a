"""Imitates Claude Code through ``claude-agent-acp``: its tool output arrives as a Markdown
fence (```` ```console ````) inside the tool call's content, and its permission requests
are numbered from **0**. It also reports ``usage_update`` with a 1,000,000-token window.

Any prompt: a ``tool_call`` (pending), a permission request (id 0; options allow always /
allow once / reject), then on allow the tool call completes with fenced output and a reply.
"""

from __future__ import annotations

import sys
from typing import Any

from acp_script import ScriptedAgent

OUTPUT = "```console\n$ ls -la\ntotal 8\n-rw-r--r-- 1 me me 120 README.md\n-rw-r--r-- 1 me me  42 app.py\n```"


class ClaudeLike(ScriptedAgent):
    name = "claude"
    capabilities: dict[str, Any] = {
        "loadSession": True,
        "sessionCapabilities": {
            "additionalDirectories": {},
            "close": {},
            "fork": {},
            "list": {},
            "resume": {},
        },  # fmt: skip
    }

    def prompt(self, text: str) -> str:
        tool = {"toolCallId": "toolu_01", "title": "ls -la", "kind": "execute"}
        self.update("tool_call", **tool, status="pending", rawInput={"command": "ls -la"})
        options = [
            {"optionId": "allow_always", "name": "Always Allow", "kind": "allow_always"},
            {"optionId": "allow", "name": "Allow", "kind": "allow_once"},
            {"optionId": "reject", "name": "Reject", "kind": "reject_once"},
        ]
        result = self.request(
            "session/request_permission",
            {"sessionId": self.session_id, "toolCall": tool, "options": options},
        )
        outcome = (result or {}).get("outcome") or {}
        if outcome.get("optionId") not in ("allow", "allow_always"):
            self.update("tool_call_update", toolCallId="toolu_01", status="failed")
            self.say("The user refused.")
            return "end_turn"
        self.update("tool_call_update", toolCallId="toolu_01", status="in_progress")
        content = [{"type": "content", "content": {"type": "text", "text": OUTPUT}}]
        self.update("tool_call_update", toolCallId="toolu_01", status="completed", content=content)
        self.update("usage_update", used=23_000, size=1_000_000)
        self.say("Two files: `README.md` and `app.py`.")
        return "end_turn"


if __name__ == "__main__":
    ClaudeLike(sys.argv[1:]).run()
