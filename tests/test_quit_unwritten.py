"""Issue 11: quitting while the disk is full never drops frames silently.

The disk is really full for amux, and amux runs in a pseudo-terminal with real key bytes:
either ``tests/helpers/amux_disk_full.py`` (``RLIMIT_FSIZE`` drops to 1 byte on SIGUSR1,
so the kernel refuses every write with EFBIG; SIGUSR2 gives the space back), or a small
tmpfs filled up (ENOSPC), where saving *elsewhere* can work."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from engine_helpers import fill_up
from terminal import AmuxTerminal

from amux_tui.engine.loader import load_log

REPO = Path(__file__).resolve().parent.parent
DISK_FULL = ("-u", str(REPO / "tests" / "helpers" / "amux_disk_full.py"))
FLOOD = 5000


def room_log(home: Path) -> Path:
    [log] = (home / "rooms").glob("*.jsonl")
    return log


def chunks_in(log: Path) -> list[int]:
    res = load_log(log, decode_frames=True)
    assert res.bad_lines == 0 and not res.torn_tail
    assert [r.seq for r in res.records] == list(range(1, len(res.records) + 1))
    out = []
    for rec in res.records:
        update = rec.frame.get("params", {}).get("update", {})
        text = (update.get("content") or {}).get("text", "") if isinstance(update, dict) else ""
        if text.startswith("chunk "):
            out.append(int(text.split()[1]))
    return out


def flood_then_quit_on_a_full_disk(term: AmuxTerminal, fill: Callable[[], None]) -> None:
    """A turn of FLOOD chunks recorded while the disk is full, then ctrl+q."""
    term.wait_ready()
    term.wait_for("ready")
    fill()  # the disk is full from now on
    term.type(f"/flood {FLOOD}")
    term.press("enter")
    # The turn has settled (the room list says ready again) and the failure is shown.
    term.wait_for(lambda t: f"chunk {FLOOD}" in t.screen_text() and "demo ready" in t.screen_text())
    term.wait_for("log write failed")
    term.press("ctrl+q")
    term.wait_for("Not everything could be written to disk")
    term.wait_for(re.compile(r"demo: \d{4,} frames"))  # the turn: its prompt, chunks, end
    assert term.alive  # it asks; it did not exit


def test_quit_with_unwritten_frames_asks_and_drop_exits_non_zero(tmp_path):
    home = tmp_path / "home"
    with AmuxTerminal(home, entry=DISK_FULL) as term:
        flood_then_quit_on_a_full_disk(term, lambda: term.proc.send_signal(signal.SIGUSR1))
        term.press("d")
        assert term.wait_exit() == 3
        assert b"DROPPED" in term.raw  # said again after the TUI closed
    assert chunks_in(room_log(home)) == []  # the user chose to drop them


def test_quit_retry_after_space_returns_loses_nothing(tmp_path):
    home = tmp_path / "home"
    with AmuxTerminal(home, entry=DISK_FULL) as term:
        flood_then_quit_on_a_full_disk(term, lambda: term.proc.send_signal(signal.SIGUSR1))
        mark = term.mark()
        term.press("r")  # still full
        term.wait_for("still cannot write it", since=mark)
        term.proc.send_signal(signal.SIGUSR2)  # space is back
        term.press("r")
        assert term.wait_exit() == 0
    assert chunks_in(room_log(home)) == list(range(1, FLOOD + 1))  # the whole turn, in order
    meta = json.loads(next((home / "rooms").glob("r-*.json")).read_text())
    assert meta["history"][-1] == f"/flood {FLOOD}"  # metadata written too


def test_quit_save_elsewhere_then_restore(tmp_path, mount_tmpfs):
    disk = mount_tmpfs("4m")
    home = disk / "home"
    saved = tmp_path / "saved"  # another filesystem, with space
    with AmuxTerminal(home) as term:
        flood_then_quit_on_a_full_disk(term, lambda: fill_up(disk))
        term.press("s")
        term.wait_for("a directory for the unwritten data")
        term.press("ctrl+u")
        term.type(str(saved))
        term.press("enter")
        assert term.wait_exit() == 0
        assert b"once there is space, run: cat" in term.raw
    (disk / "filler").unlink()  # space is back
    log = room_log(home)
    [pending] = saved.glob("*.jsonl.unwritten")
    assert oct(pending.stat().st_mode & 0o777) == "0o600"
    with open(log, "ab") as f:  # what the message says to do
        f.write(pending.read_bytes())
    assert chunks_in(log) == list(range(1, FLOOD + 1))


def test_a_room_created_on_a_full_disk_gets_its_metadata_when_space_returns(tmp_path):
    script = textwrap.dedent(
        """
        import asyncio, resource, signal, sys
        from amux_tui.engine.config import DEMO_AGENT
        from amux_tui.engine.engine import Engine
        from amux_tui.paths import Paths

        async def main():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
            engine = Engine(Paths.resolve(sys.argv[1]))
            engine.open()
            resource.setrlimit(resource.RLIMIT_FSIZE, (1, hard))  # the disk is full
            room = engine.create_room(DEMO_AGENT, cwd="/", title="born on a full disk")
            print("error:", room.write_error, flush=True)
            assert not room.meta_path.exists()
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space is back
            for _ in range(500):  # retried every second on its own
                if room.write_error is None:
                    break
                await asyncio.sleep(0.02)
            print("written:", room.meta_path.exists(), room.write_error, flush=True)
            left = await engine.shutdown()
            print("left:", left)

        asyncio.run(main())
        """
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "home")], cwd=REPO,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("error: metadata write failed"), lines
    assert lines[1:] == ["written: True None", "left: []"], lines
    [meta] = (tmp_path / "home" / "rooms").glob("r-*.json")
    assert json.loads(meta.read_text())["title"] == "born on a full disk"
