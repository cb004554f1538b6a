"""Prompt → scripted behaviour.

``SCENARIOS`` is the one table of slash commands: ``/help`` prints it and the agent
advertises it in ``available_commands_update``. A prompt whose first word is ``/name``
runs that scenario with the remaining words as arguments; a non-slash prompt that mentions
``tool``, ``plan``, ``permission`` or ``compact`` runs the matching scenario; anything
else gets the ordinary streamed Markdown reply. All text is deterministic.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Awaitable, Callable

import msgspec

from amux_tui.demo_agent.compaction import STYLES, run_compaction
from amux_tui.demo_agent.flood import HINT as FLOOD_HINT
from amux_tui.demo_agent.flood import run_flood
from amux_tui.demo_agent.permission import run_permission, text_content
from amux_tui.demo_agent.turn import Turn

Handler = Callable[[Turn, list[str]], Awaitable[str]]

SLOW_TICK = 0.25  # seconds between /slow chunks, independent of the chunk delay knob


class Scenario(msgspec.Struct, frozen=True):
    """One slash command: its name, what it does, an input hint and the coroutine."""

    name: str
    description: str
    hint: str | None
    run: Handler


def _quote(text: str, limit: int = 200) -> str:
    """``text`` as a Markdown block quote, shortened to ``limit`` characters."""
    text = text.strip() or "(empty)"
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "\n".join("> " + line for line in text.splitlines())


def _int_arg(args: list[str], default: int) -> int:
    try:
        return int(args[0]) if args else default
    except ValueError:
        return default


def _float_arg(args: list[str], default: float) -> float:
    try:
        value = float(args[0]) if args else default
    except ValueError:
        return default
    return value if value >= 0 else default


def memory_sentence(turn: Turn) -> str:
    """What this session remembers: proves context survives load/resume/restarts."""
    earlier = turn.earlier_prompts
    if not earlier:
        return "This is the first prompt of this session."
    first = earlier[0].strip().splitlines()[0] if earlier[0].strip() else "(empty)"
    noun = "prompt" if len(earlier) == 1 else "prompts"
    return (
        f"I remember {len(earlier)} earlier {noun} in this session; the first was “{first[:120]}”."
    )


def commands_line() -> str:
    """Every slash command, comma separated, as inline code."""
    return ", ".join(f"`/{s.name}`" for s in SCENARIOS)


# --------------------------------------------------------------------------- ordinary


async def ordinary(turn: Turn, text: str, unknown: str | None = None) -> str:
    """A thought, then a Markdown reply echoing the prompt, then ``end_turn``."""
    await turn.think(
        "The user sent an ordinary prompt. I'll echo it, show some Markdown and list what I can do."
    )
    parts = ["## Demo reply\n\n"]
    if unknown is not None:
        parts.append(f"I don't know the command `/{unknown}`.\n\n")
    if turn.session.mode == "plan":
        parts.append("*Plan mode: I only describe what I would do.*\n\n")
    parts.append(f"You wrote:\n\n{_quote(text)}\n\n")
    parts.append(
        "I am the **built-in amux demo agent**: no model, no network, just scripted replies "
        "so you can see what amux shows. A few things to try:\n\n"
        "- `/tool` for a tool call with a diff\n"
        "- `/plan` for a plan that makes progress\n"
        "- `/permission` for a permission prompt\n"
        "- `/compact` for a context compaction\n\n"
        "Here is some code, to show highlighting:\n\n"
        "```python\n"
        "def fib(n: int) -> list[int]:\n"
        '    """The first n Fibonacci numbers."""\n'
        "    out = [0, 1]\n"
        "    while len(out) < n:\n"
        "        out.append(out[-1] + out[-2])\n"
        "    return out[:n]\n"
        "```\n\n"
    )
    parts.append(memory_sentence(turn) + "\n\n")
    parts.append(f"Slash commands: {commands_line()}.\n")
    await turn.say("".join(parts))
    return "end_turn"


# --------------------------------------------------------------------------- scenarios


async def help_(turn: Turn, args: list[str]) -> str:
    """The scenario table as Markdown."""
    rows = ["| command | does |", "|---|---|"]
    for s in SCENARIOS:
        usage = f"/{s.name}" + (f" [{s.hint}]" if s.hint else "")
        rows.append(f"| `{usage}` | {s.description} |")
    await turn.say(
        "## Demo scenarios\n\n"
        + "\n".join(rows)
        + "\n\nKeywords work too: a prompt mentioning *tool*, *plan*, *permission* or "
        "*compact* runs that scenario.\n\n"
        "To look at a state that usually lasts a moment, start the agent with "
        "`AMUX_DEMO_GATE=FILE`: every turn then stays open after its reply, and `/compact` "
        "right after it starts, until `FILE` exists (`touch FILE` lets them finish).\n",
        words=6,
    )
    return "end_turn"


_OLD = 'def greet():\n    print("hello")\n'
_NEW = 'def greet(name: str) -> None:\n    print(f"hello, {name}")\n'


async def tool(turn: Turn, args: list[str]) -> str:
    """An edit tool call (pending → in_progress → completed with a diff), then a read."""
    cwd = turn.session.cwd
    path = os.path.join(cwd, "hello.py")
    readme = os.path.join(cwd, "README.md")
    await turn.think("I'll edit hello.py so greet takes a name, then check the README.")
    await turn.say("I'll update `hello.py` so `greet` takes a name.\n")
    edit = turn.tool_call(
        "Edit hello.py",
        "edit",
        locations=[{"path": path, "line": 1}],
        rawInput={"path": path, "oldText": _OLD, "newText": _NEW},
    )
    await turn.sleep(turn.delay * 3)
    turn.tool_update(edit, status="in_progress")
    await turn.sleep(turn.delay * 5)
    turn.tool_update(
        edit,
        status="completed",
        content=[
            {"type": "diff", "path": path, "oldText": _OLD, "newText": _NEW},
            text_content("Applied 1 edit to hello.py (demo: nothing was written to disk)."),
        ],
    )
    read = turn.tool_call("Read README.md", "read", locations=[{"path": readme}])
    turn.tool_update(read, status="in_progress")
    await turn.sleep(turn.delay * 3)
    turn.tool_update(
        read,
        status="completed",
        content=[text_content("# Demo project\n\nRun `python hello.py`.\n")],
    )
    await turn.say("Done: `greet` now takes a `name`, and the README needs no change.\n")
    return "end_turn"


_PLAN = [
    ("Read the relevant code", "high"),
    ("Make the change", "medium"),
    ("Run the tests", "low"),
]


async def plan(turn: Turn, args: list[str]) -> str:
    """A 3-entry plan, re-sent whole as each entry goes pending → in_progress → completed."""
    statuses = ["pending"] * len(_PLAN)

    def send() -> None:
        turn.plan([(c, p, s) for (c, p), s in zip(_PLAN, statuses, strict=True)])

    await turn.think("This needs a few steps; a plan keeps them visible.")
    send()
    await turn.say("Here is my plan.\n\n")
    for i, (content, _priority) in enumerate(_PLAN):
        statuses[i] = "in_progress"
        send()
        await turn.say(f"**Step {i + 1}:** {content.lower()}… ")
        statuses[i] = "completed"
        send()
        await turn.say("done.\n\n")
    await turn.say("All three steps are complete.\n")
    return "end_turn"


async def compact(turn: Turn, args: list[str]) -> str:
    """See :mod:`amux_tui.demo_agent.compaction`."""
    return await run_compaction(turn, args)


async def permission(turn: Turn, args: list[str]) -> str:
    """See :mod:`amux_tui.demo_agent.permission`."""
    return await run_permission(turn, args)


async def slow(turn: Turn, args: list[str]) -> str:
    """A chunk every 0.25 s for ``seconds`` (default 10), unless cancelled."""
    seconds = _float_arg(args, 10.0)
    ticks = max(1, round(seconds / SLOW_TICK))
    message_id = turn.next_message_id()
    for i in range(ticks):
        turn.emit(
            {
                "sessionUpdate": "agent_message_chunk",
                "content": {"type": "text", "text": f"tick {i + 1} "},
                "messageId": message_id,
            }
        )
        await turn.sleep(SLOW_TICK)
    turn.emit(
        {
            "sessionUpdate": "agent_message_chunk",
            "content": {"type": "text", "text": "\n\nSlow turn finished.\n"},
            "messageId": message_id,
        }
    )
    return "end_turn"


async def flood(turn: Turn, args: list[str]) -> str:
    """See :mod:`amux_tui.demo_agent.flood`."""
    return await run_flood(turn, args)


async def crash(turn: Turn, args: list[str]) -> str:
    """Two chunks, a stderr line, then ``os._exit(code)`` (default 3) mid-turn."""
    code = _int_arg(args, 3)
    message_id = turn.next_message_id()
    for text in ("About to crash ", f"with exit code {code}…\n"):
        turn.emit(
            {
                "sessionUpdate": "agent_message_chunk",
                "content": {"type": "text", "text": text},
                "messageId": message_id,
            }
        )
        await turn.sleep(turn.delay)
    turn.log(f"amux-demo: crashing on purpose with exit code {code}")
    turn.agent.hard_exit(code)
    return "end_turn"  # pragma: no cover - hard_exit does not return


async def garbage(turn: Turn, args: list[str]) -> str:
    """A line that is not JSON on stdout, then a normal reply."""
    turn.agent.writer.write_raw(b"this is not json {\n")
    await turn.say("I just wrote a line that is not JSON to stdout; amux should shrug it off.\n")
    return "end_turn"


async def huge(turn: Turn, args: list[str]) -> str:
    """One agent_message_chunk whose text is ``MiB`` mebibytes (default 32) on one line."""
    size = int(_float_arg(args, 32.0) * 1024 * 1024)
    pattern = "huge line "
    text = (pattern * (size // len(pattern) + 1))[:size]
    turn.message(text)
    return "end_turn"


async def fs(turn: Turn, args: list[str]) -> str:
    """Ask the client for ``fs/read_text_file`` (even unadvertised) and report the answer."""
    path = os.path.join(turn.session.cwd, "README.md")
    await turn.say(f"Asking the client to read `{path}` with `fs/read_text_file`…\n\n")
    response = await turn.request("fs/read_text_file", {"sessionId": turn.session_id, "path": path})
    if "error" in response:
        err = response.get("error") or {}
        data = err.get("data") if isinstance(err, dict) else None
        detail = f" (data: `{json.dumps(data, sort_keys=True)}`)" if data is not None else ""
        await turn.say(
            f"The client answered with error {err.get('code')}: {err.get('message')}{detail}.\n"
        )
    else:
        result = response.get("result") or {}
        content = result.get("content", "") if isinstance(result, dict) else ""
        await turn.say(f"The client returned {len(str(content))} characters of content.\n")
    return "end_turn"


MARKUP_TEXT = (
    "Everything below must appear literally, not styled:\n\n"
    "- Rich tags: [bold]x[/bold], a bare closer [/] and [red on blue]colours[/red on blue]\n"
    "- ANSI escapes: \x1b[31mred\x1b[0m and \x1b[1mbold\x1b[0m\n"
    "- Template-ish: $variable and ${braced}\n"
    "- Textual actions: [@click=app.quit]click me[/] and [link=https://example.com]link[/link]\n"
)


async def markup(turn: Turn, args: list[str]) -> str:
    """Text full of markup lookalikes and escapes, to test literal rendering."""
    await turn.say(MARKUP_TEXT)
    return "end_turn"


async def refuse(turn: Turn, args: list[str]) -> str:
    """A short reply, then ``refusal``."""
    await turn.say("I can't help with that one (this is the demo's scripted refusal).\n")
    return "refusal"


async def maxtokens(turn: Turn, args: list[str]) -> str:
    """A reply cut short, then ``max_tokens``."""
    await turn.say("This answer is going to be cut off in the middle of a sen")
    return "max_tokens"


async def recall(turn: Turn, args: list[str]) -> str:
    """How many earlier prompts the session holds, quoting the first."""
    earlier = turn.earlier_prompts
    if not earlier:
        await turn.say("This session holds no earlier prompts.\n")
    else:
        noun = "prompt" if len(earlier) == 1 else "prompts"
        await turn.say(
            f"This session holds {len(earlier)} earlier {noun}. The first one was:\n\n"
            f"{_quote(earlier[0])}\n"
        )
    return "end_turn"


async def unknown_update(turn: Turn, args: list[str]) -> str:
    """An unknown sessionUpdate kind with extra fields and an extension notification."""
    turn.emit(
        {
            "sessionUpdate": "demo_sparkles",
            "sparkles": 3,
            "detail": {"nested": [1, 2, 3], "note": "clients must ignore this kind"},
            "_meta": {"amux-demo": {"unknown": True}},
        }
    )
    turn.agent.writer.notify(
        "_demo/notice",
        {"sessionId": turn.session_id, "level": "info", "message": "an extension notification"},
    )
    await turn.say(
        "I sent a `session/update` of an unknown kind (`demo_sparkles`) and a `_demo/notice` "
        "extension notification; neither should disturb the client.\n"
    )
    return "end_turn"


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("help", "List the demo scenarios", None, help_),
    Scenario("tool", "A tool call with status updates and a diff, then a read", None, tool),
    Scenario("plan", "A three-step plan that progresses while text streams", None, plan),
    Scenario(
        "permission",
        "Ask permission before a tool runs (N requests at once, withdraw one, or abandon it)",
        "count, withdraw or abandon",
        permission,
    ),
    Scenario("compact", "Compact the context window", "style: " + ", ".join(STYLES), compact),
    Scenario("slow", "Stream a chunk every 0.25 s (try cancelling)", "seconds (default 10)", slow),
    Scenario(
        "flood",
        "Stream N chunks, at full speed or RATE chunks/s (stamp: each chunk says when it was due)",
        FLOOD_HINT,
        flood,
    ),
    Scenario("crash", "Exit mid-turn with an exit code", "exit code (default 3)", crash),
    Scenario("garbage", "Write a non-JSON line to stdout, then reply", None, garbage),
    Scenario("huge", "One message chunk of the given size on one line", "MiB (default 32)", huge),
    Scenario("fs", "Ask the client to read a file (fs/read_text_file)", None, fs),
    Scenario("markup", "Text with markup and ANSI escapes to show literally", None, markup),
    Scenario("refuse", "End the turn with stopReason refusal", None, refuse),
    Scenario("maxtokens", "End the turn with stopReason max_tokens", None, maxtokens),
    Scenario("recall", "Say how many earlier prompts this session remembers", None, recall),
    Scenario(
        "unknown-update",
        "Send an unknown session update kind and an extension notification",
        None,
        unknown_update,
    ),
)
BY_NAME = {s.name: s for s in SCENARIOS}

# Keywords in a non-slash prompt → scenario; the earliest mention wins.
_KEYWORD_RE = re.compile(r"\b(tool|plan|permission|compact)", re.IGNORECASE)


def available_commands() -> list[dict[str, object]]:
    """The ``availableCommands`` of an ``available_commands_update``."""
    commands: list[dict[str, object]] = []
    for s in SCENARIOS:
        entry: dict[str, object] = {"name": s.name, "description": s.description}
        if s.hint:
            entry["input"] = {"hint": s.hint}
        commands.append(entry)
    return commands


def resolve(text: str) -> tuple[Scenario | None, list[str], str | None]:
    """``(scenario, args, unknown_command)`` for a prompt's text."""
    stripped = text.strip()
    if stripped.startswith("/"):
        first, *rest = stripped.split()
        name = first[1:].lower()
        scenario = BY_NAME.get(name)
        return scenario, rest, (None if scenario else name)
    match = _KEYWORD_RE.search(stripped)
    if match:
        return BY_NAME[match.group(1).lower()], [], None
    return None, [], None


async def run(turn: Turn, text: str) -> str:
    """Run whatever ``text`` asks for; returns the stop reason.

    With ``AMUX_DEMO_GATE`` set, the turn is then held open until the gate file exists.
    """
    scenario, args, unknown = resolve(text)
    if scenario is None:
        stop = await ordinary(turn, text, unknown)
    else:
        stop = await scenario.run(turn, args)
    await turn.hold()
    return stop
