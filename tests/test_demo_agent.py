"""The built-in demo agent, driven through real stdio by amux's wire layer (AgentProcess).

Every test starts ``python -m amux_tui.demo_agent`` as a subprocess with a tmp state dir and
a tiny chunk delay, and asserts on the frames, stderr lines and exit codes a client sees.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from amux_tui.acp.framing import Frame, Kind, RpcError
from amux_tui.acp.process import AgentProcess
from amux_tui.demo_agent import flood
from amux_tui.demo_agent.scenarios import SCENARIOS

REPO_ROOT = Path(__file__).resolve().parents[1]
CONVERSATION_KINDS = {
    "user_message_chunk",
    "agent_message_chunk",
    "agent_thought_chunk",
    "tool_call",
    "tool_call_update",
    "plan",
}
COMPACTION_CAPS = {"session": {"compaction": {}}}


class Peer:
    """A demo agent subprocess plus everything it said, in arrival order.

    ``events`` holds every notification / agent request / invalid line as its Frame, and
    a ``("response", id)`` marker at the moment each of our requests was answered, so
    tests can check what arrived before or after a response.
    """

    def __init__(self, state: Path, cwd: Path, **knobs: str) -> None:
        env = {
            "PYTHONPATH": os.pathsep.join(
                [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
            "AMUX_DEMO_STATE": str(state),
            "AMUX_DEMO_CHUNK_DELAY": "0.001",
            **knobs,
        }
        self.cwd = str(cwd)
        self.events: list[Any] = []
        self.stderr: list[str] = []
        self.exit_code: int | None = None
        self._changed = asyncio.Event()
        self._requests = 0
        self.proc = AgentProcess(
            [sys.executable, "-m", "amux_tui.demo_agent"],
            cwd=cwd,
            env=env,
            on_frame=self._frame,
            on_stderr=self._stderr,
            on_exit=self._exit,
        )

    # ------------------------------------------------------------------ callbacks
    def _frame(self, frame: Frame) -> None:
        self.events.append(frame)
        self._changed.set()

    def _stderr(self, line: str) -> None:
        self.stderr.append(line)
        self._changed.set()

    def _exit(self, code: int) -> None:
        self.exit_code = code
        self._changed.set()

    # ------------------------------------------------------------------ driving
    async def start(self, capabilities: dict[str, Any] | None = None) -> dict[str, Any]:
        """Spawn and initialize; returns the initialize result."""
        await self.proc.start()
        params: dict[str, Any] = {
            "protocolVersion": 1,
            "clientInfo": {"name": "amux-test", "version": "0"},
        }
        if capabilities is not None:
            params["clientCapabilities"] = capabilities
        return await self.request("initialize", params)

    def send(self, method: str, params: dict[str, Any]) -> tuple[int, asyncio.Future[Frame]]:
        """Send a request; returns (our request id, future of the response frame)."""
        self._requests += 1
        request_id = self._requests  # AgentProcess numbers its requests 1, 2, 3, ...

        def mark(frame: Frame) -> None:
            self.events.append(("response", frame.id))
            self._changed.set()

        return request_id, self.proc.send_request(method, params, on_response=mark)

    async def request(self, method: str, params: dict[str, Any], timeout: float = 20) -> Any:
        """Send a request and return its result (raises RpcError)."""
        _, future = self.send(method, params)
        async with asyncio.timeout(timeout):
            frame = await future
        if frame.error is not None:
            raise RpcError.from_error(frame.error)
        return frame.result

    async def new_session(self) -> str:
        result = await self.request("session/new", {"cwd": self.cwd, "mcpServers": []})
        return result["sessionId"]

    async def prompt(self, session_id: str, text: str, timeout: float = 20) -> tuple[str, int]:
        """Run a prompt; returns (stopReason, index in events where the turn started)."""
        start = len(self.events)
        result = await self.request(
            "session/prompt",
            {"sessionId": session_id, "prompt": [{"type": "text", "text": text}]},
            timeout=timeout,
        )
        return result["stopReason"], start

    async def wait_for(
        self, pred: Callable[[], Any], timeout: float = 10, what: str = "condition"
    ) -> Any:
        """Wait until ``pred()`` is truthy; returns its value."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    self._changed.clear()
                    value = pred()
                    if value:
                        return value
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}") from None

    async def wait_frame(
        self, pred: Callable[[Frame], bool], start: int = 0, timeout: float = 10
    ) -> Frame:
        """The first frame from ``events[start:]`` matching ``pred``."""

        def find() -> Frame | None:
            for event in self.events[start:]:
                if isinstance(event, Frame) and pred(event):
                    return event
            return None

        return await self.wait_for(find, timeout, "a matching frame")

    async def stop(self) -> None:
        """Stop the agent (stdin closed first); a traceback on its stderr fails the test.

        The grace before SIGTERM is generous: a well-behaved agent exits on stdin EOF at
        once, and ``exit_code == 0`` then proves that no signal was needed, however slow
        the machine.
        """
        await self.proc.stop(grace=20.0)
        assert not [line for line in self.stderr if "Traceback" in line], self.stderr

    # ------------------------------------------------------------------ views
    def frames(self, start: int = 0, end: int | None = None) -> list[Frame]:
        return [e for e in self.events[start:end] if isinstance(e, Frame)]

    def updates(self, start: int = 0, end: int | None = None) -> list[dict[str, Any]]:
        """``update`` payloads of session/update notifications in ``events[start:end]``."""
        return [
            f.params["update"]
            for f in self.frames(start, end)
            if f.kind is Kind.NOTIFICATION and f.method == "session/update"
        ]

    def of_kind(self, kind: str, start: int = 0, end: int | None = None) -> list[dict[str, Any]]:
        return [u for u in self.updates(start, end) if u.get("sessionUpdate") == kind]

    def text(self, start: int = 0, kind: str = "agent_message_chunk") -> str:
        return "".join(u["content"]["text"] for u in self.of_kind(kind, start))

    def response_index(self, request_id: int) -> int:
        return self.events.index(("response", request_id))

    def ticks(self, start: int, request_id: int) -> list[dict[str, Any]]:
        """Message chunks from ``events[start]`` up to the answer to ``request_id``."""
        return self.of_kind("agent_message_chunk", start, self.response_index(request_id))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own AMUX_DEMO_* settings must not leak into the agents."""
    for name in list(os.environ):
        if name.startswith("AMUX_DEMO_"):
            monkeypatch.delenv(name)


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    state, cwd = tmp_path / "state", tmp_path / "project"
    cwd.mkdir()
    return state, cwd


@pytest.fixture
async def peer(dirs: tuple[Path, Path]):
    p = Peer(*dirs)
    await p.start(COMPACTION_CAPS)
    yield p
    await p.stop()


# ====================================================================== handshake


async def test_initialize_advertises_capabilities(dirs: tuple[Path, Path]) -> None:
    p = Peer(*dirs)
    try:
        result = await p.start()
    finally:
        await p.stop()
    assert result["protocolVersion"] == 1
    caps = result["agentCapabilities"]
    assert caps["loadSession"] is True
    assert caps["promptCapabilities"] == {"image": False, "audio": False, "embeddedContext": False}
    assert caps["sessionCapabilities"] == {"list": {}, "resume": {}}
    assert result["agentInfo"]["name"] == "amux-demo"
    assert result["agentInfo"]["title"] == "amux demo agent"
    assert result["authMethods"] == []
    assert p.exit_code == 0  # closing stdin ends it cleanly


async def test_new_session_then_commands_and_usage(peer: Peer) -> None:
    request_id, future = peer.send("session/new", {"cwd": peer.cwd, "mcpServers": []})
    result = (await future).result
    assert re.fullmatch(r"demo-[0-9a-f]{12}", result["sessionId"])
    assert result["modes"]["currentModeId"] == "default"
    assert [m["id"] for m in result["modes"]["availableModes"]] == ["default", "plan"]
    await peer.wait_for(lambda: peer.of_kind("usage_update"), what="usage_update")
    after = peer.response_index(request_id)
    commands = peer.of_kind("available_commands_update", after)
    assert commands, "available_commands_update must follow the response"
    names = [c["name"] for c in commands[0]["availableCommands"]]
    assert names == [s.name for s in SCENARIOS]
    for required in (
        "help",
        "tool",
        "plan",
        "permission",
        "compact",
        "slow",
        "flood",
        "crash",
        "garbage",
        "huge",
        "fs",
        "markup",
        "refuse",
        "maxtokens",
        "recall",
    ):
        assert required in names
    compact = next(c for c in commands[0]["availableCommands"] if c["name"] == "compact")
    assert "hermes" in compact["input"]["hint"] and compact["description"]
    usage = peer.of_kind("usage_update", after)[0]
    assert 0 < usage["used"] < usage["size"]


async def test_unknown_methods_and_notifications(peer: Peer) -> None:
    for method in ("foo/bar", "_demo/whatever", "session/fork"):
        with pytest.raises(RpcError) as info:
            await peer.request(method, {})
        assert info.value.code == -32601
    peer.proc.notify("_vendor/unknown", {"x": 1})  # must be ignored, not answered
    peer.proc.notify("session/cancel", {"sessionId": "demo-000000000000"})
    assert (await peer.request("session/list", {}))["sessions"] == []
    with pytest.raises(RpcError) as info:
        await peer.request(
            "session/prompt",
            {"sessionId": "demo-000000000000", "prompt": [{"type": "text", "text": "hi"}]},
        )
    assert info.value.code == -32002
    assert not [f for f in peer.frames() if f.kind is Kind.INVALID]


# ====================================================================== prompts


async def test_ordinary_prompt_streams_thought_then_markdown(peer: Peer) -> None:
    sid = await peer.new_session()
    request_id, future = peer.send(
        "session/prompt",
        {"sessionId": sid, "prompt": [{"type": "text", "text": "Hello there, demo"}]},
    )
    assert (await future).result == {"stopReason": "end_turn"}
    turn = peer.events[: peer.response_index(request_id)]
    kinds = [
        f.params["update"]["sessionUpdate"]
        for f in turn
        if isinstance(f, Frame) and f.method == "session/update"
    ]
    thoughts = [k for k in kinds if k == "agent_thought_chunk"]
    messages = [k for k in kinds if k == "agent_message_chunk"]
    assert 2 <= len(thoughts) <= 3
    assert len(messages) > 10  # a few words per chunk
    # thought first, then the reply, then usage just before the response
    assert kinds.index("agent_thought_chunk") < kinds.index("agent_message_chunk")
    assert kinds[-1] == "usage_update"
    chunks = peer.of_kind("agent_message_chunk")
    assert len({c["messageId"] for c in chunks}) == 1
    text = peer.text()
    assert "Hello there, demo" in text
    assert "```python" in text and ("## " in text or "**" in text) and "\n- " in text
    assert "/help" in text and "/compact" in text
    # the title arrives after the response, like Hermes
    info = await peer.wait_frame(
        lambda f: (
            f.method == "session/update"
            and f.params["update"]["sessionUpdate"] == "session_info_update"
        )
    )
    assert peer.events.index(info) > peer.response_index(request_id)
    assert info.params["update"]["title"] == "Hello there, demo"


async def test_slow_prompt_cancelled_within_a_second(peer: Peer) -> None:
    sid = await peer.new_session()
    start = len(peer.events)
    request_id, future = peer.send(
        "session/prompt", {"sessionId": sid, "prompt": [{"type": "text", "text": "/slow 10"}]}
    )
    await peer.wait_for(lambda: len(peer.of_kind("agent_message_chunk", start)) >= 2, what="ticks")
    message_id = peer.of_kind("agent_message_chunk", start)[0]["messageId"]
    sent = len(peer.events)
    peer.proc.notify("session/cancel", {"sessionId": sid})
    frame = await asyncio.wait_for(future, 20)
    assert frame.result == {"stopReason": "cancelled"}
    # Within a second of the agent's own clock: /slow ticks every 0.25 s, so fewer than
    # four ticks between the cancel and the answer (one may already have been on its way).
    assert len(peer.ticks(sent, request_id)) < 4, peer.ticks(sent, request_id)
    ticks = len(peer.of_kind("agent_message_chunk", start))
    # Streaming really stopped: another turn spanning two ticks (0.5 s of the agent's
    # clock) streams and ends, and the cancelled turn's message got nothing in between.
    assert (await peer.prompt(sid, "/slow 0.5"))[0] == "end_turn"
    cancelled = [
        c for c in peer.of_kind("agent_message_chunk", start) if c["messageId"] == message_id
    ]
    assert len(cancelled) == ticks
    assert "Slow turn finished" not in "".join(c["content"]["text"] for c in cancelled)
    # the session still works afterwards
    assert (await peer.prompt(sid, "/recall"))[0] == "end_turn"


async def test_cancel_request_answers_minus_32800(peer: Peer) -> None:
    sid = await peer.new_session()
    request_id, future = peer.send(
        "session/prompt", {"sessionId": sid, "prompt": [{"type": "text", "text": "/slow 10"}]}
    )
    await peer.wait_for(lambda: peer.of_kind("agent_message_chunk"), what="first tick")
    sent = len(peer.events)
    peer.proc.notify("$/cancel_request", {"requestId": request_id})
    frame = await asyncio.wait_for(future, 20)
    assert frame.error["code"] == -32800
    assert len(peer.ticks(sent, request_id)) < 8  # within 2 s of /slow ticks (0.25 s each)


async def test_permission_selected_rejected_cancelled(peer: Peer) -> None:
    sid = await peer.new_session()

    async def ask(answer: dict[str, Any]) -> tuple[str, int, Frame]:
        start = len(peer.events)
        _, future = peer.send(
            "session/prompt",
            {"sessionId": sid, "prompt": [{"type": "text", "text": "/permission"}]},
        )
        req = await peer.wait_frame(
            lambda f: f.kind is Kind.REQUEST and f.method == "session/request_permission", start
        )
        peer.proc.respond(req.id, {"outcome": answer})
        return (await asyncio.wait_for(future, 20)).result["stopReason"], start, req

    stop, start, req = await ask({"outcome": "selected", "optionId": "allow"})
    assert req.id == 0  # the agent's own id space starts at 0, like Hermes
    params = req.params
    assert params["sessionId"] == sid
    assert [(o["optionId"], o["kind"], o["name"]) for o in params["options"]] == [
        ("allow", "allow_once", "Allow once"),
        ("allow-always", "allow_always", "Always allow"),
        ("reject", "reject_once", "Reject"),
        ("reject-always", "reject_always", "Always reject"),
    ]
    tool = params["toolCall"]
    assert {"toolCallId", "title", "kind", "status", "content"} <= tool.keys()
    assert peer.of_kind("tool_call", start)[0]["toolCallId"] == tool["toolCallId"]
    assert stop == "end_turn"
    assert peer.of_kind("tool_call_update", start)[-1]["status"] == "completed"
    assert "Allow once" in peer.text(start)

    stop, start, req = await ask({"outcome": "selected", "optionId": "reject"})
    assert req.id == 1
    assert stop == "end_turn"
    assert peer.of_kind("tool_call_update", start)[-1]["status"] == "failed"
    assert "rejected" in peer.text(start)

    stop, start, _ = await ask({"outcome": "cancelled"})
    assert stop == "cancelled"


async def test_permission_withdrawn_with_cancel_request(peer: Peer) -> None:
    sid = await peer.new_session()
    stop, start = await peer.prompt(sid, "/permission withdraw")
    asks = [f for f in peer.frames(start) if f.method == "session/request_permission"]
    withdrawn = [f for f in peer.frames(start) if f.method == "$/cancel_request"]
    assert len(asks) == 1 and [f.params["requestId"] for f in withdrawn] == [asks[0].id]
    assert stop == "end_turn" and "withdrew" in peer.text(start)
    assert peer.of_kind("tool_call_update", start)[-1]["status"] == "failed"


async def test_cancel_right_behind_the_prompt_and_eof_mid_turn(peer: Peer) -> None:
    sid = await peer.new_session()
    start = len(peer.events)
    request_id, future = peer.send(
        "session/prompt", {"sessionId": sid, "prompt": [{"type": "text", "text": "/slow 10"}]}
    )
    peer.proc.notify("session/cancel", {"sessionId": sid})  # same read, most likely
    assert (await asyncio.wait_for(future, 20)).result == {"stopReason": "cancelled"}
    # Found the turn at once: fewer ticks than one second of /slow (0.25 s each).
    assert len(peer.ticks(start, request_id)) < 4

    start = len(peer.events)
    request_id, future = peer.send(
        "session/prompt", {"sessionId": sid, "prompt": [{"type": "text", "text": "/slow 10"}]}
    )
    await peer.wait_for(lambda: peer.of_kind("agent_message_chunk", start), what="a tick")
    closed = len(peer.events)
    await peer.stop()  # closes stdin first: the agent must wind down by itself
    assert peer.exit_code == 0  # by itself: no signal was needed
    # It ended the turn (answered "cancelled") before exiting, within a second of ticks.
    assert future.done() and future.result().result == {"stopReason": "cancelled"}
    assert len(peer.ticks(closed, request_id)) < 4


async def test_permission_two_at_once_and_session_cancel(peer: Peer) -> None:
    sid = await peer.new_session()
    start = len(peer.events)
    _, future = peer.send(
        "session/prompt", {"sessionId": sid, "prompt": [{"type": "text", "text": "/permission 2"}]}
    )

    def asks() -> list[Frame]:
        return [f for f in peer.frames(start) if f.method == "session/request_permission"]

    await peer.wait_for(lambda: len(asks()) == 2, what="two pending permission requests")
    first, second = asks()
    assert first.params["toolCall"]["toolCallId"] != second.params["toolCall"]["toolCallId"]
    peer.proc.respond(first.id, {"outcome": {"outcome": "selected", "optionId": "allow-always"}})
    peer.proc.respond(second.id, {"outcome": {"outcome": "selected", "optionId": "reject-always"}})
    assert (await asyncio.wait_for(future, 20)).result["stopReason"] == "end_turn"
    text = peer.text(start)
    assert "Always allow" in text and "Always reject" in text

    # session/cancel while a permission is pending: the request is abandoned, turn cancelled
    start = len(peer.events)
    _, future = peer.send(
        "session/prompt", {"sessionId": sid, "prompt": [{"type": "text", "text": "/permission"}]}
    )
    req = await peer.wait_frame(lambda f: f.method == "session/request_permission", start)
    peer.proc.notify("session/cancel", {"sessionId": sid})
    # Answered before the permission is (the late answer below): the wait was abandoned.
    assert (await asyncio.wait_for(future, 20)).result["stopReason"] == "cancelled"
    peer.proc.respond(req.id, {"outcome": {"outcome": "cancelled"}})  # late answer is fine
    assert (await peer.prompt(sid, "still alive?"))[0] == "end_turn"


async def test_keywords_and_simple_scenarios(peer: Peer) -> None:
    sid = await peer.new_session()
    stop, start = await peer.prompt(sid, "could you make a plan for this?")
    plans = peer.of_kind("plan", start)
    assert stop == "end_turn" and len(plans) >= 4
    assert [e["status"] for e in plans[0]["entries"]] == ["pending"] * 3
    assert [e["status"] for e in plans[-1]["entries"]] == ["completed"] * 3
    assert any("in_progress" in [e["status"] for e in p["entries"]] for p in plans)

    stop, start = await peer.prompt(sid, "/tool")
    calls = peer.of_kind("tool_call", start)
    assert [c["kind"] for c in calls] == ["edit", "read"]
    assert calls[0]["status"] == "pending" and calls[0]["locations"]
    updates = [
        u
        for u in peer.of_kind("tool_call_update", start)
        if u["toolCallId"] == calls[0]["toolCallId"]
    ]
    assert [u["status"] for u in updates] == ["in_progress", "completed"]
    diff = updates[-1]["content"][0]
    assert diff["type"] == "diff" and diff["path"].startswith(peer.cwd + os.sep)
    assert diff["oldText"] != diff["newText"]
    assert updates[-1]["content"][1]["type"] == "content"
    read_updates = [
        u
        for u in peer.of_kind("tool_call_update", start)
        if u["toolCallId"] == calls[1]["toolCallId"]
    ]
    assert read_updates[-1]["status"] == "completed"

    stop, start = await peer.prompt(sid, "/markup")
    text = peer.text(start)
    for literal in ("[bold]x[/bold]", "[/]", "[red on blue]", "\x1b[31mred\x1b[0m", "$variable"):
        assert literal in text

    assert (await peer.prompt(sid, "/refuse"))[0] == "refusal"
    stop, start = await peer.prompt(sid, "/maxtokens")
    assert stop == "max_tokens" and peer.text(start)

    stop, start = await peer.prompt(sid, "/unknown-update")
    assert stop == "end_turn"
    assert peer.of_kind("demo_sparkles", start)[0]["sparkles"] == 3
    assert any(f.method == "_demo/notice" for f in peer.frames(start))

    stop, start = await peer.prompt(sid, "/help")
    help_text = peer.text(start)
    assert all(f"/{s.name}" in help_text for s in SCENARIOS)
    assert "/flood [N (default 10000), RATE chunks/s (default: full speed), stamp]" in help_text

    stop, start = await peer.prompt(sid, "/recall")
    assert "holds 7 earlier prompts" in peer.text(start)
    assert "could you make a plan for this?" in peer.text(start)


async def test_set_mode(peer: Peer) -> None:
    sid = await peer.new_session()
    request_id, future = peer.send("session/set_mode", {"sessionId": sid, "modeId": "plan"})
    assert (await future).result == {}
    update = await peer.wait_frame(
        lambda f: (
            f.method == "session/update"
            and f.params["update"]["sessionUpdate"] == "current_mode_update"
        )
    )
    assert update.params["update"]["currentModeId"] == "plan"
    with pytest.raises(RpcError) as info:
        await peer.request("session/set_mode", {"sessionId": sid, "modeId": "yolo"})
    assert info.value.code == -32602


# ====================================================================== compaction

HERMES_STARTED = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[INFO\] agent\.conversation_compression: "
    r"context compression started: session=\d{8}_\d{6}_[0-9a-f]{6} messages=\d+ "
    r"tokens=~[\d,]+ model=demo-model focus=None$"
)
HERMES_DONE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[INFO\] agent\.conversation_compression: "
    r"context compression done: session=\d{8}_\d{6}_[0-9a-f]{6} messages=\d+->\d+ "
    r"rough_tokens=~\d+ awaiting_real_usage=true$"
)
HERMES_DONE_OLD = re.compile(
    r"context compression done: session=\S+ messages=\d+->\d+ tokens=~[\d,]+$"
)
BANNER = "🗜️ Compacting context — summarizing earlier conversation so I can continue..."


async def test_compaction_hermes_stderr_both_forms(peer: Peer) -> None:
    sid = await peer.new_session()
    await peer.prompt(sid, "warm up the context")
    usage_before = peer.of_kind("usage_update")[-1]["used"]
    stop, start = await peer.prompt(sid, "please compact")  # keyword → hermes style
    assert stop == "end_turn" and peer.text(start)
    await peer.wait_for(lambda: any("compression done" in s for s in peer.stderr), what="done")
    lines = list(peer.stderr)
    started = [i for i, s in enumerate(lines) if HERMES_STARTED.match(s)]
    done = [i for i, s in enumerate(lines) if HERMES_DONE.match(s)]
    banner = [i for i, s in enumerate(lines) if s == BANNER]
    assert len(started) == len(done) == len(banner) == 1, lines
    assert started[0] < banner[0] < done[0]
    assert peer.of_kind("usage_update")[-1]["used"] < usage_before
    assert not peer.of_kind("compaction_update")  # hermes style: stderr only

    peer.stderr.clear()
    await peer.prompt(sid, "/compact hermes-old")
    await peer.wait_for(lambda: any("compression done" in s for s in peer.stderr), what="done")
    assert any(HERMES_STARTED.match(s) for s in peer.stderr)
    assert any(HERMES_DONE_OLD.search(s) for s in peer.stderr)
    assert not any("rough_tokens" in s for s in peer.stderr)


async def test_compaction_acp_text_and_stranded(peer: Peer) -> None:
    sid = await peer.new_session()
    stop, start = await peer.prompt(sid, "/compact acp")
    updates = peer.of_kind("compaction_update", start)
    assert [u["status"] for u in updates] == ["in_progress", "completed"]
    assert updates[0]["compactionId"] == updates[1]["compactionId"] and updates[1]["summary"]
    assert stop == "end_turn" and peer.text(start)

    stop, start = await peer.prompt(sid, "/compact acp-failed")
    updates = peer.of_kind("compaction_update", start)
    assert [u["status"] for u in updates] == ["in_progress", "failed"] and updates[1]["error"]

    for style, last in (("text", "Compacting completed."), ("text-failed", "Compacting failed.")):
        stop, start = await peer.prompt(sid, f"/compact {style}")
        chunks = peer.of_kind("agent_message_chunk", start)
        assert chunks[0]["content"]["text"] == "Compacting..."
        assert chunks[1]["content"]["text"] == last
        assert chunks[0]["messageId"] != chunks[1]["messageId"] != chunks[2]["messageId"]
        assert stop == "end_turn"

    peer.stderr.clear()
    stop, start = await peer.prompt(sid, "/compact stranded")
    assert stop == "end_turn"
    assert [u["status"] for u in peer.of_kind("compaction_update", start)] == ["in_progress"]
    await peer.wait_for(lambda: any(HERMES_STARTED.match(s) for s in peer.stderr), what="start")

    stop, start = await peer.prompt(sid, "/compact all")
    assert [u["status"] for u in peer.of_kind("compaction_update", start)] == [
        "in_progress",
        "completed",
    ]
    await peer.wait_for(lambda: any(HERMES_DONE.match(s) for s in peer.stderr), what="done")
    # stderr is one ordered stream and `all` started after the stranded turn had ended:
    # the only done line follows the second start, so the stranded one never got one.
    starts = [i for i, s in enumerate(peer.stderr) if HERMES_STARTED.match(s)]
    dones = [i for i, s in enumerate(peer.stderr) if "compression done" in s]
    assert len(starts) == 2 and len(dones) == 1 and dones[0] > starts[1], peer.stderr


async def test_compaction_update_needs_client_capability(dirs: tuple[Path, Path]) -> None:
    p = Peer(*dirs)
    try:
        await p.start({})  # no session.compaction
        sid = await p.new_session()
        stop, start = await p.prompt(sid, "/compact acp")
        assert stop == "end_turn"
        assert not p.of_kind("compaction_update")
        assert "did not advertise" in p.text(start)
    finally:
        await p.stop()


# ====================================================================== persistence


async def test_restart_then_load_replays_and_resume_does_not(dirs: tuple[Path, Path]) -> None:
    state, cwd = dirs
    a = Peer(state, cwd)
    await a.start(COMPACTION_CAPS)
    sid = await a.new_session()
    expected: list[dict[str, Any]] = []
    for text in ("first: remember the octopus", "/tool", "/plan"):
        stop, start = await a.prompt(sid, text)
        assert stop == "end_turn"
        expected.append(
            {"sessionUpdate": "user_message_chunk", "content": {"type": "text", "text": text}}
        )
        expected += [u for u in a.updates(start) if u["sessionUpdate"] in CONVERSATION_KINDS]
    await a.stop()
    saved = json.loads((state / "sessions" / f"{sid}.json").read_text())
    assert saved["cwd"] == str(cwd) and saved["title"] and saved["updatedAt"]
    assert not list((state / "sessions").glob("*.tmp"))

    # A new process, same state dir: session/load replays everything before answering.
    b = Peer(state, cwd)
    try:
        await b.start(COMPACTION_CAPS)
        listed = (await b.request("session/list", {"cwd": str(cwd)}))["sessions"]
        assert [s["sessionId"] for s in listed] == [sid]
        assert listed[0]["title"] == "first: remember the octopus"
        assert (await b.request("session/list", {"cwd": "/elsewhere"}))["sessions"] == []
        request_id, future = b.send(
            "session/load", {"sessionId": sid, "cwd": str(cwd), "mcpServers": []}
        )
        result = (await future).result
        assert result["modes"]["currentModeId"] == "default"
        replay = b.updates(0, b.response_index(request_id))
        for update in replay:  # the user chunks carry a messageId the live turn never had
            if update["sessionUpdate"] == "user_message_chunk":
                update.pop("messageId", None)
        assert replay == expected
        await b.wait_for(lambda: b.of_kind("available_commands_update"), what="commands after load")
        stop, start = await b.prompt(sid, "/recall")
        assert "holds 3 earlier prompts" in b.text(start)
        assert "first: remember the octopus" in b.text(start)

        with pytest.raises(RpcError) as info:
            await b.request(
                "session/load",
                {"sessionId": "demo-ffffffffffff", "cwd": str(cwd), "mcpServers": []},
            )
        assert info.value.code == -32002
    finally:
        await b.stop()

    # session/resume restores the context without replaying it.
    c = Peer(state, cwd)
    try:
        await c.start()
        request_id, future = c.send("session/resume", {"sessionId": sid, "cwd": str(cwd)})
        assert "sessionId" not in (await future).result
        before = c.updates(0, c.response_index(request_id))
        assert not [u for u in before if u["sessionUpdate"] in CONVERSATION_KINDS]
        stop, start = await c.prompt(sid, "/recall")
        assert "holds 4 earlier prompts" in c.text(start)  # the /recall in b counts too
        ordinary_start = len(c.events)
        await c.prompt(sid, "what do you remember?")
        assert "first was “first: remember the octopus”" in c.text(ordinary_start)
        with pytest.raises(RpcError) as info:
            await c.request("session/resume", {"sessionId": "demo-ffffffffffff", "cwd": str(cwd)})
        assert info.value.code == -32002
    finally:
        await c.stop()

    # With AMUX_DEMO_RESUME_REPLAYS=1 resume replays, like Hermes.
    d = Peer(state, cwd, AMUX_DEMO_RESUME_REPLAYS="1")
    try:
        await d.start()
        request_id, future = d.send("session/resume", {"sessionId": sid, "cwd": str(cwd)})
        await future
        replayed = d.updates(0, d.response_index(request_id))
        assert replayed[: len(expected)][0]["sessionUpdate"] == "user_message_chunk"
        assert len(replayed) > len(expected)  # plus the two /recall turns and the last prompt
    finally:
        await d.stop()


# ====================================================================== knobs


async def _start(dirs: tuple[Path, Path], **knobs: str) -> tuple[Peer, dict[str, Any]]:
    p = Peer(*dirs, **knobs)
    return p, await p.start()


async def test_knobs_no_load_no_resume_protocol(dirs: tuple[Path, Path]) -> None:
    p, init = await _start(dirs, AMUX_DEMO_NO_LOAD="1")
    try:
        assert init["agentCapabilities"]["loadSession"] is False
        sid = await p.new_session()
        with pytest.raises(RpcError) as info:
            await p.request("session/load", {"sessionId": sid, "cwd": p.cwd, "mcpServers": []})
        assert info.value.code == -32601
    finally:
        await p.stop()

    p, init = await _start(dirs, AMUX_DEMO_NO_RESUME="1")
    try:
        assert "resume" not in init["agentCapabilities"]["sessionCapabilities"]
        with pytest.raises(RpcError) as info:
            await p.request("session/resume", {"sessionId": sid, "cwd": p.cwd})
        assert info.value.code == -32601
    finally:
        await p.stop()

    p, init = await _start(dirs, AMUX_DEMO_PROTOCOL_VERSION="2")
    await p.stop()
    assert init["protocolVersion"] == 2


async def test_knobs_fail_load_and_resume_forks(dirs: tuple[Path, Path]) -> None:
    p, _ = await _start(dirs)
    sid = await p.new_session()
    await p.prompt(sid, "the original prompt")
    await p.stop()

    p, _ = await _start(dirs, AMUX_DEMO_FAIL_LOAD="1")
    try:
        with pytest.raises(RpcError) as info:
            await p.request("session/load", {"sessionId": sid, "cwd": p.cwd, "mcpServers": []})
        assert info.value.code == -32603
    finally:
        await p.stop()

    p, _ = await _start(dirs, AMUX_DEMO_RESUME_FORKS="1")
    try:
        result = await p.request("session/resume", {"sessionId": sid, "cwd": p.cwd})
        fork = result["sessionId"]
        assert fork != sid and re.fullmatch(r"demo-[0-9a-f]{12}", fork)
        stop, start = await p.prompt(fork, "/recall")
        assert "the original prompt" in p.text(start)
    finally:
        await p.stop()


async def test_knob_auth_required(dirs: tuple[Path, Path]) -> None:
    p, init = await _start(dirs, AMUX_DEMO_AUTH_REQUIRED="1")
    try:
        assert init["authMethods"] == [
            {"id": "demo-login", "name": "Demo login", "description": "run: amux-demo login"}
        ]
        with pytest.raises(RpcError) as info:
            await p.request("session/new", {"cwd": p.cwd, "mcpServers": []})
        assert info.value.code == -32000 and info.value.message == "Authentication required"
        assert await p.request("authenticate", {"methodId": "demo-login"}) == {}
        assert await p.new_session()
    finally:
        await p.stop()


async def test_knob_gate_holds_turns_and_compactions_until_the_file_exists(
    dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    p = Peer(*dirs, AMUX_DEMO_GATE=str(gate))
    await p.start(COMPACTION_CAPS)

    def prompt(session_id: str, text: str) -> asyncio.Future[Frame]:
        return p.send(
            "session/prompt", {"sessionId": session_id, "prompt": [{"type": "text", "text": text}]}
        )[1]

    try:
        a, b, c = [await p.new_session() for _ in range(3)]
        start = len(p.events)
        compacting = prompt(a, "/compact all")
        await p.wait_for(lambda: p.of_kind("compaction_update", start), what="compaction start")
        replied = prompt(b, "hello")
        await p.wait_for(lambda: "Slash commands" in p.text(start), what="the whole reply")
        # A turn spanning two /slow ticks (0.5 s on the agent's own clock, 50 times the
        # compaction's pause) streams all of its reply after both of the above; all three
        # share one stdout, so a compaction done or an answer would have arrived first.
        slow = prompt(c, "/slow 0.5")
        await p.wait_for(lambda: "Slow turn finished" in p.text(start), what="slow reply")
        assert [u["status"] for u in p.of_kind("compaction_update", start)] == ["in_progress"]
        assert not compacting.done() and not replied.done()

        gate.touch()
        for future in (compacting, replied, slow):
            assert (await asyncio.wait_for(future, 20)).result == {"stopReason": "end_turn"}
        statuses = [u["status"] for u in p.of_kind("compaction_update", start)]
        assert statuses == ["in_progress", "completed"]
        await p.wait_for(lambda: any(HERMES_DONE.match(s) for s in p.stderr), what="done line")
        # The gate stays open while the file exists: turns run straight through.
        assert (await p.prompt(a, "/recall"))[0] == "end_turn"

        # A cancel ends a held turn at once.
        gate.unlink()
        again = len(p.events)
        held = prompt(a, "hello")
        await p.wait_for(lambda: "Slash commands" in p.text(again), what="the whole reply")
        p.proc.notify("session/cancel", {"sessionId": a})
        assert (await asyncio.wait_for(held, 20)).result == {"stopReason": "cancelled"}
    finally:
        await p.stop()


async def test_knob_ignore_cancel(dirs: tuple[Path, Path]) -> None:
    p, _ = await _start(dirs, AMUX_DEMO_IGNORE_CANCEL="1")
    try:
        sid = await p.new_session()
        _, future = p.send(
            "session/prompt", {"sessionId": sid, "prompt": [{"type": "text", "text": "/slow 1"}]}
        )
        await p.wait_for(lambda: p.of_kind("agent_message_chunk"), what="first tick")
        p.proc.notify("session/cancel", {"sessionId": sid})
        frame = await asyncio.wait_for(future, 20)
        assert frame.result == {"stopReason": "end_turn"}
        assert "Slow turn finished" in p.text()
    finally:
        await p.stop()


# ====================================================================== faults and load


async def test_flood_sends_exactly_n_chunks(peer: Peer) -> None:
    sid = await peer.new_session()
    stop, start = await peer.prompt(sid, "/flood 10000")
    assert stop == "end_turn"
    chunks = peer.of_kind("agent_message_chunk", start)
    assert len(chunks) == 10000
    assert chunks[0]["content"]["text"] == "chunk 1 "
    assert chunks[-1]["content"]["text"] == "chunk 10000 "
    assert len({c["messageId"] for c in chunks}) == 1


STAMPED = re.compile(r"chunk (\d+)@(\d+\.\d{6}) ")


class TimedPeer(Peer):
    """A Peer that also notes when (``time.monotonic()``) each frame reached it."""

    def __init__(self, state: Path, cwd: Path) -> None:
        self.arrivals: dict[int, float] = {}  # id(frame) -> arrival
        super().__init__(state, cwd)

    def _frame(self, frame: Frame) -> None:
        self.arrivals[id(frame)] = time.monotonic()
        super()._frame(frame)


async def test_flood_at_a_rate_stamps_each_chunk_when_due_and_never_sends_it_early(
    dirs: tuple[Path, Path],
) -> None:
    peer = TimedPeer(*dirs)
    await peer.start()
    try:
        sid = await peer.new_session()
        stop, start = await peer.prompt(sid, "/flood 60 400 stamp")
    finally:
        await peer.stop()
    assert stop == "end_turn"
    frames = [
        f for f in peer.frames(start)
        if f.method == "session/update"
        and f.params["update"]["sessionUpdate"] == "agent_message_chunk"
    ]  # fmt: skip
    stamps = [STAMPED.fullmatch(f.params["update"]["content"]["text"]) for f in frames]
    assert len(stamps) == 60 and all(stamps)
    assert [int(m[1]) for m in stamps if m] == list(range(1, 61))
    due = [float(m[2]) for m in stamps if m]
    # chunk n is due (n - 1) / 400 s after the first: 2.5 ms apart, to the stamp's microsecond
    assert all(abs(due[n] - due[0] - n / 400) <= 2e-6 for n in range(60))
    # paced, not sent at once: no chunk reaches us before it is due (both processes read
    # the one system-wide CLOCK_MONOTONIC)
    assert all(peer.arrivals[id(f)] >= when for f, when in zip(frames, due, strict=True))


async def test_flood_at_full_speed_with_stamps_and_bad_arguments(peer: Peer) -> None:
    sid = await peer.new_session()
    stop, start = await peer.prompt(sid, "/flood 2500 stamp")
    chunks = peer.of_kind("agent_message_chunk", start)
    stamps = [STAMPED.fullmatch(c["content"]["text"]) for c in chunks]
    assert stop == "end_turn" and len(chunks) == 2500 and all(stamps)
    # one stamp per write of 2,000 lines: the time that batch was written
    assert len({m[2] for m in stamps[:2000] if m}) == 1
    assert stamps[1999][2] <= stamps[2000][2]  # type: ignore[index]
    # a rate that is not a positive number means full speed; junk words are ignored
    stop, start = await peer.prompt(sid, "/flood 3 -5 junk")
    assert [c["content"]["text"] for c in peer.of_kind("agent_message_chunk", start)] == [
        "chunk 1 ", "chunk 2 ", "chunk 3 "
    ]  # fmt: skip


def test_flood_arguments() -> None:
    assert flood.parse([]) == (10_000, None, False)
    assert flood.parse(["50000", "5000"]) == (50_000, 5000.0, False)
    assert flood.parse(["10", "2.5", "STAMP"]) == (10, 2.5, True)
    assert flood.parse(["stamp", "7"]) == (7, None, True)
    assert flood.parse(["x", "0"]) == (10_000, None, False)
    assert flood.parse(["5", "inf"]) == (5, None, False)


async def test_crash_exits_with_code_mid_turn(peer: Peer) -> None:
    sid = await peer.new_session()
    start = len(peer.events)
    _, future = peer.send(
        "session/prompt", {"sessionId": sid, "prompt": [{"type": "text", "text": "/crash 7"}]}
    )
    with pytest.raises(Exception) as info:
        await asyncio.wait_for(future, 10)
    assert "exited with code 7" in str(info.value)
    await peer.wait_for(lambda: peer.exit_code is not None, what="exit")
    assert peer.exit_code == 7
    assert len(peer.of_kind("agent_message_chunk", start)) == 2
    assert any("crashing on purpose" in line for line in peer.stderr)


async def test_garbage_line_then_reply(peer: Peer) -> None:
    sid = await peer.new_session()
    stop, start = await peer.prompt(sid, "/garbage")
    invalid = [f for f in peer.frames(start) if f.kind is Kind.INVALID]
    assert [f.raw for f in invalid] == [b"this is not json {"]
    assert stop == "end_turn" and "not JSON" in peer.text(start)


async def test_huge_single_line(peer: Peer) -> None:
    sid = await peer.new_session()
    stop, start = await peer.prompt(sid, "/huge 2")
    assert stop == "end_turn"
    chunks = [
        f
        for f in peer.frames(start)
        if f.method == "session/update"
        and f.params["update"]["sessionUpdate"] == "agent_message_chunk"
    ]
    assert len(chunks) == 1
    assert len(chunks[0].params["update"]["content"]["text"]) == 2 * 1024 * 1024
    assert len(chunks[0].raw) > 2 * 1024 * 1024 and b"\n" not in chunks[0].raw


async def test_fs_request_reaches_the_client(peer: Peer) -> None:
    sid = await peer.new_session()
    start = len(peer.events)
    _, future = peer.send(
        "session/prompt", {"sessionId": sid, "prompt": [{"type": "text", "text": "/fs"}]}
    )
    req = await peer.wait_frame(lambda f: f.kind is Kind.REQUEST, start)
    assert req.method == "fs/read_text_file"
    assert req.params["sessionId"] == sid and os.path.isabs(req.params["path"])
    peer.proc.respond(
        req.id,
        error={
            "code": -32000,
            "message": "client tool blocked",
            "data": {"reason": "client_tool_blocked", "method": "fs/read_text_file"},
        },
    )
    assert (await asyncio.wait_for(future, 20)).result["stopReason"] == "end_turn"
    text = peer.text(start)
    assert "-32000" in text and "client_tool_blocked" in text
