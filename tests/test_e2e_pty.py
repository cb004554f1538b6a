"""End to end: the real ``amux`` command in a pseudo-terminal, against the demo agent.

Start amux (160x48, xterm-256color), type a prompt, wait for the demo reply on the screen,
quit with ctrl+q, check the exit code and ``amux ls --json``; then start it again and check
that the session was resumed (the demo agent remembers the earlier prompt).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from terminal import AmuxTerminal, run_cli

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


def _amux_ls(home: Path) -> list[dict]:
    return json.loads(run_cli(home, "ls", "--json").stdout)


@pytest.mark.slow
def test_amux_in_a_pty_prompt_reply_quit_and_resume(tmp_path):
    home = tmp_path / "amux-home"
    home.mkdir()
    with AmuxTerminal(home) as term:
        term.wait_ready()  # raw mode and the footer ("ctrl+q quit"): the UI is up
        term.wait_for("ready")  # the first-run demo room started
        mark = term.mark()
        term.type("hello from the pty")
        term.press("enter")
        term.wait_for("Demo reply", since=mark)
        term.wait_for("This is the first prompt of this session.", since=mark)
        term.wait_turns_settled(1)
        term.press("ctrl+q")
        assert term.wait_exit() == 0

    rooms = _amux_ls(home)
    assert len(rooms) == 1
    room = rooms[0]
    assert room["title"] == "demo" and room["agent"] == "demo"
    assert room["frames"] > 10 and room["segments"] == 1 and room["state"] == "not started"

    with AmuxTerminal(home) as term:
        term.wait_ready()
        term.wait_for("hello from the pty")  # the transcript came back from the log
        term.wait_for("ready")
        mark = term.mark()
        term.type("/recall\r")
        # The agent resumed its session: it still holds the earlier prompt.
        term.wait_for("This session holds 1 earlier prompt", since=mark)
        term.wait_turns_settled(2)
        term.press("ctrl+q")
        assert term.wait_exit() == 0
    rooms = _amux_ls(home)
    assert rooms[0]["segments"] == 1  # same session, same segment


@pytest.mark.slow
@pytest.mark.parametrize("sighup", [False, True], ids=["no-sighup", "sighup"])
def test_terminal_vanishing_stops_amux_and_its_agent(tmp_path, sighup):
    """The terminal's master is closed: amux saves and stops its agents, with or without the
    SIGHUP a controlling terminal sends (without one, amux notices the dead terminal itself)."""
    home = tmp_path / "amux-home"
    home.mkdir()
    with AmuxTerminal(home, controlling_tty=sighup) as term:
        term.wait_ready()
        term.wait_for("ready")
        mark = term.mark()
        term.type("remember this\r")
        term.wait_for("Demo reply", since=mark)
        agent_pids = subprocess.run(["pgrep", "-f", "amux_tui.demo_agent", "-P", str(term.pid)],
                                    capture_output=True, text=True).stdout.split()  # fmt: skip
        assert agent_pids
        term.hangup()  # the terminal window is gone
        term.proc.wait(timeout=15)
        assert term.proc.returncode == 129
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(
            Path(f"/proc/{pid}").exists() for pid in agent_pids
        ):
            time.sleep(0.1)
        assert not any(Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
                       for pid in agent_pids)  # fmt: skip
    rooms = _amux_ls(home)
    assert rooms and rooms[0]["frames"] > 10
    md = run_cli(home, "export", rooms[0]["roomId"]).stdout
    assert "remember this" in md


def test_app_log_is_written(tmp_path):
    home = tmp_path / "amux-home"
    home.mkdir()
    with AmuxTerminal(home) as term:
        term.wait_ready()
        term.press("ctrl+q")
        assert term.wait_exit() == 0
    text = (home / "amux.log").read_text()
    assert "started on" in text and "amux stopped (exit 0)" in text
    assert oct((home / "amux.log").stat().st_mode & 0o777) == "0o600"
