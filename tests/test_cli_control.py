"""The CLI commands that drive amux: against a served engine, and without a running amux."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from control_helpers import Client, served
from engine_helpers import demo_spec, idle, open_engine, started_room, wait_for

from amux_tui.cli_control import EXIT_BY_OUTCOME
from amux_tui.engine import control_protocol as P


def home() -> Path:
    return Path(os.environ["AMUX_HOME"])  # conftest: this test's own home


async def amux(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    """``python -m amux_tui ARGS`` without a terminal, while this loop serves the socket."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "amux_tui", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(stdin or b""), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amux_tui", *args],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_exit_status_by_outcome_is_distinct():
    assert EXIT_BY_OUTCOME[P.END_TURN] == 0
    codes = [
        EXIT_BY_OUTCOME[o] for o in (P.CANCELLED, P.REFUSED_TURN, P.LIMIT, P.ERROR, P.INTERRUPTED)
    ]
    assert len(set(codes)) == len(codes) and 0 not in codes and 2 not in codes


async def test_send_wait_prints_the_reply_and_exits_by_outcome():
    async with served(home()) as (engine, server):
        await started_room(engine, title="B")
        code, out, err = await amux("send", "B", "hello", "--wait")
        assert code == 0, err
        assert "## Demo reply" in out and "> hello" in out and err == ""
        code, out, err = await amux("send", "B", "/refuse", "--wait")
        assert code == 4 and "refused" in err
        code, out, _ = await amux("send", "B", "/maxtokens", "--wait", "--json")
        settled = json.loads(out)
        assert code == 5 and settled["outcome"] == "limit" and settled["stopReason"] == "max_tokens"
        code, out, _ = await amux("send", "B", "-", "--wait", stdin=b"from stdin\n")
        assert code == 0 and "> from stdin" in out
        code, out, _ = await amux("send", "B", "/markup")
        assert code == 0 and out.startswith("sent at-")
        code, out, err = await amux("send", "B", "/crash", "--wait")
        assert code == 7 and "interrupted (agent_exit)" in err


async def test_send_wait_cancelled_from_another_shell_exits_3():
    gate = home() / "gate"
    async with served(home()) as (engine, server):
        room, _ = await started_room(engine, demo_spec(AMUX_DEMO_GATE=str(gate)), title="B")
        waiting = asyncio.create_task(amux("send", "B", "held", "--wait"))
        await wait_for(lambda: room.busy, timeout=60, what="the turn to start")
        code, out, err = await amux("cancel", "B")
        assert code == 0 and "cancel sent" in out
        code, out, err = await waiting
        assert code == 3 and "cancelled" in err
        code, out, err = await amux("cancel", "B")
        assert code == 1 and "no turn is running" in err


async def test_watch_prints_readable_sanitised_text_until_the_room_closes():
    async with served(home()) as (engine, server):
        room, _ = await started_room(engine, title="B")
        room.prompt("/markup")
        await idle(room)
        watching = asyncio.create_task(amux("watch", "B", "--history", "all"))
        # The watcher has joined once its arrival is recorded; then the room closes.
        await wait_for(lambda: len(room._subscribers) == 2, timeout=60, what="watcher")
        code, out, err = await amux("close", "B")
        assert code == 0 and "archived" in out
        code, out, err = await watching
        assert code == 0, err
        assert out.startswith("── B (")
        assert "▶ you · at-1\n/markup\n" in out
        assert "\x1b" not in out and "␛[" in out  # the agent's ANSI shows, never acts
        assert out.rstrip().endswith("── watch ended: room closed ──")


async def test_jsonl_watch_prints_protocol_events():
    async with served(home()) as (engine, server):
        room, _ = await started_room(engine, title="B")
        watching = asyncio.create_task(amux("watch", "B", "--jsonl", "--history", "0"))
        await wait_for(lambda: len(room._subscribers) == 2, timeout=60, what="watcher")
        room.rename("Bee")
        await (await Client.open(server.path)).request("close", room="Bee")
        code, out, _ = await watching
        events = [json.loads(line) for line in out.splitlines()]
        assert [e["event"] for e in events[:2]] == ["snapshot", "live"]
        assert events[-1] == {"event": "closed", "reason": "room closed"}
        renamed = [e for e in events if e.get("frame", {}).get("method") == "amux/room_renamed"]
        assert renamed[0]["frame"]["params"]["title"] == "Bee"


def test_without_a_running_amux_driving_commands_say_so():
    open_engine(home()).lock.release()  # a rooms directory, nobody running
    for args in (["send", "B", "hi"], ["watch", "B"]):
        res = run(*args)
        assert res.returncode == 2 and "no amux is running" in res.stderr, res.stderr
        assert "start it with `amux`" in res.stderr and "Traceback" not in res.stderr
    res = run("cancel", "B")
    assert res.returncode == 2 and "not running, so no turn is running" in res.stderr


def test_offline_new_rename_close_and_a_stale_socket():
    rooms = home() / "rooms"
    rooms.mkdir(parents=True)
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(rooms / "control.sock"))  # left by a crashed amux
    dead.close()
    res = run("new", "--title", "Offline", "--background")
    assert res.returncode == 0, res.stderr
    room_id = res.stdout.strip()
    assert (rooms / f"{room_id}.json").exists()
    res = run("rename", "Offline", "Renamed")
    assert res.returncode == 0 and "renamed to Renamed" in res.stdout
    rows = json.loads(run("ls", "--json").stdout)
    assert [(r["title"], r["live"]) for r in rows] == [("Renamed", False)]
    res = run("close", room_id)
    assert res.returncode == 0 and "archived" in res.stdout
    assert json.loads(run("ls", "--json").stdout) == []
