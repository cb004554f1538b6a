"""The demo agent's protocol loop: ACP over stdio, one JSON object per line.

A reader task reads stdin and dispatches every request as its own task, so a
``session/cancel`` (or ``$/cancel_request``) is seen while a prompt is still streaming.
Responses to the agent's own requests (permission, fs) are matched by its own id counter,
which starts at 0 like Hermes' so clients must keep per-direction id spaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

import msgspec

from amux_tui import __version__
from amux_tui.demo_agent import scenarios
from amux_tui.demo_agent.config import Knobs
from amux_tui.demo_agent.rpc import (
    AUTH_REQUIRED,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    REQUEST_CANCELLED,
    RESOURCE_NOT_FOUND,
    InFlight,
    RpcError,
)
from amux_tui.demo_agent.sessions import CONTEXT_SIZE, Session, SessionStore, now_iso
from amux_tui.demo_agent.turn import Turn, TurnCancelled
from amux_tui.demo_agent.wire import Writer, encode

# stdin lines may be large (a pasted file in a prompt); asyncio's default limit is 64 KiB.
LINE_LIMIT = 256 * 1024 * 1024
REPLAY_BATCH = 500  # session/load replay: updates per write

MODES = [{"id": "default", "name": "Default"}, {"id": "plan", "name": "Plan"}]
MODE_IDS = {m["id"] for m in MODES}


class DemoAgent:
    """State of one demo agent process."""

    def __init__(self, knobs: Knobs, writer: Writer | None = None) -> None:
        self.knobs = knobs
        self.writer = writer or Writer(report_dir=knobs.stdout_report)
        self.store = SessionStore(knobs.state_dir)
        self.sessions: dict[str, Session] = {}
        self.turns: dict[str, Turn] = {}
        self.inflight: dict[Any, InFlight] = {}
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.next_request_id = 0
        self.client_capabilities: dict[str, Any] = {}
        self.authenticated = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._decoder = msgspec.json.Decoder()
        self.handlers: dict[str, Callable[[Any, InFlight], Any]] = {
            "initialize": self.initialize,
            "authenticate": self.authenticate,
            "session/new": self.session_new,
            "session/load": self.session_load,
            "session/resume": self.session_resume,
            "session/list": self.session_list,
            "session/set_mode": self.session_set_mode,
            "session/prompt": self.session_prompt,
        }

    # ================================================================= plumbing
    @property
    def client_supports_compaction(self) -> bool:
        """Did the client advertise ``clientCapabilities.session.compaction``?"""
        session = self.client_capabilities.get("session")
        return isinstance(session, dict) and isinstance(session.get("compaction"), dict)

    def send_request(
        self, method: str, params: dict[str, Any]
    ) -> tuple[int, asyncio.Future[dict[str, Any]]]:
        """Send a request to the client; the future gets the whole response message."""
        req_id = self.next_request_id
        self.next_request_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[req_id] = future
        self.writer.request(req_id, method, params)
        return req_id, future

    def hard_exit(self, code: int) -> None:
        """Leave at once (``/crash``): flush what was written, skip all cleanup."""
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def run(self, reader: asyncio.StreamReader) -> None:
        """Read and dispatch lines until stdin closes, then finish in-flight work."""
        while True:
            try:
                line = await reader.readline()
            except ValueError:  # longer than LINE_LIMIT: skip it, keep serving
                self.writer.log("amux-demo: dropped an oversized input line")
                continue
            if not line:
                break
            self.dispatch_line(line)
            # Let a just-spawned handler start (a prompt registers its turn before its
            # first await), so a session/cancel right behind it on the wire finds the turn.
            await asyncio.sleep(0)
        # stdin closed: the client is shutting us down. Stop turns, let answers go out.
        for turn in list(self.turns.values()):
            turn.cancel("eof")
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=2.0)

    def dispatch_line(self, line: bytes) -> None:
        """Classify one stdin line and act on it."""
        if not line.strip():
            return
        try:
            msg = self._decoder.decode(line)
        except msgspec.DecodeError:
            self.writer.error(None, PARSE_ERROR, "Parse error")
            return
        if not isinstance(msg, dict):
            self.writer.error(None, INVALID_REQUEST, "Invalid Request")
            return
        method = msg.get("method")
        if isinstance(method, str):
            params = msg.get("params")
            if "id" in msg:
                self._start_request(msg["id"], method, params)
            else:
                self._notification(method, params)
        elif "id" in msg and ("result" in msg or "error" in msg):
            future = self.pending.pop(msg["id"], None) if type(msg["id"]) is int else None
            if future is not None and not future.done():
                future.set_result(msg)
            # An answer to an abandoned request (e.g. after cancel) is simply dropped.
        elif "id" in msg:
            self.writer.error(msg["id"], INVALID_REQUEST, "Invalid Request")

    def _notification(self, method: str, params: Any) -> None:
        params = params if isinstance(params, dict) else {}
        if method == "session/cancel":
            turn = self.turns.get(params.get("sessionId"))  # type: ignore[arg-type]
            if turn is None:
                return
            if self.knobs.ignore_cancel:
                self.writer.log("amux-demo: ignoring session/cancel (AMUX_DEMO_IGNORE_CANCEL)")
                return
            turn.cancel("session/cancel")
        elif method == "$/cancel_request":
            self._cancel_request(params.get("requestId"))
        # Any other notification (including unknown `_` extensions) is ignored.

    def _cancel_request(self, request_id: Any) -> None:
        """Answer an in-flight client request with -32800."""
        try:
            info = self.inflight.get(request_id)
        except TypeError:  # unhashable id
            return
        if info is None or info.answered:
            return
        if info.turn is not None:
            # The prompt handler answers -32800 once the scenario has stopped.
            if not self.knobs.ignore_cancel:
                info.turn.cancel("$/cancel_request")
            return
        info.answered = True
        self.writer.error(request_id, REQUEST_CANCELLED, "Request cancelled")
        if info.task is not None:
            info.task.cancel()

    def _start_request(self, req_id: Any, method: str, params: Any) -> None:
        handler = self.handlers.get(method)
        if handler is None:
            self.writer.error(req_id, METHOD_NOT_FOUND, "Method not found", {"method": method})
            return
        info = InFlight()
        try:
            self.inflight[req_id] = info
        except TypeError:
            self.writer.error(None, INVALID_REQUEST, "Invalid Request")
            return
        info.task = self._spawn(self._handle(req_id, handler, params, info))

    async def _handle(
        self, req_id: Any, handler: Callable[[Any, InFlight], Any], params: Any, info: InFlight
    ) -> None:
        try:
            result = await handler(params if isinstance(params, dict) else {}, info)
        except RpcError as exc:
            if not info.answered:
                info.answered = True
                self.writer.error(req_id, exc.code, exc.message, exc.data)
        except asyncio.CancelledError:
            if not info.answered:  # shutdown: still never leave the client waiting
                info.answered = True
                self.writer.error(req_id, REQUEST_CANCELLED, "Request cancelled")
        except Exception as exc:  # a bug in a scenario must not kill the agent
            self.writer.log(traceback.format_exc())
            if not info.answered:
                info.answered = True
                self.writer.error(req_id, INTERNAL_ERROR, "Internal error", {"details": str(exc)})
        else:
            if not info.answered:
                info.answered = True
                self.writer.respond(req_id, result)
                for action in info.after:
                    action()
        finally:
            if self.inflight.get(req_id) is info:
                del self.inflight[req_id]

    # ================================================================= helpers
    def _notify_update(self, session_id: str, update: dict[str, Any]) -> None:
        self.writer.notify("session/update", {"sessionId": session_id, "update": update})

    def _announce(self, session: Session) -> None:
        """What real agents push right after new/load/resume: commands and usage."""
        self._notify_update(
            session.sessionId,
            {
                "sessionUpdate": "available_commands_update",
                "availableCommands": scenarios.available_commands(),
            },
        )
        self._send_usage(session)

    def _send_usage(self, session: Session) -> None:
        self._notify_update(
            session.sessionId,
            {"sessionUpdate": "usage_update", "used": session.used_tokens(), "size": CONTEXT_SIZE},
        )

    def _modes(self, session: Session) -> dict[str, Any]:
        return {"currentModeId": session.mode, "availableModes": MODES}

    def _require_auth(self) -> None:
        if self.knobs.auth_required and not self.authenticated:
            raise RpcError(
                AUTH_REQUIRED, "Authentication required", {"authMethods": ["demo-login"]}
            )

    @staticmethod
    def _cwd(params: dict[str, Any], fallback: str | None = None) -> str:
        cwd = params.get("cwd", fallback)
        if not isinstance(cwd, str) or not os.path.isabs(cwd):
            raise RpcError(INVALID_PARAMS, "Invalid params", {"details": "cwd must be absolute"})
        return cwd

    def _find(self, params: dict[str, Any]) -> Session:
        """The session named by ``params.sessionId``: in memory, else from disk."""
        session_id = params.get("sessionId")
        if not isinstance(session_id, str):
            raise RpcError(INVALID_PARAMS, "Invalid params", {"details": "sessionId missing"})
        session = self.sessions.get(session_id) or self.store.load(session_id)
        if session is None:
            raise RpcError(RESOURCE_NOT_FOUND, "Resource not found", {"sessionId": session_id})
        return session

    def _active(self, params: dict[str, Any]) -> Session:
        """A session opened in this process (new/load/resume) — prompts need one."""
        session_id = params.get("sessionId")
        session = self.sessions.get(session_id) if isinstance(session_id, str) else None
        if session is None:
            raise RpcError(RESOURCE_NOT_FOUND, "Resource not found", {"sessionId": session_id})
        return session

    async def _replay(self, session: Session) -> None:
        """Re-send the saved conversation as ``session/update``s, in order."""
        sid = session.sessionId
        updates = session.updates
        for start in range(0, len(updates), REPLAY_BATCH):
            self.writer.write_raw(
                b"".join(
                    encode(
                        {
                            "jsonrpc": "2.0",
                            "method": "session/update",
                            "params": {"sessionId": sid, "update": update},
                        }
                    )
                    for update in updates[start : start + REPLAY_BATCH]
                )
            )
            await asyncio.sleep(0)

    def _save(self, session: Session) -> None:
        session.updatedAt = now_iso()
        try:
            self.store.save(session)
        except OSError as exc:  # a full disk must not end the conversation
            self.writer.log(f"amux-demo: could not save session {session.sessionId}: {exc}")

    # ================================================================= methods
    async def initialize(self, params: dict[str, Any], info: InFlight) -> dict[str, Any]:
        """Capabilities, shaped by the knobs."""
        caps = params.get("clientCapabilities")
        self.client_capabilities = caps if isinstance(caps, dict) else {}
        session_caps: dict[str, Any] = {"list": {}}
        if not self.knobs.no_resume:
            session_caps["resume"] = {}
        auth_methods: list[dict[str, str]] = []
        if self.knobs.auth_required:
            auth_methods.append(
                {"id": "demo-login", "name": "Demo login", "description": "run: amux-demo login"}
            )
        return {
            "protocolVersion": self.knobs.protocol_version,
            "agentCapabilities": {
                "loadSession": not self.knobs.no_load,
                "promptCapabilities": {"image": False, "audio": False, "embeddedContext": False},
                "sessionCapabilities": session_caps,
            },
            "agentInfo": {"name": "amux-demo", "title": "amux demo agent", "version": __version__},
            "authMethods": auth_methods,
        }

    async def authenticate(self, params: dict[str, Any], info: InFlight) -> dict[str, Any]:
        """Accept ``demo-login`` (the only method); later session calls then work."""
        if params.get("methodId") != "demo-login":
            raise RpcError(INVALID_PARAMS, "Invalid params", {"details": "unknown methodId"})
        self.authenticated = True
        return {}

    async def session_new(self, params: dict[str, Any], info: InFlight) -> dict[str, Any]:
        """Create and save an empty session."""
        self._require_auth()
        session = self.store.create(self._cwd(params))
        self.sessions[session.sessionId] = session
        info.after.append(lambda: self._announce(session))
        return {"sessionId": session.sessionId, "modes": self._modes(session)}

    async def session_load(self, params: dict[str, Any], info: InFlight) -> dict[str, Any]:
        """Replay the whole history, then answer."""
        if self.knobs.no_load:
            raise RpcError(METHOD_NOT_FOUND, "Method not found", {"method": "session/load"})
        self._require_auth()
        if self.knobs.fail_load:
            raise RpcError(
                INTERNAL_ERROR, "Internal error", {"details": "demo: AMUX_DEMO_FAIL_LOAD is set"}
            )
        session = self._find(params)
        session.cwd = self._cwd(params, session.cwd)
        self.sessions[session.sessionId] = session
        await self._replay(session)
        info.after.append(lambda: self._announce(session))
        return {"modes": self._modes(session)}

    async def session_resume(self, params: dict[str, Any], info: InFlight) -> dict[str, Any]:
        """Restore without replay (unless a knob asks for Hermes' replay or a fork)."""
        if self.knobs.no_resume:
            raise RpcError(METHOD_NOT_FOUND, "Method not found", {"method": "session/resume"})
        self._require_auth()
        session = self._find(params)
        session.cwd = self._cwd(params, session.cwd)
        result: dict[str, Any] = {}
        if self.knobs.resume_forks:
            # Like agents that silently fork: same history, another id, success anyway.
            fork = self.store.create(session.cwd)
            fork.title, fork.mode = session.title, session.mode
            fork.prompts, fork.updates = list(session.prompts), list(session.updates)
            fork.contextStart, fork.compactions = session.contextStart, session.compactions
            self._save(fork)
            session = fork
            result["sessionId"] = fork.sessionId
        self.sessions[session.sessionId] = session
        if self.knobs.resume_replays:
            await self._replay(session)
        info.after.append(lambda: self._announce(session))
        result["modes"] = self._modes(session)
        return result

    async def session_list(self, params: dict[str, Any], info: InFlight) -> dict[str, Any]:
        """Saved sessions, newest first, optionally for one cwd (a single page)."""
        cwd = params.get("cwd")
        return {"sessions": self.store.list(cwd if isinstance(cwd, str) else None)}

    async def session_set_mode(self, params: dict[str, Any], info: InFlight) -> dict[str, Any]:
        """Switch between ``default`` and ``plan``."""
        session = self._active(params)
        mode = params.get("modeId")
        if mode not in MODE_IDS:
            raise RpcError(INVALID_PARAMS, "Invalid params", {"details": f"unknown mode {mode!r}"})
        session.mode = mode
        self._save(session)
        info.after.append(
            lambda: self._notify_update(
                session.sessionId, {"sessionUpdate": "current_mode_update", "currentModeId": mode}
            )
        )
        return {}

    async def session_prompt(self, params: dict[str, Any], info: InFlight) -> dict[str, Any]:
        """Run one turn: record the prompt, run its scenario, save, answer."""
        self._require_auth()
        session = self._active(params)
        if session.sessionId in self.turns:
            raise RpcError(
                INVALID_REQUEST, "Invalid Request", {"details": "a prompt is already running"}
            )
        blocks = params.get("prompt")
        if not isinstance(blocks, list):
            raise RpcError(INVALID_PARAMS, "Invalid params", {"details": "prompt must be a list"})
        text = _prompt_text(blocks)
        first = not session.prompts
        session.prompts.append(text)
        turn = Turn(self, session)
        info.turn = turn
        self.turns[session.sessionId] = turn
        try:
            user_id = f"{session.sessionId[5:]}-t{turn.number}-user"
            for block in blocks:
                if isinstance(block, dict):
                    # Recorded for replay but not sent: the client already shows its prompt.
                    session.record(
                        {
                            "sessionUpdate": "user_message_chunk",
                            "content": block,
                            "messageId": user_id,
                        }
                    )
            stop = await scenarios.run(turn, text)
            self._send_usage(session)
        except TurnCancelled:
            stop = "cancelled"
        finally:
            self.turns.pop(session.sessionId, None)
            if first and not session.title:
                session.title = _title(text)
            self._save(session)
        if stop == "cancelled" and turn.cancel_via == "$/cancel_request":
            raise RpcError(REQUEST_CANCELLED, "Request cancelled")
        if first:
            title = session.title
            info.after.append(
                lambda: self._notify_update(
                    session.sessionId,
                    {
                        "sessionUpdate": "session_info_update",
                        "title": title,
                        "updatedAt": session.updatedAt,
                    },
                )
            )
        return {"stopReason": stop}


def _prompt_text(blocks: list[Any]) -> str:
    """The prompt's text: text blocks joined; links and resources named."""
    parts: list[str] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            parts.append(block["text"])
        elif kind == "resource_link":
            parts.append(f"[{block.get('name') or block.get('uri')}]")
        elif kind == "resource" and isinstance(block.get("resource"), dict):
            parts.append(f"[{block['resource'].get('uri')}]")
    return "\n".join(parts)


def _title(text: str) -> str:
    """A short session title from the first prompt."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if not line:
        return "Demo session"
    return line if len(line) <= 48 else line[:47].rstrip() + "…"
