"""The terminal goes away (SIGHUP): amux quits cleanly, closing the running turn."""

from __future__ import annotations

import json
import os
import signal
import sys

import pytest
from terminal import AmuxTerminal

from amux_tui.engine import frames as F

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


def test_sighup_quits_cleanly_and_settles_the_running_turn(tmp_path):
    home = tmp_path / "amux-home"
    home.mkdir()
    with AmuxTerminal(home) as term:
        term.wait_ready()
        term.wait_for("ready")
        term.type("/slow 30\r")
        term.wait_for("tick 2")
        os.kill(term.pid, signal.SIGHUP)
        assert term.wait_exit(20) == 0
    (log,) = (home / "rooms").glob("*.jsonl")
    methods = [json.loads(line)["frame"].get("method") for line in log.read_text().splitlines()]
    assert F.TURN_CANCELLED in methods
    assert (
        methods.index(F.TURN_COMPLETE, methods.index(F.TURN_CANCELLED)) > 0
    )  # settled, not left open
    assert F.PEER_LEFT in methods
