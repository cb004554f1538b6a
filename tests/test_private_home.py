"""Issue 11: a private home that amux verifies, as ssh does for ``~/.ssh``."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from engine_helpers import demo_spec, open_engine

from amux_tui.engine import frames as F
from amux_tui.engine.config import load_config
from amux_tui.engine.engine import Engine
from amux_tui.paths import Paths
from amux_tui.private import UnsafePath

REPO = Path(__file__).resolve().parent.parent
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")
OTHER_UID = 54321


def amux(home: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """The real CLI on ``home``; ``timeout`` makes a hang a failure, not a stuck suite."""
    env = {**os.environ, "AMUX_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "amux_tui", *args], env=env, capture_output=True, text=True,
        timeout=timeout, stdin=subprocess.DEVNULL, cwd=REPO,
    )  # fmt: skip


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def make_room(home: Path) -> str:
    """A home with one recorded room (no agent started); returns its id."""
    engine = open_engine(home)
    room = engine.create_room(demo_spec(), cwd=str(home), title="kept")
    room.record(F.amux_frame(F.NOTICE, room.id, text="hello", level="info"))
    room.log.close()
    assert engine.lock is not None
    engine.lock.release()
    return room.id


# ------------------------------------------------------------------ creating


def test_a_fresh_home_with_missing_parents_is_private_under_umask_000(tmp_path):
    home = tmp_path / "a" / "b" / "home"
    script = textwrap.dedent(
        """
        import asyncio, logging, os, sys
        os.umask(0)
        from amux_tui.cli import _setup_app_log
        from amux_tui.engine.config import DEMO_AGENT
        from amux_tui.engine.engine import Engine
        from amux_tui.paths import Paths
        paths = Paths.resolve(sys.argv[1])
        engine = Engine(paths)
        engine.open()
        room = engine.create_room(DEMO_AGENT, cwd="/", title="t")
        _setup_app_log(paths)
        logging.getLogger("amux").warning("written under umask 000")
        asyncio.run(engine.shutdown())
        print(room.id)
        """
    )
    done = subprocess.run([sys.executable, "-c", script, str(home)], capture_output=True,
                          text=True, check=True, cwd=REPO)  # fmt: skip
    room_id = done.stdout.strip()
    for directory in (tmp_path / "a", tmp_path / "a" / "b", home, home / "rooms"):
        assert mode(directory) == 0o700, directory
    rooms = home / "rooms"
    for file in (rooms / f"{room_id}.jsonl", rooms / f"{room_id}.json", rooms / "layout.json",
                 rooms / ".lock", home / "amux.log"):  # fmt: skip
        assert mode(file) == 0o600, file
    assert "written under umask 000" in (home / "amux.log").read_text()


# ------------------------------------------------------------------ refusing


@pytest.mark.parametrize("which", ["home", "rooms"])
def test_a_group_writable_home_or_rooms_dir_is_refused(tmp_path, which):
    home = tmp_path / "home"
    make_room(home)
    target = home if which == "home" else home / "rooms"
    target.chmod(0o770)
    for args in (("ls",), ("show", "kept"), ()):
        done = amux(home, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert str(target) in done.stderr and f"chmod 700 {target}" in done.stderr, done.stderr
        assert "writable by its group" in done.stderr
    with pytest.raises(UnsafePath):
        Engine(Paths.resolve(home)).open()
    target.chmod(0o700)  # the fix the message names works
    assert amux(home, "ls").returncode == 0


@needs_root
def test_a_home_owned_by_another_user_is_refused(tmp_path):
    home = tmp_path / "home"
    make_room(home)
    os.chown(home / "rooms", OTHER_UID, OTHER_UID)
    done = amux(home, "ls")
    assert done.returncode == 2 and f"owned by uid {OTHER_UID}" in done.stderr, done.stderr
    with pytest.raises(UnsafePath, match="not by you"):
        Engine(Paths.resolve(home)).open()


@needs_root
def test_metadata_planted_by_another_user_is_never_run(tmp_path):
    """The attack of the issue: a room whose metadata names ``/bin/sh -c …``."""
    home = tmp_path / "home"
    room_id = make_room(home)
    meta_path = home / "rooms" / f"{room_id}.json"
    meta = json.loads(meta_path.read_text())
    pwned = tmp_path / "PWNED"
    meta["agent"] = {"name": "evil", "command": "/bin/sh", "args": ["-c", f"touch {pwned}"]}
    meta_path.write_text(json.dumps(meta))
    os.chown(meta_path, OTHER_UID, OTHER_UID)
    engine = open_engine(home)
    room = engine.rooms[room_id]
    assert room.agent.launch is None and "owned by uid" in (room.meta_problem or "")
    assert not pwned.exists()
    engine.lock.release()  # type: ignore[union-attr]


async def test_a_symlinked_or_fifo_log_is_a_clear_room_error_and_ls_returns(tmp_path):
    home = tmp_path / "home"
    linked, fifo = make_room(home), make_room(home)
    rooms = home / "rooms"
    target = tmp_path / "elsewhere.jsonl"
    target.write_text("precious\n")
    (rooms / f"{linked}.jsonl").unlink()
    (rooms / f"{linked}.jsonl").symlink_to(target)
    (rooms / f"{fifo}.jsonl").unlink()
    os.mkfifo(rooms / f"{fifo}.jsonl", 0o600)

    done = amux(home, "ls", timeout=20)  # a FIFO opened for reading would block forever
    assert done.returncode == 1, done.stderr
    assert f"{linked}: " in done.stderr and "is a symbolic link" in done.stderr
    assert f"{fifo}: " in done.stderr and "is a FIFO" in done.stderr
    rows = {r["roomId"]: r for r in json.loads(amux(home, "ls", "--json", timeout=20).stdout)}
    assert rows[linked]["state"] == "error" and "symbolic link" in rows[linked]["error"]
    show = amux(home, "show", fifo, timeout=20)
    assert show.returncode == 2 and "is a FIFO" in show.stderr and "Traceback" not in show.stderr

    engine = open_engine(home)
    for room_id, why in ((linked, "is a symbolic link"), (fifo, "is a FIFO")):
        room = engine.rooms[room_id]
        await room.load()
        assert room.status == "failed" and why in (room.failure or ""), room.failure
    await engine.shutdown()
    assert target.read_text() == "precious\n"  # never followed, never appended to


def test_metadata_that_never_ends_is_refused_promptly(tmp_path):
    home = tmp_path / "home"
    room_id = make_room(home)
    meta = home / "rooms" / f"{room_id}.json"
    meta.unlink()
    meta.symlink_to("/dev/zero")
    done = amux(home, "ls", "--json", timeout=20)
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert row["roomId"] == room_id and row["title"] == "kept"  # the title comes from the log


def test_a_symlinked_app_log_is_not_followed(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    target = tmp_path / "victim"
    target.write_text("untouched\n")
    target.chmod(0o644)
    (home / "amux.log").symlink_to(target)
    script = (
        "import logging, sys\nfrom amux_tui.cli import _setup_app_log\nfrom amux_tui.paths "
        "import Paths\n_setup_app_log(Paths.resolve(sys.argv[1]))\n"
        "logging.getLogger('amux').warning('appended?')\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(home)], capture_output=True,
                          text=True, cwd=REPO, timeout=30)  # fmt: skip
    assert "not writing the app log" in done.stderr and "symbolic link" in done.stderr
    assert target.read_text() == "untouched\n" and mode(target) == 0o644


def test_a_symlinked_lock_file_is_not_truncated(tmp_path):
    home = tmp_path / "home"
    make_room(home)
    target = tmp_path / "victim"
    target.write_text("untouched\n")
    lock = home / "rooms" / ".lock"
    lock.unlink()
    lock.symlink_to(target)
    with pytest.raises(UnsafePath, match="symbolic link"):
        Engine(Paths.resolve(home)).open()
    assert target.read_text() == "untouched\n"


def test_a_config_others_may_write_is_not_used(tmp_path):
    config_file = tmp_path / "agents.toml"
    config_file.write_text('[agents.evil]\ncommand = "/bin/sh"\n')
    config_file.chmod(0o666)
    config = load_config(config_file)
    assert "evil" not in config.agents
    [problem] = config.problems
    assert "config not used" in str(problem) and f"chmod 600 {config_file}" in str(problem)
    config_file.chmod(0o600)
    assert "evil" in load_config(config_file).agents
    linked = tmp_path / "linked.toml"  # a dotfile manager's symlink to a private file is fine
    linked.symlink_to(config_file)
    assert "evil" in load_config(linked).agents
