"""The loop shared by the scripted agents that imitate real ACP agents (tests/agents/*_like.py).

Each imitation subclasses :class:`ScriptedAgent` and answers prompts the way its real agent
does on the wire (see /work/shared/reference/agents-and-peers.md); this module only speaks
ACP: ``initialize``, ``session/new``, ``session/load``, ``session/resume``,
``session/prompt``, ``session/cancel``, and requests to the client (a permission) whose
answer it waits for. Sessions are remembered in a JSON file under ``--state DIR`` (or a
temporary directory), so a restarted agent can load them. Run as
``python tests/agents/<name>_like.py [--state DIR]``; it exits on stdin EOF.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any


class ScriptedAgent:
    """One ACP agent on stdin/stdout; subclasses override :meth:`prompt` and the hooks."""

    name = "scripted"
    capabilities: dict[str, Any] = {"loadSession": True}

    def __init__(self, argv: list[str]) -> None:
        state = argv[argv.index("--state") + 1] if "--state" in argv else tempfile.mkdtemp()
        self.state = Path(state)
        self.state.mkdir(parents=True, exist_ok=True)
        self.sessions: dict[str, dict[str, Any]] = self._read_sessions()
        self.session_id = ""
        self._next_request = 0  # ids of our requests to the client (Claude starts at 0)
        self._inbox: list[dict[str, Any]] = []

    # ---- wire ----------------------------------------------------------------------------
    def send(self, obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    def stderr(self, line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def answer(self, request_id: Any, result: Any) -> None:
        self.send({"jsonrpc": "2.0", "id": request_id, "result": result})

    def update(self, kind: str, /, **fields: Any) -> None:
        """A ``session/update`` for the current session."""
        update = {"sessionUpdate": kind, **fields}
        self.send(
            {
                "jsonrpc": "2.0",
                "method": "session/update",
                "params": {"sessionId": self.session_id, "update": update},
            }
        )

    def say(self, text: str, kind: str = "agent_message_chunk", /, **fields: Any) -> None:
        self.update(kind, content={"type": "text", "text": text}, **fields)

    def request(self, method: str, params: dict[str, Any], request_id: Any = None) -> Any:
        """Send a request to the client and wait for its answer (other messages wait)."""
        if request_id is None:
            request_id, self._next_request = self._next_request, self._next_request + 1
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        while True:
            msg = self._read()
            if msg is None:
                raise SystemExit(0)
            if msg.get("id") == request_id and "method" not in msg:
                return msg.get("result")
            self._inbox.append(msg)

    def _read(self) -> dict[str, Any] | None:
        line = sys.stdin.readline()
        while line and not line.strip():
            line = sys.stdin.readline()
        return json.loads(line) if line else None

    # ---- sessions ------------------------------------------------------------------------
    def _sessions_file(self) -> Path:
        return self.state / f"{self.name}-sessions.json"

    def _read_sessions(self) -> dict[str, dict[str, Any]]:
        try:
            return json.loads(self._sessions_file().read_text())
        except (OSError, ValueError):
            return {}

    def save(self) -> None:
        self._sessions_file().write_text(json.dumps(self.sessions))

    @property
    def session(self) -> dict[str, Any]:
        return self.sessions[self.session_id]

    def remember(self, role: str, text: str) -> None:
        """Keep a line of the conversation (what a later load replays)."""
        self.session.setdefault("history", []).append([role, text])
        self.save()

    # ---- hooks ---------------------------------------------------------------------------
    def new_session_id(self) -> str:
        return f"{self.name}-{len(self.sessions) + 1}"

    def prompt(self, text: str) -> str:
        """Answer one prompt (send updates); returns the stop reason."""
        self.say(f"echo: {text}")
        return "end_turn"

    def after_prompt(self, text: str) -> None:
        """Updates sent after the prompt response (Hermes' title)."""

    def load(self, request_id: Any, session_id: str) -> None:
        """``session/load``: replay the history, then answer (what the spec asks)."""
        self.session_id = session_id
        self.sessions.setdefault(session_id, {})
        for role, text in self.session.get("history", []):
            self.say(text, "user_message_chunk" if role == "user" else "agent_message_chunk")
        self.answer(request_id, {})

    # ---- the loop ------------------------------------------------------------------------
    def run(self) -> None:
        while True:
            msg = self._inbox.pop(0) if self._inbox else self._read()
            if msg is None:
                return
            method, rid = msg.get("method"), msg.get("id")
            params = msg.get("params") or {}
            if method is None or rid is None:
                continue  # responses we did not wait for, session/cancel: nothing to do
            if method == "initialize":
                self.answer(
                    rid,
                    {
                        "protocolVersion": 1,
                        "agentCapabilities": self.capabilities,
                        "agentInfo": {"name": self.name, "version": "0.0-test"},
                        "authMethods": [],
                    },
                )
            elif method == "session/new":
                self.session_id = self.new_session_id()
                self.sessions[self.session_id] = {}
                self.save()
                self.answer(rid, {"sessionId": self.session_id})
            elif method in ("session/load", "session/resume"):
                self.load(rid, params.get("sessionId", ""))
            elif method == "session/prompt":
                blocks = params.get("prompt") or []
                text = "".join(b.get("text", "") for b in blocks if isinstance(b, dict))
                self.remember("user", text)
                stop = self.prompt(text)
                self.answer(rid, {"stopReason": stop})
                self.after_prompt(text)
            else:
                self.send(
                    {
                        "jsonrpc": "2.0",
                        "id": rid,
                        "error": {"code": -32601, "message": f"Method not found: {method}"},
                    }
                )
