"""End to end: the real ``amux`` command in a pseudo-terminal, against the demo agent.

Start amux (160x48, xterm-256color), type a prompt, wait for the demo reply on the screen,
quit with ctrl+q, check the exit code and ``amux ls --json``; then start it again and check
that the session was resumed (the demo agent remembers the earlier prompt).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[PX^_][^\x1b]*\x1b\\|\x1b[@-Z\\-_]"
)


class Terminal:
    """amux running in a pty; ``text`` is everything it drew, ANSI stripped."""

    def __init__(
        self, home: Path, rows: int = 48, cols: int = 160, args: list[str] | None = None
    ) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = dict(
            os.environ,
            AMUX_HOME=str(home),
            TERM="xterm-256color",
            COLUMNS=str(cols),
            LINES=str(rows),
        )
        env.pop("TEXTUAL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "amux_tui", *(args or [])],
            stdin=slave, stdout=slave, stderr=slave, env=env, cwd=str(home),
            start_new_session=True, close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.master = master
        self.raw = b""

    @property
    def text(self) -> str:
        return ANSI.sub("", self.raw.decode("utf-8", "replace"))

    def pump(self, seconds: float = 0.05) -> None:
        ready, _, _ = select.select([self.master], [], [], seconds)
        if ready:
            with contextlib.suppress(OSError):  # OSError: the child closed the terminal
                self.raw += os.read(self.master, 65536)

    def wait_for(self, needle: str, timeout: float = 30.0, since: int = 0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text[since:]:
            if time.monotonic() > deadline:
                tail = self.text[-3000:]
                raise AssertionError(
                    f"{needle!r} never appeared on the terminal; last output:\n{tail}"
                )
            if self.proc.poll() is not None:
                self.pump(0.2)
                if needle in self.text[since:]:
                    return
                raise AssertionError(
                    f"amux exited ({self.proc.returncode}) before {needle!r} appeared:\n{self.text[-3000:]}"
                )
            self.pump()

    def type(self, data: str) -> None:
        for ch in data:  # one key at a time, as a person types
            os.write(self.master, ch.encode())
            self.pump(0.01)

    def wait_exit(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"amux did not exit; last output:\n{self.text[-2000:]}")
            self.pump()
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def wait_turns_settled(term: Terminal, home: Path, started: int, timeout: float = 30.0) -> None:
    """Wait until the logs hold ``started`` turns and every one of them has ended.

    The screen alone cannot say it: a quick turn may never paint "busy" at all.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        begun = ended = 0
        for path in (home / "rooms").glob("*.jsonl"):
            for line in path.read_text().splitlines():
                method = json.loads(line)["frame"].get("method") if line.strip() else None
                begun += method == "amux/turn_started"
                ended += method in ("amux/turn_complete", "amux/turn_interrupted")
        if begun >= started and ended == begun:
            return
        term.pump(0.05)
    raise AssertionError(f"turns did not settle: {begun} started, {ended} ended")


def _amux_ls(home: Path) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "amux_tui", "ls", "--json"], env=dict(os.environ, AMUX_HOME=str(home)),
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


@pytest.mark.slow
def test_amux_in_a_pty_prompt_reply_quit_and_resume(tmp_path):
    home = tmp_path / "amux-home"
    home.mkdir()
    term = Terminal(home)
    try:
        term.wait_for("ctrl+q quit")  # the footer: the UI is up
        term.wait_for("ready")  # the first-run demo room started
        mark = len(term.text)
        term.type("hello from the pty")
        term.type("\r")
        term.wait_for("Demo reply", since=mark)
        term.wait_for("This is the first prompt of this session.", since=mark)
        wait_turns_settled(term, home, 1)
        term.type("\x11")  # ctrl+q
        assert term.wait_exit() == 0
    finally:
        term.close()

    rooms = _amux_ls(home)
    assert len(rooms) == 1
    room = rooms[0]
    assert room["title"] == "demo" and room["agent"] == "demo"
    assert room["frames"] > 10 and room["segments"] == 1 and room["state"] == "not started"

    term = Terminal(home)
    try:
        term.wait_for("ctrl+q quit")
        term.wait_for("hello from the pty")  # the transcript came back from the log
        term.wait_for("ready")
        mark = len(term.text)
        term.type("/recall\r")
        # The agent resumed its session: it still holds the earlier prompt.
        term.wait_for("This session holds 1 earlier prompt", since=mark)
        wait_turns_settled(term, home, 2)
        term.type("\x11")
        assert term.wait_exit() == 0
    finally:
        term.close()
    rooms = _amux_ls(home)
    assert rooms[0]["segments"] == 1  # same session, same segment


@pytest.mark.slow
def test_terminal_vanishing_without_sighup_stops_amux_and_its_agent(tmp_path):
    """A pty whose master is closed sends no SIGHUP here: amux notices, saves, stops its agents."""
    home = tmp_path / "amux-home"
    home.mkdir()
    term = Terminal(home)
    term.wait_for("ctrl+q quit")
    term.wait_for("ready")
    mark = len(term.text)
    term.type("remember this\r")
    term.wait_for("Demo reply", since=mark)
    agent_pids = subprocess.run(["pgrep", "-f", "amux_tui.demo_agent", "-P", str(term.proc.pid)],
                                capture_output=True, text=True).stdout.split()  # fmt: skip
    assert agent_pids
    os.close(term.master)  # the terminal window is gone
    term.proc.wait(timeout=15)
    assert term.proc.returncode == 129
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in agent_pids):
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
                   for pid in agent_pids)  # fmt: skip
    rooms = _amux_ls(home)
    assert rooms and rooms[0]["frames"] > 10
    md = subprocess.run([sys.executable, "-m", "amux_tui", "export", rooms[0]["roomId"]],
                        env=dict(os.environ, AMUX_HOME=str(home)), capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "remember this" in md


def test_app_log_is_written(tmp_path):
    home = tmp_path / "amux-home"
    home.mkdir()
    term = Terminal(home)
    try:
        term.wait_for("ctrl+q quit")
        term.type("\x11")
        assert term.wait_exit() == 0
    finally:
        term.close()
    text = (home / "amux.log").read_text()
    assert "started on" in text and "amux stopped (exit 0)" in text
    assert oct((home / "amux.log").stat().st_mode & 0o777) == "0o600"
