"""Search and archive (issue 14), engine and CLI side: what the find bar, ``ctrl+b f`` and
``amux grep`` see, and closed rooms coming back."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from amux_tui.engine import frames as F
from amux_tui.engine.archive import list_archived, restore_room, unique_title
from amux_tui.engine.hydrate import hydrate
from amux_tui.engine.meta import RoomMeta
from amux_tui.engine.search import (
    QueryError,
    TranscriptSearch,
    block_text,
    compile_query,
    grep_log,
    line_around,
)
from amux_tui.engine.store import archive_room, write_json_atomic

AT = "2026-05-27T17:42:01.234567890Z"
_enc = msgspec.json.Encoder()


def chunk(text: str, mid: str = "m1", kind: str = F.AGENT_MESSAGE_CHUNK) -> dict:
    update = {"sessionUpdate": kind, "messageId": mid, "content": {"type": "text", "text": text}}
    return F.notification(F.SESSION_UPDATE, {"sessionId": "s1", "update": update})


def write_room(rooms_dir: Path, room_id: str, title: str, frames: list[dict]) -> Path:
    rooms_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        _enc.encode({"v": 1, "seq": i, "segment_id": 1, "recorded_at": AT, "frame": frame})
        for i, frame in enumerate(frames, 1)
    ]
    path = rooms_dir / f"{room_id}.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    write_json_atomic(rooms_dir / f"{room_id}.json", RoomMeta(room_id, title).to_json())
    return path


def conversation(
    room_id: str, reply_chunks: list[str], prompt: str = "find the needle"
) -> list[dict]:
    content = [{"type": "text", "text": prompt}]
    return [
        F.amux_frame(F.TURN_STARTED, room_id, amuxTurnId="at-1", peerId="local", content=content),
        chunk("thinking about haystacks", "t1", F.AGENT_THOUGHT_CHUNK),
        *[chunk(c) for c in reply_chunks],
        F.turn_complete(room_id, "at-1", "end_turn"),
    ]


def test_queries_are_case_smart_literal_or_regex():
    assert compile_query("needle").search("A NEEDLE") is not None
    assert compile_query("Needle").search("a needle") is None
    assert compile_query("a.c").search("abc") is None  # literal: the dot is a dot
    assert compile_query("a.c", regex=True).search("abc") is not None
    with pytest.raises(QueryError, match="bad regular expression"):
        compile_query("(", regex=True)
    with pytest.raises(QueryError):
        compile_query("")


def test_transcript_search_finds_text_split_across_chunks_and_in_every_kind(tmp_path):
    path = write_room(tmp_path, "r1", "one", conversation("r1", ["the nee", "dle is\nhere"]))
    model = hydrate(path, "r1").model
    blocks = model.transcript.blocks
    hits = TranscriptSearch().find(blocks, compile_query("needle"))
    kinds = [blocks[h.block].kind for h in hits]
    assert kinds == ["prompt", "message"]  # the prompt, and the reply across two chunks
    reply = blocks[hits[1].block]
    assert block_text(reply)[hits[1].start : hits[1].end] == "needle"
    thought = TranscriptSearch().find(blocks, compile_query("haystack"))
    assert [blocks[h.block].kind for h in thought] == ["thought"]


def test_line_around_cuts_long_lines_around_the_match():
    text = "first\n" + "x" * 500 + "NEEDLE" + "y" * 500 + "\nlast"
    start = text.index("NEEDLE")
    line, s, e = line_around(text, start, start + 6, width=60)
    assert line[s:e] == "NEEDLE" and len(line) <= 60 and "\n" not in line


def test_grep_log_reports_seq_time_kind_and_the_line(tmp_path):
    path = write_room(tmp_path, "r1", "one", conversation("r1", ["no match\n", "a needle here\n"]))
    hits = list(grep_log(path, "r1", compile_query("needle")))
    assert [(h.kind, h.line[h.start : h.end]) for h in hits] == [
        ("prompt", "needle"),
        ("message", "needle"),
    ]
    assert hits[1].line == "a needle here" and hits[1].seq == 3 and hits[1].recorded_at == AT
    # the same block indices as a full hydration (the find bar selects hits by them)
    blocks = hydrate(path, "r1").model.transcript.blocks
    assert blocks[hits[1].block].kind == "message"


def run_amux(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amux_tui", "--home", str(home), *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_amux_grep_text_json_rooms_archived_and_errors(tmp_path):
    rooms = tmp_path / "rooms"
    write_room(rooms, "r-one", "alpha", conversation("r-one", ["one needle\n"]))
    write_room(rooms, "r-two", "beta", conversation("r-two", ["Two \x1b[31mneedle\n"], "hi"))
    write_room(rooms, "r-old", "gamma", conversation("r-old", ["old needle\n"], "hi"))
    archive_room(rooms, "r-old")

    out = run_amux(tmp_path, "grep", "needle")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("alpha #1 ") and lines[0].endswith(": find the needle")
    assert any(line.startswith("beta #3 ") for line in lines)
    assert not any("gamma" in line for line in lines)  # closed rooms only with --archived

    hits = [
        json.loads(line)
        for line in run_amux(tmp_path, "grep", "NEEDLE", "--json").stdout.splitlines()
    ]
    assert hits == []  # an upper-case letter makes the search case-sensitive
    hits = [json.loads(line) for line in run_amux(tmp_path, "grep", "ne+dle", "--regex", "--json", "--archived").stdout.splitlines()]  # fmt: skip
    assert {(h["title"], h["archived"]) for h in hits} == {
        ("alpha", False),
        ("beta", False),
        ("gamma", True),
    }
    beta = next(h for h in hits if h["title"] == "beta")
    assert beta["line"] == "Two \x1b[31mneedle" and beta["seq"] == 3 and beta["kind"] == "message"

    only = run_amux(tmp_path, "grep", "needle", "beta")
    assert only.stdout.splitlines() == ["beta #3 " + only.stdout.split(" ", 2)[2].splitlines()[0]]
    assert run_amux(tmp_path, "grep", "absent").returncode == 1
    bad = run_amux(tmp_path, "grep", "(", "--regex")
    assert (
        bad.returncode == 2
        and "bad regular expression" in bad.stderr
        and "Traceback" not in bad.stderr
    )


def test_amux_ls_archived_lists_closed_rooms(tmp_path):
    rooms = tmp_path / "rooms"
    write_room(rooms, "r-old", "gamma", conversation("r-old", ["x\n"]))
    archive_room(rooms, "r-old")
    rows = json.loads(run_amux(tmp_path, "ls", "--archived", "--json").stdout)
    assert [(r["roomId"], r["title"]) for r in rows] == [("r-old", "gamma")]
    assert json.loads(run_amux(tmp_path, "ls", "--json").stdout) == []
    assert "gamma" in run_amux(tmp_path, "ls", "--archived").stdout


def test_restore_keeps_the_id_or_takes_a_fresh_one_on_a_clash(tmp_path):
    rooms = tmp_path / "rooms"
    path = write_room(rooms, "r-a", "alpha", conversation("r-a", ["hello\n"]))
    original = path.read_bytes()
    archive_room(rooms, "r-a")
    [entry] = list_archived(rooms)
    assert entry.room_id == "r-a" and entry.title == "alpha"
    assert restore_room(rooms, entry) == "r-a"
    assert (rooms / "r-a.jsonl").read_bytes() == original and list_archived(rooms) == []

    archive_room(rooms, "r-a")
    write_room(rooms, "r-a", "usurper", [])  # another room took the id meanwhile
    [entry] = list_archived(rooms)
    new_id = restore_room(rooms, entry)
    assert new_id != "r-a" and re.fullmatch(r"r-[a-z0-9]{10}", new_id)
    assert (rooms / f"{new_id}.jsonl").read_bytes() == original
    assert RoomMeta.read(rooms / f"{new_id}.json", new_id).title == "alpha"
    assert unique_title("alpha", {"alpha", "alpha (2)"}) == "alpha (3)"
