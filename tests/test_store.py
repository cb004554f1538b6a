"""Replay store: on-disk format, loader classification, lock, check, archive, helpers."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from amux_tui.engine.lock import held_by_this_process
from amux_tui.engine.store import (
    LoadResult,
    Record,
    ReplayLog,
    RoomsLock,
    StoreLockedError,
    archive_room,
    check_log,
    list_room_logs,
    load_log,
    new_room_id,
    room_id_ok,
    write_json_atomic,
)
from amux_tui.engine.timeutil import format_rfc3339, now_rfc3339, parse_rfc3339

REPO = Path(__file__).resolve().parent.parent
LINE_RE = re.compile(
    rb'^\{"v":1,"seq":(\d+),"segment_id":(\d+),'
    rb'"recorded_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z","frame":(.*)\}$'
)


def chunk(i: int) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "method": "session/update",
        "params": {
            "sessionId": "s-1",
            "update": {
                "sessionUpdate": "agent_message_chunk",
                "content": {"type": "text", "text": f"c{i}"},
            },
        },
    }


def record_line(seq: int, frame: Any, segment_id: int = 0, v: int = 1) -> bytes:
    """A log line built independently of the code under test (stdlib json)."""
    return json.dumps(
        {
            "v": v,
            "seq": seq,
            "segment_id": segment_id,
            "recorded_at": "2026-05-27T17:42:01.234567890Z",
            "frame": frame,
        },
        separators=(",", ":"),
    ).encode()


def write_lines(path: Path, lines: list[bytes], tail: bytes = b"") -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines) + tail)


def file_lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


# ------------------------------------------------------------------ timestamps


def test_now_rfc3339_is_utc_with_nine_fraction_digits() -> None:
    s = now_rfc3339()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", s)
    import time

    assert abs(parse_rfc3339(s) - time.time_ns()) < 5 * 10**9


def test_format_and_parse_rfc3339_round_trip() -> None:
    ns = 1_779_903_721_234_567_890
    assert format_rfc3339(ns) == "2026-05-27T17:42:01.234567890Z"
    assert format_rfc3339(5) == "1970-01-01T00:00:00.000000005Z"
    assert parse_rfc3339("2026-05-27T17:42:01.234567890Z") == ns


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05-27T17:42:01Z", 1_779_903_721_000_000_000),
        ("2026-05-27T17:42:01.2Z", 1_779_903_721_200_000_000),
        ("2026-05-27T17:42:01.234567890123Z", 1_779_903_721_234_567_890),
        ("2026-05-27T17:42:01.234567890+00:00", 1_779_903_721_234_567_890),
        ("2026-05-27T19:42:01.5+02:00", 1_779_903_721_500_000_000),
        ("2026-05-27t17:42:01z", 1_779_903_721_000_000_000),
        ("2026-05-27 17:42:01Z", 1_779_903_721_000_000_000),
        ("", None),
        ("yesterday", None),
        ("2026-05-27T17:42:01", None),  # no zone: ambiguous
        ("2026-02-30T00:00:00Z", None),
        ("2026-13-01T00:00:00Z", None),
        ("2026-05-27T25:00:00Z", None),
    ],
)
def test_parse_rfc3339_is_lenient_but_not_sloppy(text: str, expected: int | None) -> None:
    assert parse_rfc3339(text) == expected


# ------------------------------------------------------------------ format


def test_lines_have_acp_mux_format_and_key_order(tmp_path: Path) -> None:
    path = tmp_path / "rooms" / "r-1.jsonl"
    log = ReplayLog.open(path, load_log(path))
    returned = [log.append(chunk(i), segment_id=i // 3) for i in range(7)]
    log.close()
    lines = file_lines(path)
    assert len(lines) == 7
    for i, line in enumerate(lines):
        m = LINE_RE.match(line)
        assert m, line
        assert int(m.group(1)) == i + 1
        obj = json.loads(line)  # plain json can read it
        assert list(obj) == ["v", "seq", "segment_id", "recorded_at", "frame"]
        assert obj["segment_id"] == i // 3
        assert obj["frame"] == chunk(i)
    assert [r.seq for r in returned] == list(range(1, 8))
    assert returned[2].frame == chunk(2) and returned[2].v == 1


def test_seq_continues_after_reopen(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with ReplayLog.open(path, load_log(path)) as log:
        for i in range(3):
            log.append(chunk(i), 0)
    with ReplayLog.open(path, load_log(path)) as log:
        assert log.next_seq == 4
        for i in range(2):
            log.append(chunk(i), 1)
    res = load_log(path)
    assert [r.seq for r in res.records] == [1, 2, 3, 4, 5]
    assert res.max_seq == 5 and res.seq_gaps == 0 and res.bad_lines == 0


def test_raw_bytes_frame_is_embedded_verbatim(tmp_path: Path) -> None:
    # Spacing, key order, escapes and number spelling all differ from what any encoder
    # would produce, so a re-encode would be visible byte for byte.
    raw = (
        b'{ "method" :"session/update","jsonrpc":"2.0", "params":{"n":1.50,"e":1E3,'
        b'"s":"caf\\u00e9 \xc3\xa9 \\/","big":123456789012345678901234567890}}'
    )
    path = tmp_path / "r.jsonl"
    with ReplayLog.open(path, load_log(path)) as log:
        rec = log.append(raw + b"\r\n", 2)
    assert rec.frame == raw + b"\r\n"  # returned as given
    (line,) = file_lines(path)
    m = LINE_RE.match(line)
    assert m and m.group(3) == raw
    loaded = load_log(path).records[0]
    assert bytes(loaded.frame) == raw
    assert loaded.decode_frame()["params"]["s"] == "café é /"


def test_a_checked_raw_frame_is_embedded_as_is_and_reads_back(tmp_path: Path) -> None:
    """A line the wire layer just decoded with msgspec (``checked``) is not parsed again
    and is recorded exactly as an unchecked one would be."""
    raw = b' {"method":"session/update","params":{"s":"caf\u00e9 \xc3\xa9","n":1.50}}\r'
    path = tmp_path / "r.jsonl"
    with ReplayLog.open(path, load_log(path)) as log:
        log.append(raw, 0, checked=True)
        log.append(raw, 0)
    first, second = file_lines(path)
    assert LINE_RE.match(first).group(3) == LINE_RE.match(second).group(3) == raw.strip()
    assert [r.decode_frame()["params"]["s"] for r in load_log(path).records] == ["café é"] * 2


def test_raw_frame_with_newline_whitespace_stays_one_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with ReplayLog.open(path, load_log(path)) as log:
        log.append(b'{"a":\n 1}', 0)
        log.append(b'{"b":2}', 0)
    res = load_log(path)
    assert [r.decode_frame() for r in res.records] == [{"a": 1}, {"b": 2}]
    assert res.bad_lines == 0


@pytest.mark.parametrize("bad", [b'{"a":1', b"not json", b'{"a":"\xff"}', b'{"a":1} {"b":2}', b""])
def test_invalid_raw_frame_is_refused_without_using_a_seq(tmp_path: Path, bad: bytes) -> None:
    path = tmp_path / "r.jsonl"
    with ReplayLog.open(path, load_log(path)) as log:
        with pytest.raises(ValueError):
            log.append(bad, 0)
        assert log.append(chunk(1), 0).seq == 1
    assert [r.seq for r in load_log(path).records] == [1]


def test_unencodable_frame_leaves_no_half_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with ReplayLog.open(path, load_log(path)) as log:
        log.append(chunk(1), 0)
        with pytest.raises(TypeError):
            log.append({"ok": [1, 2, object()]}, 0)
        with pytest.raises(ValueError):
            log.append(chunk(2), -1)
        log.append(chunk(3), 0)
    res = load_log(path)
    assert [r.seq for r in res.records] == [1, 2] and res.bad_lines == 0
    assert res.records[1].decode_frame() == chunk(3)


def test_acp_mux_fixture_lines_load(tmp_path: Path) -> None:
    # Written by hand in acp-mux's exact on-disk format (reference §6.4).
    fixture = (
        b'{"v":1,"seq":1,"segment_id":0,"recorded_at":"2026-05-27T17:42:01.234567890Z",'
        b'"frame":{"jsonrpc":"2.0","method":"amux/peer_joined","params":{"roomId":"demo","peerId":"p-1"}}}\n'
        b'{"v":1,"seq":2,"segment_id":1,"recorded_at":"2026-05-27T17:42:02.000000001Z",'
        b'"frame":{"jsonrpc":"2.0","method":"amux/segment_started","params":{"roomId":"demo",'
        b'"segmentId":"seg-1","acpSessionId":"sess-9","openedAt":"2026-05-27T17:42:02.000000001Z"}}}\n'
    )
    path = tmp_path / "demo.jsonl"
    path.write_bytes(fixture)
    for decode in (False, True):
        res = load_log(path, decode_frames=decode)
        assert res.bad_lines == 0 and res.max_seq == 2 and not res.torn_tail
        first, second = res.records
        assert (first.v, first.seq, first.segment_id) == (1, 1, 0)
        assert first.recorded_at == "2026-05-27T17:42:01.234567890Z"
        assert first.decode_frame()["params"]["peerId"] == "p-1"
        assert second.segment_id == 1
        assert second.decode_frame()["params"]["acpSessionId"] == "sess-9"
    # Appending after it continues the same file in the same format.
    with ReplayLog.open(path, load_log(path)) as log:
        log.append(chunk(0), 1)
    assert path.read_bytes().startswith(fixture)
    assert LINE_RE.match(file_lines(path)[2]).group(1) == b"3"


def test_record_decode_frame_handles_every_frame_form() -> None:
    class Envelope(msgspec.Struct):
        method: str

    as_dict = Record(1, 1, 0, "t", chunk(1))
    as_raw = Record(1, 1, 0, "t", msgspec.Raw(msgspec.json.encode(chunk(1))))
    as_bytes = Record(1, 1, 0, "t", msgspec.json.encode(chunk(1)))
    for rec in (as_dict, as_raw, as_bytes):
        assert rec.decode_frame() == chunk(1)
        assert rec.decode_frame(Envelope).method == "session/update"


# ------------------------------------------------------------------ permissions


def test_files_are_0600_and_dirs_0700(tmp_path: Path) -> None:
    rooms = tmp_path / "home" / "rooms"
    log = ReplayLog.open(rooms / "r-1.jsonl", load_log(rooms / "r-1.jsonl"))
    log.append(chunk(1), 0)
    log.close()
    write_json_atomic(rooms / "r-1.json", {"title": "t"})
    write_json_atomic(rooms / "layout.json", {"order": ["r-1"]})
    with RoomsLock(rooms):
        pass
    archived = archive_room(rooms, "r-1")

    def mode(p: Path) -> int:
        return stat.S_IMODE(p.stat().st_mode)

    assert mode(rooms) == 0o700
    assert mode(rooms / "layout.json") == 0o600
    assert mode(rooms / ".lock") == 0o600
    assert mode(rooms / "archive") == 0o700
    assert mode(archived) == 0o700
    assert mode(archived / "r-1.jsonl") == 0o600
    assert mode(archived / "r-1.json") == 0o600


def test_existing_log_with_loose_mode_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(record_line(1, {"a": 1}) + b"\n")
    path.chmod(0o644)
    ReplayLog.open(path, load_log(path)).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# ------------------------------------------------------------------ loader


MIXED_LINES: list[tuple[str, bytes]] = [
    ("ok", record_line(1, {"a": 1})),
    ("blank", b""),
    ("ok", record_line(2, {"a": 2})),
    ("blank", b"  \r"),
    (
        "bad",
        record_line(3, {"text": "caf\u00e9"}).replace(b"caf\\u00e9", b"caf\xff"),
    ),  # invalid UTF-8
    ("bad", b"this is not json"),
    ("bad", b'{"v":1,"seq":4,"segment_id":0,"recorded_at":"x","frame":{}}{"v":1}'),  # two values
    ("bad", b'{"hello":"world"}'),  # JSON, not a record
    ("bad", b"[1,2,3]"),
    ("bad", b'{"v":1,"seq":5,"segment_id":0,"recorded_at":"x"}'),  # no frame
    ("bad", b'{"v":1,"seq":-5,"segment_id":0,"recorded_at":"x","frame":{}}'),
    ("bad", b'{"v":"1","seq":6,"segment_id":0,"recorded_at":"x","frame":{}}'),
    ("bad", record_line(7, {}, v=0)),
    ("newer", record_line(8, {"future": True}, v=2)),
    ("ok", record_line(9, {"frame": "with \u2028 separator and \\n escape"})),
    ("ok", record_line(10, {"x": "\xff"})),  # U+00FF, valid UTF-8
]


@pytest.mark.parametrize("decode_frames", [False, True])
def test_loader_classifies_each_kind_of_line(tmp_path: Path, decode_frames: bool) -> None:
    path = tmp_path / "r.jsonl"
    write_lines(path, [line for _, line in MIXED_LINES])
    res = load_log(path, decode_frames=decode_frames)
    kinds = [k for k, _ in MIXED_LINES]
    assert [r.seq for r in res.records] == [1, 2, 9, 10]
    assert res.bad_lines == kinds.count("bad") == 9
    assert res.bad_line_numbers == [i + 1 for i, k in enumerate(kinds) if k == "bad"]
    assert res.blank_lines == 2
    assert res.newer_version_lines == 1
    assert res.max_seq == 10  # includes the newer line's seq 8 only as a floor
    assert not res.torn_tail and res.valid_size == path.stat().st_size
    assert res.seq_gaps == 1 and res.seq_disorder == 0
    assert res.records[2].decode_frame() == {"frame": "with \u2028 separator and \\n escape"}


def test_missing_file_is_an_empty_log(tmp_path: Path) -> None:
    res = load_log(tmp_path / "nope.jsonl")
    assert res == LoadResult()
    log = ReplayLog.open(tmp_path / "nope.jsonl", res)
    assert log.append(chunk(0), 0).seq == 1
    log.close()


def test_bad_line_numbers_are_capped_but_counted(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_lines(path, [b"garbage"] * 250 + [record_line(1, {})])
    res = load_log(path)
    assert res.bad_lines == 250 and len(res.bad_line_numbers) == 100
    assert [r.seq for r in res.records] == [1]


def test_newer_version_lines_are_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    v2 = record_line(2, {"shape": "unknown"}, v=2)
    write_lines(path, [record_line(1, {"a": 1}), v2])
    before = path.read_bytes()
    res = load_log(path)
    assert res.newer_version_lines == 1 and res.bad_lines == 0 and len(res.records) == 1
    with ReplayLog.open(path, res) as log:
        assert log.next_seq == 3  # never reuses the seq the newer amux wrote
        log.append(chunk(1), 0)
    after = path.read_bytes()
    assert after.startswith(before)  # untouched, only appended to
    assert after.split(b"\n")[1] == v2


def test_torn_tail_is_truncated_on_open_before_any_append(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    good = [record_line(1, chunk(1)), record_line(2, chunk(2))]
    torn = record_line(3, chunk(3))[:40]
    write_lines(path, good, tail=torn)
    res = load_log(path)
    assert res.torn_tail and not res.missing_newline
    assert [r.seq for r in res.records] == [1, 2] and res.bad_lines == 0
    assert res.valid_size == path.stat().st_size - len(torn)
    log = ReplayLog.open(path, res)
    assert path.stat().st_size == res.valid_size  # cut at open, nothing appended yet
    log.append(chunk(3), 0)
    log.close()
    after = load_log(path)
    assert [r.seq for r in after.records] == [1, 2, 3]
    assert after.bad_lines == 0 and not after.torn_tail


def test_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_lines(path, [record_line(1, {"a": 1})], tail=record_line(2, {"a": 2}))
    res = load_log(path)
    assert res.missing_newline and not res.torn_tail
    assert [r.seq for r in res.records] == [1, 2]
    with ReplayLog.open(path, res) as log:
        log.append(chunk(3), 0)
    after = load_log(path)
    assert [r.seq for r in after.records] == [1, 2, 3] and after.bad_lines == 0
    assert not after.missing_newline


def test_seq_gaps_and_disorder_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_lines(path, [record_line(s, {}) for s in (1, 2, 5, 6, 3, 3, 7)])
    res = load_log(path)
    assert res.seq_gaps == 4  # 2->5, 6->3, 3->3, 3->7
    assert res.seq_disorder == 2  # 6->3, 3->3
    assert res.max_seq == 7


def test_loader_handles_lines_across_read_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from amux_tui.engine import loader

    monkeypatch.setattr(loader, "_BLOCK_SIZE", 97)  # lines straddle every block boundary
    path = tmp_path / "r.jsonl"
    lines = [record_line(i, {"t": "x" * (i * 7 % 300)}) for i in range(1, 60)]
    lines.insert(10, b"\xff\xfe broken")
    write_lines(path, lines, tail=b'{"v":1,"se')
    for decode in (False, True):
        res = load_log(path, decode_frames=decode)
        assert [r.seq for r in res.records] == list(range(1, 60))
        assert res.bad_line_numbers == [11] and res.torn_tail
        assert res.valid_size == path.stat().st_size - len(b'{"v":1,"se')


# ------------------------------------------------------------------ flushing


async def test_flusher_writes_within_flush_interval_without_the_event_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.jsonl"
    log = ReplayLog.open(path, load_log(path), flush_interval=0.05)
    before = time.monotonic()
    log.append(chunk(1), 0)
    assert log.pending_bytes > 0  # buffered, not written by append itself
    # "Within 50 ms" is the flusher's deadline, checked as such (not by racing a sleep)...
    due = log._flush_due()  # noqa: SLF001
    assert due is not None and before <= due <= time.monotonic() + 0.05
    # ...and the flusher thread alone (no flush() call) gets the record to the file,
    # even while this event loop is blocked and cannot run anything.
    deadline = time.monotonic() + 30
    while log.pending_bytes and time.monotonic() < deadline:
        time.sleep(0.001)  # blocks the loop on purpose: the write must not need it
    assert log.pending_bytes == 0
    assert [r.seq for r in load_log(path).records] == [1]
    log.close()


def test_size_threshold_flushes_without_a_loop(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    log = ReplayLog.open(path, load_log(path), flush_threshold=4096)
    for i in range(100):
        log.append(chunk(i), 0)
    assert path.stat().st_size > 4096  # reached the OS with no flush() and no loop
    assert log.pending_bytes < 4096
    log.close()
    assert len(load_log(path).records) == 100


async def test_sync_in_a_thread_while_appending_keeps_order(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    log = ReplayLog.open(path, load_log(path), flush_threshold=8192)
    stop = threading.Event()

    def syncer() -> None:
        while not stop.is_set():
            log.sync()

    worker = asyncio.create_task(asyncio.to_thread(syncer))
    for i in range(20_000):
        log.append(chunk(i), 0)
        if i % 500 == 0:
            await asyncio.sleep(0)
    stop.set()
    await worker
    await log.close_async()
    res = load_log(path)
    assert [r.seq for r in res.records] == list(range(1, 20_001))
    assert res.bad_lines == 0
    assert [r.decode_frame() for r in res.records[:3]] == [chunk(0), chunk(1), chunk(2)]


def test_append_after_close_is_an_error(tmp_path: Path) -> None:
    log = ReplayLog.open(tmp_path / "r.jsonl", LoadResult())
    log.close()
    log.close()  # idempotent
    with pytest.raises(ValueError):
        log.append(chunk(1), 0)


# ------------------------------------------------------------------ lock

_CHILD_LOCK = textwrap.dedent(
    """
    import sys, json
    from pathlib import Path
    from amux_tui.engine.store import RoomsLock, StoreLockedError
    try:
        with RoomsLock(Path(sys.argv[1])):
            print(json.dumps({"acquired": True}))
    except StoreLockedError as exc:
        print(json.dumps({"acquired": False, "pid": exc.holder_pid, "msg": str(exc)}))
    """
)


def _child_try_lock(rooms: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD_LOCK, str(rooms)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
        cwd=REPO,
    )
    return json.loads(out.stdout)


def test_second_process_cannot_take_the_lock_and_learns_the_pid(tmp_path: Path) -> None:
    rooms = tmp_path / "rooms"
    lock = RoomsLock(rooms)
    lock.acquire()
    try:
        got = _child_try_lock(rooms)
        assert got["acquired"] is False
        assert got["pid"] == os.getpid()
        assert (
            got["msg"] == f"rooms directory {rooms} is in use by another amux (pid {os.getpid()})"
        )
        assert lock.held and held_by_this_process(rooms)
    finally:
        lock.release()
    assert not lock.held
    assert _child_try_lock(rooms) == {"acquired": True}
    # and this process can take it again afterwards
    with RoomsLock(rooms) as again:
        assert again.held


def test_lock_is_exclusive_within_one_process_too(tmp_path: Path) -> None:
    with RoomsLock(tmp_path), pytest.raises(StoreLockedError) as info:
        RoomsLock(tmp_path).acquire()
    assert info.value.holder_pid == os.getpid()


# ------------------------------------------------------------------ check


def _damaged_log(path: Path) -> bytes:
    lines = [record_line(1, {}), b"garbage", record_line(2, {}), record_line(5, {})]
    write_lines(path, lines, tail=b'{"v":1,"seq":6,"seg')
    return b"".join(line + b"\n" for line in lines)


def test_check_reports_and_repair_cuts_only_the_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "r-7.jsonl"
    complete = _damaged_log(path)
    report = check_log(path, repair=False)
    assert report.room_id == "r-7"
    assert (report.records, report.bad_lines, report.bad_line_numbers) == (3, 1, [2])
    assert report.torn_tail and report.seq_gaps == 1 and not report.ok
    assert not report.repaired
    assert path.read_bytes() == complete + b'{"v":1,"seq":6,"seg'  # read-only

    fixed = check_log(path, repair=True)
    assert fixed.repaired and fixed.torn_tail
    assert path.read_bytes() == complete  # the bad line and the gap are still there
    assert not fixed.ok  # bad line and gap remain
    again = check_log(path, repair=False)
    assert not again.torn_tail and again.bad_lines == 1


def test_check_of_a_healthy_log_is_ok(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_lines(path, [record_line(i, {}) for i in (1, 2, 3)])
    report = check_log(path, repair=True)
    assert report.ok and not report.repaired and report.records == 3


def test_check_read_only_works_while_locked_but_repair_refuses(tmp_path: Path) -> None:
    rooms = tmp_path / "rooms"
    rooms.mkdir()
    path = rooms / "r-1.jsonl"
    _damaged_log(path)
    before = path.read_bytes()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from amux_tui.engine.store import RoomsLock;"
            "l = RoomsLock(Path(sys.argv[1])); l.acquire(); print('locked', flush=True); sys.stdin.read()",
            str(rooms),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        report = check_log(path, repair=False)
        assert report.torn_tail and report.bad_lines == 1
        with pytest.raises(StoreLockedError) as info:
            check_log(path, repair=True)
        assert info.value.holder_pid == holder.pid
        assert path.read_bytes() == before
    finally:
        holder.communicate("", timeout=30)
    assert check_log(path, repair=True).repaired


def test_check_repair_inside_the_owning_process(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    complete = _damaged_log(path)
    with RoomsLock(tmp_path):
        assert check_log(path, repair=True).repaired
    assert path.read_bytes() == complete


# ------------------------------------------------------------------ files, ids


def test_archive_moves_and_never_deletes(tmp_path: Path) -> None:
    rooms = tmp_path / "rooms"
    rooms.mkdir()
    (rooms / "r-1.jsonl").write_bytes(b"log bytes\n")
    (rooms / "r-1.json").write_bytes(b'{"title":"x"}')
    (rooms / "r-2.jsonl").write_bytes(b"other\n")
    dest = archive_room(rooms, "r-1")
    assert dest.parent == rooms / "archive"
    assert re.fullmatch(r"r-1-\d{8}T\d{6}Z", dest.name)
    assert (dest / "r-1.jsonl").read_bytes() == b"log bytes\n"
    assert (dest / "r-1.json").read_bytes() == b'{"title":"x"}'
    assert not (rooms / "r-1.jsonl").exists() and not (rooms / "r-1.json").exists()
    assert (rooms / "r-2.jsonl").read_bytes() == b"other\n"
    # a room recreated and archived again in the same second gets its own directory
    (rooms / "r-1.jsonl").write_bytes(b"second\n")
    dest2 = archive_room(rooms, "r-1")
    assert dest2 != dest and (dest2 / "r-1.jsonl").read_bytes() == b"second\n"
    assert (dest / "r-1.jsonl").read_bytes() == b"log bytes\n"
    with pytest.raises(FileNotFoundError):
        archive_room(rooms, "r-9")
    with pytest.raises(ValueError):
        archive_room(rooms, "../r-2")


def test_list_room_logs(tmp_path: Path) -> None:
    rooms = tmp_path / "rooms"
    assert list_room_logs(rooms) == []
    rooms.mkdir()
    for name in ("b.jsonl", "a.jsonl", "meta-only.json", "bad name.jsonl", ".lock", "layout.json"):
        (rooms / name).write_text("")
    (rooms / "dir.jsonl").mkdir()
    (rooms / "archive" / "old-1").mkdir(parents=True)
    (rooms / "archive" / "old-1" / "old.jsonl").write_text("")
    # A directory in place of a log still names its room: loading it then says what is
    # wrong (the room does not silently vanish).
    assert list_room_logs(rooms) == ["a", "b", "dir"]


@pytest.mark.parametrize(
    ("room_id", "ok"),
    [
        ("r-abc123", True),
        ("A_b-9", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("", False),
        ("a/b", False),
        ("..", False),
        ("a.b", False),
        ("abc\n", False),
        ("é", False),
        ("a b", False),
        (None, False),
    ],
)
def test_room_id_ok(room_id: Any, ok: bool) -> None:
    assert room_id_ok(room_id) is ok


def test_new_room_id_is_valid_and_avoids_existing() -> None:
    ids = {new_room_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(room_id_ok(i) and re.fullmatch(r"r-[a-z2-7]{10}", i) for i in ids)
    taken = set(ids)
    assert new_room_id(taken) not in taken


def test_write_json_atomic_replaces_and_cleans_up(tmp_path: Path) -> None:
    path = tmp_path / "meta" / "r-1.json"
    write_json_atomic(path, {"title": "first", "n": [1, 2]})
    assert json.loads(path.read_text()) == {"title": "first", "n": [1, 2]}
    write_json_atomic(path, {"title": "second \u00e9"})
    assert json.loads(path.read_text()) == {"title": "second \u00e9"}
    with pytest.raises(TypeError):
        write_json_atomic(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"title": "second \u00e9"}  # old file intact
    assert sorted(p.name for p in path.parent.iterdir()) == ["r-1.json"]  # no temp files left


# ------------------------------------------------------------------ benchmark smoke


def test_benchmark_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location(
        "bench_store", REPO / "benchmarks" / "bench_store.py"
    )
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    load = bench.bench_load(2000, tmp_path, repeat=1)
    assert load["records"] == 2000 and 150 < load["bytes_per_record"] < 400
    assert all(load[k] > 0 for k in ("baseline_s", "load_raw_s", "load_decoded_s", "ratio_raw"))
    app = bench.bench_append(2000, tmp_path)
    assert app["frames"] == 2000 and app["append_dict_fps"] > 0 and app["baseline_fps"] > 0
    bench.main(["2000"])
    out = capsys.readouterr().out
    assert "N=2,000 records" in out
    assert re.search(r"load_log \(frames as msgspec\.Raw\)\s+[\d.]+\s+[\d,]+\s+[\d.]+", out)
    assert re.search(r"ReplayLog\.append\(dict\) \+ flush\s+[\d,]+\s+[\d.]+", out)
    assert list(tmp_path.iterdir()) == []  # cleaned up after itself
