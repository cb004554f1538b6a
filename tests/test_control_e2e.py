"""Driving the running amux from another shell, end to end: amux in a pseudo-terminal, the
CLI as separate processes (issue "Drive the running amux from the shell")."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from terminal import AmuxTerminal

from amux_tui.engine import frames as F
from amux_tui.engine.control_socket import addressable
from amux_tui.engine.timeutil import parse_rfc3339

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal"),
    pytest.mark.slow,
]


def _listed(title: str, number: int):
    """A predicate: the room list shows room ``number`` titled ``title``."""
    row = re.compile(rf"^\W*{number} \S {re.escape(title)}\s")
    return lambda t: any(row.match(line) for line in t.lines())


class Stream:
    """A long-running CLI process (``amux watch --jsonl``) read line by line."""

    def __init__(self, term: AmuxTerminal, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "amux_tui", *args], env=term.env, cwd=str(term.home),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(b"")

    def next(self, timeout: float = 30.0) -> dict[str, Any]:
        line = self.lines.get(timeout=timeout)
        assert line, f"watch ended: {self.proc.stderr.read().decode() if self.proc.stderr else ''}"
        return json.loads(line)

    def until(self, pred: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
        seen = []
        while True:
            seen.append(self.next(timeout))
            if pred(seen[-1]):
                return seen

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _method(event: dict[str, Any]) -> str | None:
    frame = event.get("frame")
    return frame.get("method") if isinstance(frame, dict) else None


def _records(home: Path, room_id: str) -> list[dict[str, Any]]:
    lines = (home / "rooms" / f"{room_id}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


def test_new_in_the_background_then_send_and_wait_for_the_reply(tmp_path):
    """Acceptance 1: the room appears in the running app; send --wait prints the demo
    agent's reply and exits 0; the TUI shows the same turn."""
    home = tmp_path / "home"
    with AmuxTerminal(home) as term:
        term.wait_ready()
        term.wait_for(_listed("demo", 1), what="the first-run room")
        created = term.run_cli("new", "--title", "B", "--background")
        room_id = created.stdout.strip()
        assert re.fullmatch(r"r-[a-z0-9]+", room_id), created
        term.wait_for(_listed("B", 2), what="room B in the room list")
        assert "Welcome to amux" in term.screen_text()  # the demo room kept the focus
        sent = term.run_cli("send", "B", "hello from a script", "--wait", check=False)
        assert sent.returncode == 0, sent.stderr
        assert "## Demo reply" in sent.stdout and "> hello from a script" in sent.stdout
        term.press("ctrl+b", "2")
        term.wait_for("hello from a script", what="the prompt in B's pane")
        term.wait_for("Demo reply")
        assert re.search(r"\bcli · \d\d:\d\d", term.screen_text())  # who sent it
        term.press("ctrl+q")
        assert term.wait_exit() == 0
    assert not (home / "rooms" / "control.sock").exists()


def test_ls_reports_busy_then_ready_with_the_real_last_activity(tmp_path):
    """Acceptance 2: while the /slow turn runs (held open by the demo gate), ls --json says
    busy; afterwards ready, with a last activity within a second of the turn's end."""
    home, gate = tmp_path / "home", tmp_path / "gate"
    with AmuxTerminal(home, env={"AMUX_DEMO_GATE": str(gate)}) as term:
        term.wait_ready()
        term.wait_for("ready")
        assert term.run_cli("send", "demo", "/slow 1").stdout.startswith("sent at-1")
        (row,) = term.cli_json("ls", "--json")
        assert (row["state"], row["live"]) == ("busy", True)
        assert "busy" in term.run_cli("ls").stdout
        gate.touch()
        term.wait_turns_settled(1)
        (row,) = term.cli_json("ls", "--json")
        assert row["state"] == "ready"
        (complete,) = [
            r for r in _records(home, row["roomId"]) if r["frame"]["method"] == F.TURN_COMPLETE
        ]
        gap = parse_rfc3339(row["lastActivity"]) - parse_rfc3339(complete["recorded_at"])
        assert 0 <= gap < 1_000_000_000, (row["lastActivity"], complete["recorded_at"])
        term.press("ctrl+q")
        assert term.wait_exit() == 0
    # Quitting is no activity either: the files say the same afterwards.
    (after,) = json.loads(term.run_cli("ls", "--json").stdout)
    assert after["lastActivity"] == row["lastActivity"] and after["live"] is False


def test_watch_snapshot_is_compacting_only_while_the_turn_runs(tmp_path):
    """Acceptance 3: a watcher joining after the compaction started and before the turn
    settled sees `compacting` in its snapshot; one joining after the turn settled does not,
    though the compaction's done never came."""
    home, gate = tmp_path / "home", tmp_path / "gate"
    with AmuxTerminal(home, env={"AMUX_DEMO_GATE": str(gate)}) as term:
        term.wait_ready()
        term.wait_for("ready")
        first = Stream(term, "watch", "demo", "--jsonl")
        assert first.next()["event"] == "snapshot"
        term.run_cli("send", "demo", "/compact stranded")
        first.until(lambda e: _method(e) == F.COMPACTION_STARTED)
        during = Stream(term, "watch", "demo", "--jsonl")
        snapshot = during.next()
        assert snapshot["event"] == "snapshot"
        assert snapshot["room"]["compacting"] is True and snapshot["room"]["state"] == "busy"
        during.stop()
        gate.touch()  # the turn ends (end_turn) without a compaction done
        settled = first.until(lambda e: _method(e) == F.TURN_COMPLETE)
        assert F.COMPACTION_DONE not in [_method(e) for e in settled]
        after = Stream(term, "watch", "demo", "--jsonl")
        snapshot = after.next()
        assert snapshot["room"]["compacting"] is False and snapshot["room"]["state"] == "ready"
        replay = after.until(lambda e: e.get("event") == "live")
        assert F.COMPACTION_STARTED in [_method(e) for e in replay]  # in the history, stranded
        for stream in (first, after):
            stream.stop()
        term.press("ctrl+q")
        assert term.wait_exit() == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another user")
def test_other_users_are_refused_and_junk_never_disturbs_the_app():
    """Acceptance 4: a client of another uid is refused by its peer credentials; 1,000
    malformed requests in a row leave the app answering requests and echoing keys."""
    home = Path(tempfile.mkdtemp(dir="/tmp", prefix="amux-ctl-"))
    try:
        with AmuxTerminal(home) as term:
            term.wait_ready()
            term.wait_for("ready")
            sock_path = home / "rooms" / "control.sock"
            # Let another user reach the socket through the file system, so only the
            # peer-credential check stands between it and amux.
            for path in (home, home / "rooms"):
                path.chmod(0o711)
            sock_path.chmod(0o666)
            (answer,) = [json.loads(line) for line in _as_nobody(sock_path).splitlines()]
            assert answer["ok"] is False and answer["error"]["code"] == "forbidden"

            import socket

            with addressable(sock_path) as name, socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(30)
                sock.connect(name)
                reader = sock.makefile("rb")
                assert json.loads(reader.readline())["event"] == "hello"
                junk = [b"{nope\n", b'{"cmd":"frobnicate"}\n', b'{"cmd":"send","room":1}\n',
                        b"[]\n", b'{"cmd":"watch"}\n']  # fmt: skip
                sock.sendall(b"".join(junk[i % len(junk)] for i in range(1000)))
                answers = [json.loads(reader.readline()) for _ in range(1000)]
                assert all(a["ok"] is False for a in answers)
                sock.sendall(b'{"cmd":"ping","id":1}\n')
                assert json.loads(reader.readline()) == {"ok": True, "id": 1}
            (row,) = term.cli_json("ls", "--json")
            assert row["live"] is True and row["state"] == "ready"
            term.type("still typing", wait_echo=True)
            term.press("ctrl+q")
            assert term.wait_exit() == 0
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _as_nobody(sock_path: Path) -> str:
    """Connect as user 65534 (a forked child that drops root) and return what amux said."""
    import socket

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            os.setgid(65534)
            os.setuid(65534)
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(20)
                sock.connect(str(sock_path))
                sock.sendall(b'{"cmd":"ls"}\n')
                data = sock.makefile("rb").read()
            os.write(write_fd, data)
        except BaseException as exc:
            os.write(write_fd, f"ERR {exc!r}".encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    os.waitpid(pid, 0)
    with os.fdopen(read_fd, "rb") as f:
        return f.read().decode()


def test_close_and_rename_from_the_shell_update_the_screen(tmp_path):
    home = tmp_path / "home"
    with AmuxTerminal(home, cols=80, rows=24) as term:
        term.wait_ready()
        term.wait_for(_listed("demo", 1))
        term.run_cli("new", "--title", "Second")  # focused: it comes to the front
        term.wait_for(_listed("Second", 2))
        term.wait_for(lambda t: "Second" in t.line(0), what="Second in front")
        term.run_cli("rename", "Second", "Renamed")
        term.wait_for(_listed("Renamed", 2))
        closed = term.run_cli("close", "Renamed")
        assert "archived" in closed.stdout
        term.wait_for(lambda t: not _listed("Renamed", 2)(t), what="the room to leave the list")
        term.wait_for(lambda t: "demo" in t.line(0), what="the neighbour in front")
        term.type("x", wait_echo=True)  # the prompt of the room in front has the focus
        term.press("ctrl+q")
        assert term.wait_exit() == 0
