"""What real agents send, shown as they meant it (issue 12), live and after a restart.

Each test runs a scripted imitation of one real agent (tests/agents/*_like.py, doing on the
wire what the agent does, see reference/agents-and-peers.md) in a real room, then reads
every line the transcript view paints and the Markdown export, live and again from the
log in a freshly opened engine: the two must be identical, and say what the agent meant.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import demo_spec, idle, open_engine, started_room, wait_for
from transcript_lines import room_export, view_lines

from amux_tui.engine import frames as F
from amux_tui.engine.config import AgentSpec
from amux_tui.engine.engine import Engine
from amux_tui.engine.meta import RoomMeta
from amux_tui.engine.room import Room
from amux_tui.engine.snapshot import ls_row, read_room, stored_snapshot

AGENTS = Path(__file__).parent / "agents"


def imitation(name: str, state: Path) -> AgentSpec:
    """The imitation ``tests/agents/<name>_like.py``, run as a command (like a real one)."""
    script = AGENTS / f"{name.replace('-', '_')}_like.py"
    return AgentSpec(name, sys.executable, (str(script), "--state", str(state)), source="cmd")


async def run_prompt(room: Room, text: str) -> None:
    room.prompt(text)
    await idle(room)


async def permission_asked(home: Path, name: str, state: Path, text: str) -> tuple[Engine, Room]:
    """A room of the imitation ``name``, prompted with ``text``, asking a permission."""
    engine = open_engine(home)
    room, _ = await started_room(engine, imitation(name, state))
    room.prompt(text)
    await wait_for(lambda: bool(room.pending_permissions), what="the permission request")
    return engine, room


async def reopened(home: Path, room_id: str) -> tuple[Engine, Room]:
    """The room as a restarted amux has it: a new engine on the same home, hydrated."""
    engine = open_engine(home)
    room = engine.rooms[room_id]
    await room.load()
    return engine, room


async def live_then_restarted(home: Path, engine: Engine, room: Room) -> tuple[list[str], str]:
    """The view's lines and the export, live; asserts a restarted amux shows the same."""
    lines, export = view_lines(room.transcript), room_export(room)
    await engine.shutdown()
    engine2, again = await reopened(home, room.id)
    assert view_lines(again.transcript) == lines
    assert room_export(again) == export
    await engine2.shutdown()
    return lines, export


def between(lines: list[str], first: str, last: str) -> list[str]:
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    end = next(i for i, line in enumerate(lines) if i >= start and line.startswith(last))
    return lines[start : end + 1]


# --- Hermes ---------------------------------------------------------------------------------


async def test_hermes_failed_summary_is_a_failed_compaction(tmp_path: Path) -> None:
    home = tmp_path / "h"
    engine = open_engine(home)
    room, rec = await started_room(engine, imitation("hermes", tmp_path / "agent"))
    assert room.agent.launch is not None and room.agent.launch.stderr_detection
    await run_prompt(room, "compact")
    done = [f["params"] for f in rec.frames if f["method"] == F.COMPACTION_DONE]
    assert len(done) == 1 and done[0]["outcome"] == "failed"
    assert "429 Too Many Requests" in done[0]["failure"]
    assert room.state.compaction.count == 0 and not room.compacting  # badge cleared
    # Hermes 0.19 compacts in place: the new segment says so
    assert room.state.segments[-1].provenance == {
        "lastReason": "compaction", "hermesSessionId": done[0]["hermesSessionId"],
        "lastMode": "in_place",
    }  # fmt: skip
    lines, export = await live_then_restarted(home, engine, room)
    failed = "context compaction failed — 36 earlier messages dropped without a summary"
    assert between(lines, "ℹ compacting context…", "~3,100") == [
        "ℹ compacting context…",
        "",
        f"  {failed}  ".center(100, "─"),
        "",
        "🗜️ Context compressed: 40 → 4 messages",  # the agent's two lines stay two lines
        "~3,100 tokens now in context",
    ]
    assert not any("hermes_stderr" in line or "context compacted" in line for line in lines)
    assert "*context compaction failed — 36 earlier messages dropped without a summary*" in export
    assert "🗜️ Context compressed: 40 → 4 messages  \n~3,100 tokens now in context" in export


async def test_hermes_compaction_without_done_ends_unconfirmed(tmp_path: Path) -> None:
    home = tmp_path / "h"
    engine = open_engine(home)
    room, rec = await started_room(engine, imitation("hermes", tmp_path / "agent"))
    await run_prompt(room, "no progress")
    assert F.COMPACTION_DONE not in rec.methods() and not room.compacting
    lines, export = await live_then_restarted(home, engine, room)
    unconfirmed = (
        "⚠ context compaction ended with the turn, unconfirmed: the agent never said it finished"
    )
    assert between(lines, "ℹ compacting context…", "⚠ context compaction") == [
        "ℹ compacting context…", "", "Nothing to compact yet.", "", unconfirmed,
    ]  # fmt: skip
    assert lines.count(unconfirmed) == 1
    assert f"⚠️ *{unconfirmed[2:]}*" in export
    # nothing was fabricated for the log: the line comes from the turn's settlement
    assert not any("unconfirmed" in str(r["frame"]) for r in _log(home, room.id))


async def test_agent_title_names_the_room_until_the_user_does(tmp_path: Path) -> None:
    home = tmp_path / "h"
    engine = open_engine(home)
    spec = imitation("hermes", tmp_path / "agent")
    auto, _ = await started_room(engine, spec)
    named, _ = await started_room(engine, spec, title="my review")
    for room in (auto, named):
        await run_prompt(room, "the login bug")
    await wait_for(lambda: auto.title == "Hermes on the login bug", what="the agent's title")
    meta_file = engine.paths.rooms_dir / f"{auto.id}.json"
    await wait_for(  # saved while amux runs: `amux ls` and ROOM arguments see it at once
        lambda: RoomMeta.read(meta_file, auto.id).title == "Hermes on the login bug",
        what="the title in the room's metadata",
    )
    await wait_for(lambda: named.state.agent_title is not None, what="the title update")
    assert named.title == "my review"  # --title sticks
    auto.rename("login")  # from now on the user's name wins
    await run_prompt(auto, "more")
    await wait_for(lambda: auto.state.agent_title == "Hermes on more", what="a new agent title")
    assert auto.title == "login"
    await run_prompt(named, "other")
    await wait_for(lambda: named.state.agent_title == "Hermes on other", what="a new agent title")
    auto2, _ = await started_room(engine, spec)
    await run_prompt(auto2, "docs")
    await wait_for(lambda: auto2.title == "Hermes on docs", what="the agent's title")
    await engine.shutdown()
    engine2 = open_engine(home)
    rooms_dir = engine2.paths.rooms_dir
    titles = {"my review": named.id, "login": auto.id, "Hermes on docs": auto2.id}
    for title, room_id in titles.items():
        assert engine2.rooms[room_id].title == title  # from metadata, before any load
        meta, hydrated = read_room(rooms_dir, room_id)
        assert ls_row(meta, hydrated)["title"] == title  # amux ls
        assert stored_snapshot(meta, hydrated)["title"] == title  # amux show
        await engine2.rooms[room_id].load()
        assert engine2.rooms[room_id].title == title
    assert engine2.find(auto2.id[:6]) is engine2.rooms[auto2.id]
    assert engine2.find("Hermes on docs") is engine2.rooms[auto2.id]  # ROOM by its title
    await engine2.shutdown()


# --- Claude Code, Codex ------------------------------------------------------------------------


async def test_claude_fenced_tool_output_and_permission_zero(tmp_path: Path) -> None:
    home = tmp_path / "h"
    engine, room = await permission_asked(home, "claude", tmp_path / "agent", "list the files")
    assert room.pending_permissions[0].request_id == 0
    room.answer_permission(0, "allow")
    await idle(room)
    lines, export = await live_then_restarted(home, engine, room)
    tool = lines.index("✓ ls -la  execute")
    assert "```" not in "\n".join(lines)  # the fence is rendered as a code block
    body = [line.strip() for line in lines[tool + 1 : tool + 8]]
    assert "$ ls -la" in body and "-rw-r--r-- 1 me me 120 README.md" in body
    assert "? ls -la  execute" in lines and "  → Allow" in lines
    # the export keeps the agent's Markdown: its fence, not a fence around the fence
    assert "```console\n$ ls -la\ntotal 8\n" in export and "```text\n```console" not in export
    assert "🔐 **Permission requested:** ls -la → **Allow**" in export


async def test_codex_uuid_permission_before_its_tool_call_and_compact_text(tmp_path: Path) -> None:
    home = tmp_path / "h"
    engine, room = await permission_asked(home, "codex", tmp_path / "agent", "run the tests")
    request_id = room.pending_permissions[0].request_id
    assert request_id == "6f1c2b7e-3d4a-4b9e-8c21-0a5f9e7d1b33"
    assert room.model.find_tool("call_7Qx") is None  # asked before the tool call exists
    room.answer_permission(request_id, "approved")
    await idle(room)
    await run_prompt(room, "/compact")
    lines, export = await live_then_restarted(home, engine, room)
    assert "? pytest -q  execute" in lines and "  → Yes" in lines
    assert "✓ pytest -q  execute" in lines and "  3 passed in 0.02s" in lines
    compacted = lines.index("Context compacted")  # its own line, not run into "Heads up"
    assert lines[compacted + 1].startswith("Heads up: Long conversations")
    assert "Context compacted  \nHeads up: Long conversations" in export


# --- Gemini CLI --------------------------------------------------------------------------------


async def test_gemini_history_replayed_after_load_is_not_recorded(tmp_path: Path) -> None:
    home = tmp_path / "h"
    state = tmp_path / "agent"
    engine = open_engine(home)
    room, _ = await started_room(engine, imitation("gemini", state))
    await run_prompt(room, "the readme")
    lines, export = view_lines(room.transcript), room_export(room)
    await engine.shutdown()

    engine2, again = await reopened(home, room.id)
    records = len(_log(home, room.id))
    await again.start()  # session/load: Gemini answers, then replays the conversation
    await wait_for(lambda: bool(again.state.available_commands), what="the command list")
    assert again.state.available_commands[0]["name"] == "memory"  # state updates apply
    assert again.agent.replayed_updates == 7  # user, thought, call, response, tool, plan, reply
    new = [r["frame"] for r in _log(home, room.id)[records:]]
    assert not any(_update_kind(f) in _HISTORY for f in new), new
    resumed = view_lines(again.transcript)
    assert resumed[: len(lines)] == lines  # history shown once, as recorded
    assert [line for line in resumed[len(lines) :] if line] == [
        "  session resumed  ".center(100, "─")
    ]
    assert "[Function" not in "\n".join(resumed) and "[Function" not in room_export(again)
    assert room_export(again).startswith(export.rstrip("\n"))
    await run_prompt(again, "the changelog")  # the next turn is new history: shown
    assert "Gemini read the changelog." in view_lines(again.transcript)
    assert again.agent.replayed_updates == 7
    await engine2.shutdown()


# --- fast-agent ----------------------------------------------------------------------------------


async def test_fast_agent_unfinished_tool_call_and_plain_lists(tmp_path: Path) -> None:
    home = tmp_path / "h"
    engine = open_engine(home)
    room, _ = await started_room(engine, imitation("fast-agent", tmp_path / "agent"))
    await run_prompt(room, "fetch it")
    lines, export = await live_then_restarted(home, engine, room)
    assert "◌ fetch https://example.com  fetch  ended without a result" in lines
    assert not any(line.startswith("○") for line in lines)  # never "pending" forever
    assert between(lines, "Available commands:", "/tools") == [
        "Available commands:",
        "/help - show this help",
        "/clear - forget the conversation",
        "/model - switch the model",
        "/tools - list MCP tools",
    ]
    assert "🔧 fetch https://example.com — ended without a result" in export
    assert "Available commands:  \n/help - show this help  \n/clear" in export


# --- the demo agent: one compaction, two detectors ------------------------------------------


async def test_one_compaction_reported_twice_counts_once(tmp_path: Path) -> None:
    home = tmp_path / "h"
    engine = open_engine(home)
    room, rec = await started_room(engine, demo_spec())
    await run_prompt(room, "/compact all")
    # stderr is a pipe of its own: its lines may come after the turn settled.
    await wait_for(
        lambda: any("context compression done" in line for line in room.stderr_tail),
        what="the Hermes done line read",
    )
    assert [f["params"]["source"] for f in rec.frames if f["method"] == F.COMPACTION_STARTED] in (
        [F.SOURCE_HERMES], [F.SOURCE_ACP],
    )  # fmt: skip
    assert len([f for f in rec.frames if f["method"] == F.COMPACTION_DONE]) == 1
    assert room.state.compaction.count == 1
    lines, export = await live_then_restarted(home, engine, room)
    assert [line for line in lines if "compact" in line.lower() and "─" in line] == [
        "  context compacted (#1)  ".center(100, "─")
    ]
    assert lines.count("ℹ compacting context…") == 1
    assert export.count("*context compacted (#1)*") == 1 and "(#2)" not in export


# --- helpers ------------------------------------------------------------------------------------

_HISTORY = {
    F.USER_MESSAGE_CHUNK, F.AGENT_MESSAGE_CHUNK, F.AGENT_THOUGHT_CHUNK, F.TOOL_CALL,
    F.TOOL_CALL_UPDATE, F.PLAN,
}  # fmt: skip


def _update_kind(frame: dict[str, Any]) -> Any:
    params = frame.get("params") or {}
    update = params.get("update") if isinstance(params, dict) else None
    return update.get("sessionUpdate") if isinstance(update, dict) else None


def _log(home: Path, room_id: str) -> list[dict[str, Any]]:
    import json

    path = home / "rooms" / f"{room_id}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
