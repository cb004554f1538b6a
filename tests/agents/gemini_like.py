"""Imitates Gemini CLI 0.61 (``gemini --acp``): ``loadSession`` only, and on
``session/load`` it **answers first and streams the replayed history afterwards** (the
spec says before): user and agent chunks, its function calls replayed as agent text
``[Function Call: …]`` and their results as *user* chunks ``[Function Response: …]``, a
replayed tool call, then a current command list (not history).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from acp_script import ScriptedAgent


class GeminiLike(ScriptedAgent):
    name = "gemini"
    capabilities: dict[str, Any] = {"loadSession": True}

    def prompt(self, text: str) -> str:
        reply = f"Gemini read {text}."
        self.say(reply)
        self.remember("agent", reply)
        return "end_turn"

    def load(self, request_id: Any, session_id: str) -> None:
        self.session_id = session_id
        self.sessions.setdefault(session_id, {})
        self.answer(request_id, {})
        for role, text in self.session.get("history", []):
            if role == "user":
                self.say(text, "user_message_chunk")
                call = json.dumps({"command": "ls"})
                self.say(f"[Function Call: run_shell_command({call})]", "agent_thought_chunk")
                self.say(f"[Function Call: run_shell_command({call})]")
                self.say("[Function Response: run_shell_command: README.md]",
                         "user_message_chunk")  # fmt: skip
                self.update("tool_call", toolCallId="replayed-1", title="ls", status="completed")
                self.update("plan", entries=[{"content": "replayed", "status": "completed",
                                              "priority": "low"}])  # fmt: skip
            else:
                self.say(text)
        self.update(
            "available_commands_update",
            availableCommands=[{"name": "memory", "description": "Manage memory"}],
        )


if __name__ == "__main__":
    GeminiLike(sys.argv[1:]).run()
