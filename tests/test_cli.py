"""The command line: --version, --help, errors as one line."""

from __future__ import annotations

import subprocess
import sys

from amux_tui import __version__


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amux_tui", *args], capture_output=True, text=True, timeout=60
    )


def test_version():
    res = run("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"amux {__version__}"


def test_help_lists_every_command():
    res = run("--help")
    assert res.returncode == 0
    for command in ("new", "ls", "show", "export", "agents", "check", "--home"):
        assert command in res.stdout


def test_unknown_command_is_a_usage_error():
    res = run("frobnicate")
    assert res.returncode == 2 and "invalid choice" in res.stderr and "Traceback" not in res.stderr


def test_export_to_unwritable_file_is_one_line(tmp_path):
    import shutil
    from pathlib import Path

    rooms = tmp_path / "h" / "rooms"
    rooms.mkdir(parents=True)
    shutil.copy(Path(__file__).parent / "fixtures" / "acp-mux-room.jsonl", rooms / "x.jsonl")
    res = run(
        "--home",
        str(tmp_path / "h"),
        "export",
        "x",
        "-o",
        str(tmp_path / "no" / "such" / "dir" / "f.md"),
    )
    assert (
        res.returncode == 2
        and res.stderr.startswith("amux: cannot write")
        and "Traceback" not in res.stderr
    )
    ok = run("--home", str(tmp_path / "h"), "export", "x", "--format", "jsonl")
    assert ok.stdout.encode() == (rooms / "x.jsonl").read_bytes()
