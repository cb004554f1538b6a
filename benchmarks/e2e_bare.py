"""Bare Textual baselines for ``bench_e2e.py``: the least an app can do for each figure.

Started exactly as amux is (``python e2e_bare.py MODE ...`` in the same pseudo-terminal
harness), so the two differ only in what the app does:

``input``
    One ``Input`` with amux's placeholder: cold start and idle key echo.
``client N``
    ``N`` demo agents (``python -m amux_tui.demo_agent``, the very agent amux runs), each
    shown in a bordered ``Log`` (1 full screen, 4 in a 2 x 2 grid) above one ``Input``.
    The ACP it speaks is the minimum: ``initialize``, ``session/new``, then each prompt
    submitted goes to every agent as ``session/prompt``. The agents' stdout is read in
    64 KiB blocks, each line decoded with msgspec and the text of every
    ``agent_message_chunk`` appended to the Log, a line break put between two chunks where
    the pane's width would be passed (so it shows what amux shows: one wrapped paragraph,
    the newest chunk at the end; no Markdown, no log file, no state). Key echo under load,
    chunk-to-screen and flood throughput.
``home DIR``
    A rooms directory as amux keeps it: a ``ListView`` of the titles in every
    ``<id>.json`` and a ``Log`` with the last screenful of the first room's streamed
    text, its whole log decoded with msgspec (what amux's first paint shows).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import msgspec
from textual.app import App, ComposeResult
from textual.containers import Grid
from textual.widgets import Input, ListItem, ListView, Log, Static

PLACEHOLDER = "Message the agent"
CSS = """
Grid { grid-size: 2 2; height: 1fr; }
Input { dock: bottom; }
Grid.one { grid-size: 1 1; }
Log { border: round $accent; }
HomeApp Screen { layout: horizontal; }
HomeApp ListView { width: 30; }
"""


class InputApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Input(placeholder=PLACEHOLDER)


class Agent:
    """One demo agent over stdio: handshake, prompts, and its chunks into a Log."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None
        self.session: str | None = None
        self.next_id = 0
        self.waiting: dict[int, asyncio.Future[dict]] = {}

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "amux_tui.demo_agent", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        asyncio.get_running_loop().create_task(self.read())
        await self.request("initialize", {"protocolVersion": 1, "clientCapabilities": {}})
        result = await self.request("session/new", {"cwd": os.getcwd(), "mcpServers": []})
        self.session = result["sessionId"]
        self.log.write_line("agent ready")

    def send(self, method: str, params: dict) -> asyncio.Future[dict]:
        assert self.proc is not None and self.proc.stdin is not None
        self.next_id += 1
        future: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
        self.waiting[self.next_id] = future
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.proc.stdin.write(msgspec.json.encode(message) + b"\n")
        return future

    async def request(self, method: str, params: dict) -> dict:
        return (await self.send(method, params)).get("result") or {}

    def prompt(self, text: str) -> None:
        if self.session is not None:
            prompt = [{"type": "text", "text": text}]
            self.send("session/prompt", {"sessionId": self.session, "prompt": prompt})

    async def read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        decode = msgspec.json.decode
        rest = b""
        column = 0  # where the paragraph's last line ends: chunks are wrapped between them
        while block := await self.proc.stdout.read(1 << 16):
            *lines, rest = (rest + block).split(b"\n")
            width = max(20, self.log.scrollable_content_region.width - 1)
            parts = []
            for line in lines:
                message = decode(line)
                if "id" in message and "method" not in message:
                    future = self.waiting.pop(message["id"], None)
                    if future is not None:
                        future.set_result(message)
                    continue
                update = message.get("params", {}).get("update") or {}
                if update.get("sessionUpdate") == "agent_message_chunk":
                    text = update["content"]["text"]
                    if column + len(text) > width:
                        parts.append("\n")
                        column = 0
                    parts.append(text)
                    column += len(text)
            if parts:
                self.log.write("".join(parts))


class ClientApp(App[None]):
    CSS = CSS
    AUTO_FOCUS = "Input"

    def __init__(self, agents: int) -> None:
        super().__init__()
        self.count = agents

    def compose(self) -> ComposeResult:
        with Grid(classes="one" if self.count == 1 else ""):
            for _ in range(self.count):
                yield Log()
        yield Input(placeholder=PLACEHOLDER)

    async def on_mount(self) -> None:
        self.agents = [Agent(log) for log in self.query(Log)]
        for agent in self.agents:
            self.run_worker(agent.start())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        for agent in self.agents:
            agent.prompt(event.value)
        event.input.clear()


class HomeApp(App[None]):
    CSS = CSS

    def __init__(self, rooms_dir: Path) -> None:
        super().__init__()
        metas = [p for p in sorted(rooms_dir.glob("*.json")) if p.stem != "layout"]
        self.titles = [json.loads(p.read_bytes()).get("title", p.stem) for p in metas]
        texts = []
        first = rooms_dir / f"{metas[0].stem}.jsonl" if metas else None
        if first is not None and first.exists():
            for line in first.read_bytes().split(b"\n"):
                if line:
                    params = msgspec.json.decode(line)["frame"].get("params") or {}
                    update = params.get("update") if isinstance(params, dict) else None
                    if isinstance(update, dict) and "content" in update:
                        texts.append(str(update["content"].get("text", "")))
        self.lines = texts[-60:]

    def compose(self) -> ComposeResult:
        yield ListView(*(ListItem(Static(t)) for t in self.titles))
        yield Log()

    def on_mount(self) -> None:
        self.query_one(Log).write_lines(self.lines)


def main() -> None:
    mode, *args = sys.argv[1:] or ["input"]
    if mode == "input":
        InputApp().run()
    elif mode == "client":
        ClientApp(int(args[0]) if args else 1).run()
    elif mode == "home":
        HomeApp(Path(args[0]) / "rooms" if args else Path("rooms")).run()
    else:
        raise SystemExit(f"unknown mode {mode!r}: input, client N or home DIR")


if __name__ == "__main__":
    main()
