"""Log summaries in room metadata (issue 13): ``amux ls``/``show`` without reading logs.

Real files, the real demo agent and the real CLI. A summary is trusted only while it
describes its log exactly; whatever else (stale, truncated, edited, malformed) reads the
log, and the answers are the same as without any summary.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from control_helpers import Client, served
from engine_helpers import demo_spec, idle, open_engine, started_room, wait_for
from terminal import run_cli

from amux_tui.engine.meta import RoomMeta
from amux_tui.engine.snapshot import summary_of


def meta_path(home: Path, room_id: str) -> Path:
    return home / "rooms" / f"{room_id}.json"


def log_path(home: Path, room_id: str) -> Path:
    return home / "rooms" / f"{room_id}.jsonl"


def stored_summary(home: Path, room_id: str) -> Any:
    return json.loads(meta_path(home, room_id).read_text()).get("summary")


def describing(home: Path, room_id: str) -> dict[str, Any] | None:
    """The room's summary if it describes its log as it is now (what ls/show would use)."""
    meta = RoomMeta.read(meta_path(home, room_id), room_id)
    return summary_of(meta, log_path(home, room_id))


def set_summary(home: Path, room_id: str, summary: Any) -> None:
    path = meta_path(home, room_id)
    data = json.loads(path.read_text())
    data["summary"] = summary
    path.write_text(json.dumps(data))


def cli_json(home: Path, *args: str) -> Any:
    return json.loads(run_cli(home, *args, "--json").stdout)


def answers(home: Path, room_ids: list[str]) -> dict[str, Any]:
    """What ``ls`` and ``show`` say about the home."""
    return {"ls": cli_json(home, "ls"), **{r: cli_json(home, "show", r) for r in room_ids}}


def answers_from_logs(home: Path, room_ids: list[str], tmp_path: Path) -> dict[str, Any]:
    """The same, on a copy of the home whose summaries are removed (the logs are read)."""
    copy = tmp_path / f"no-summaries-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(home, copy, symlinks=True)
    for room_id in room_ids:
        path = meta_path(copy, room_id)
        data = json.loads(path.read_text())
        data.pop("summary", None)
        path.write_text(json.dumps(data))
    return answers(copy, room_ids)


async def busy_home(home: Path) -> list[str]:
    """Three demo rooms after a clean quit: turns with tools, a compaction, a renamed room,
    a cancelled turn with a prompt queued behind it (held after the quit)."""
    engine = open_engine(home)
    gate = home / "gate"  # the third room's turn stays open until the quit cancels it
    a, _ = await started_room(engine, title="tools")
    a.prompt("/tool")
    await idle(a)
    a.prompt("hello there")
    await idle(a)
    b, _ = await started_room(engine, title="compacting")
    b.prompt("/compact")
    await idle(b)
    b.rename("renamed room")
    c, _ = await started_room(engine, demo_spec(AMUX_DEMO_GATE=str(gate)), title="queued")
    c.prompt("first")
    await wait_for(lambda: c.busy, what="turn open")
    assert c.prompt("second") == "queued"
    await engine.shutdown()
    return [a.id, b.id, c.id]


async def test_a_clean_quit_leaves_summaries_that_answer_like_the_logs(tmp_path):
    home = tmp_path / "h"
    ids = await busy_home(home)
    for room_id in ids:
        summary = describing(home, room_id)
        assert summary is not None, room_id
        assert summary["logSize"] == log_path(home, room_id).stat().st_size
    got = answers(home, ids)
    assert got == answers_from_logs(home, ids, tmp_path)
    rows = {row["roomId"]: row for row in got["ls"]}
    assert rows[ids[0]]["frames"] > 10 and rows[ids[1]]["compactions"] == 1
    assert rows[ids[1]]["title"] == "renamed room" and rows[ids[2]]["queued"] == 1
    assert got[ids[2]]["queue"][0]["held"] is True


async def test_a_summary_that_describes_the_log_is_used_without_reading_it(tmp_path):
    home = tmp_path / "h"
    ids = await busy_home(home)
    summary = stored_summary(home, ids[0])
    summary["row"]["frames"] += 1000  # still the same log size and last record
    summary["snapshot"]["frameCount"] += 1000
    set_summary(home, ids[0], summary)
    row = next(r for r in cli_json(home, "ls") if r["roomId"] == ids[0])
    assert row["frames"] == summary["row"]["frames"]
    assert cli_json(home, "show", ids[0])["frameCount"] == summary["snapshot"]["frameCount"]


async def after_a_turn(home: Path) -> tuple[Any, Any]:
    """An opened engine and a demo room after one turn with a tool call."""
    engine = open_engine(home)
    room, _ = await started_room(engine)
    room.prompt("/tool")
    await idle(room)
    return engine, room


async def test_a_summary_is_written_when_a_turn_ends(tmp_path):
    home = tmp_path / "h"
    engine, room = await after_a_turn(home)
    room.log.flush()
    # Saved with the metadata shortly after the turn (no quit): a stable state.
    await wait_for(lambda: describing(home, room.id) is not None, what="summary saved")
    assert describing(home, room.id)["row"]["frames"] == room.state.frame_count
    assert answers(home, [room.id]) == answers_from_logs(home, [room.id], tmp_path)
    await engine.shutdown()


async def test_an_open_turn_has_no_summary_and_ls_reads_the_log(tmp_path):
    home = tmp_path / "h"
    engine, room = await after_a_turn(home)
    assert room.save_meta()
    room.log.flush()
    assert describing(home, room.id) is not None
    room.prompt("/permission")  # the turn then waits for the answer: nothing more comes
    await wait_for(lambda: bool(room.pending_permissions), what="permission asked")
    assert room.save_meta()
    room.log.flush()
    assert stored_summary(home, room.id) is None
    # As after a crash mid-turn: ls/show read the log and close the turn in memory.
    got = answers(home, [room.id])
    assert got[room.id]["activeTurnId"] is None and got["ls"][0]["needsYou"] == 0
    assert got[room.id]["frameCount"] > room.state.frame_count
    again = answers_from_logs(home, [room.id], tmp_path)
    for rows in (got["ls"], again["ls"]):  # the closing frames are dated when applied
        rows[0].pop("lastActivity")
    assert got == again
    await engine.shutdown()
    assert describing(home, room.id) is not None


async def test_frames_recorded_after_the_summary_make_it_stale(tmp_path):
    home = tmp_path / "h"
    ids = await busy_home(home)
    old = meta_path(home, ids[0]).read_bytes()
    before = {row["roomId"]: row for row in cli_json(home, "ls")}
    engine = open_engine(home)
    room = engine.rooms[ids[0]]
    await room.load()
    await room.start()
    room.prompt("one more turn")
    await idle(room)
    await engine.shutdown()
    meta_path(home, ids[0]).write_bytes(old)  # as if amux died before its metadata save
    assert describing(home, ids[0]) is None
    got = answers(home, ids)
    assert got == answers_from_logs(home, ids, tmp_path)
    after = {row["roomId"]: row for row in got["ls"]}
    assert after[ids[0]]["frames"] > before[ids[0]]["frames"]


def cut_last_line(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 1])


def edit_last_record_time(path: Path) -> None:
    """Same size, same seq, another ``recorded_at`` (a different write of that record)."""
    data = bytearray(path.read_bytes())
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    at = data.index(b'"recorded_at":"', start) + len(b'"recorded_at":"') + 20  # a digit
    data[at] = ord("0") if data[at] != ord("0") else ord("1")
    path.write_bytes(bytes(data))


def drop_final_newline(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-1])


@pytest.mark.parametrize("damage", [cut_last_line, edit_last_record_time, drop_final_newline])
async def test_a_changed_log_is_read_instead_of_its_summary(tmp_path, damage):
    home = tmp_path / "h"
    ids = await busy_home(home)
    damage(log_path(home, ids[0]))
    assert describing(home, ids[0]) is None
    assert describing(home, ids[1]) is not None
    assert answers(home, ids) == answers_from_logs(home, ids, tmp_path)


MALFORMED = [
    "a string",
    [1, 2],
    {"v": 1},
    {"v": 99, "logSize": 0, "lastSeq": 0, "lastRecordedAt": None, "row": {}, "snapshot": {}},
    "valid-but-lastSeq-is-a-bool",
    "valid-but-row-lacks-frames",
    "valid-but-snapshot-state-is-a-list",
]


def malformed(summary: dict[str, Any], how: str) -> Any:
    if how == "valid-but-lastSeq-is-a-bool":
        return {**summary, "lastSeq": True}
    if how == "valid-but-row-lacks-frames":
        return {**summary, "row": {k: v for k, v in summary["row"].items() if k != "frames"}}
    if how == "valid-but-snapshot-state-is-a-list":
        return {**summary, "snapshot": {**summary["snapshot"], "state": []}}
    return how


@pytest.mark.parametrize("junk", MALFORMED, ids=str)
async def test_a_malformed_summary_is_ignored(tmp_path, junk):
    home = tmp_path / "h"
    ids = await busy_home(home)
    set_summary(home, ids[0], malformed(stored_summary(home, ids[0]), junk))
    assert describing(home, ids[0]) is None
    assert answers(home, ids) == answers_from_logs(home, ids, tmp_path)
    # Only a cache: the rest of the metadata stands (no problem reported, agent known),
    # and the next amux run writes a good summary again.
    engine = open_engine(home)
    room = engine.rooms[ids[0]]
    assert room.meta_problem is None and room.meta.agent
    await room.load()
    await engine.shutdown()
    assert describing(home, ids[0]) is not None


async def test_the_running_amux_lists_unloaded_rooms_from_their_summaries(tmp_path):
    home = tmp_path / "h"
    ids = await busy_home(home)
    stored = {row["roomId"]: row for row in cli_json(home, "ls")}
    cut_last_line(log_path(home, ids[1]))  # this one must be read: its summary is stale
    from_log = {row["roomId"]: row for row in answers_from_logs(home, ids, tmp_path)["ls"]}
    async with served(home) as (engine, server):
        assert not any(room.loaded for room in engine.rooms.values())
        client = await Client.open(server.path)
        answer = await client.request("ls")
        await client.close()
        rows = {row["roomId"]: row for row in answer["rooms"]}
        assert [engine.rooms[r].loaded for r in ids] == [False, True, False]
    for room_id, row in rows.items():
        assert row["live"] is True
        expected = stored[room_id] if room_id != ids[1] else from_log[room_id]
        assert {**row, "live": False} == expected
