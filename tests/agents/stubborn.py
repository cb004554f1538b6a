"""Fake agent that will not die politely.

Ignores SIGTERM and stdin EOF, and spawns a child (sharing its stdout/stderr, also ignoring
SIGTERM) whose pid it reports in a ``child`` notification. Only SIGKILL ends either.
With argv[1] == "polite-parent" the agent itself exits on stdin EOF but leaves the child.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen(
    [
        sys.executable,
        "-c",
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('child ready', flush=True)\n"
        "time.sleep(600)\n",
    ],
    stdout=sys.stderr,  # keep the agent's stdout clean; the child still holds a pipe
)
msg = {"jsonrpc": "2.0", "method": "child", "params": {"pid": child.pid}}
sys.stdout.write(json.dumps(msg) + "\n")
sys.stdout.flush()
sys.stdin.buffer.read()  # until EOF
if sys.argv[1:] == ["polite-parent"]:
    sys.exit(0)
while True:
    time.sleep(1)
