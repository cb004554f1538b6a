"""Fake agent: floods stderr while producing stdout frames.

argv[1] = MiB of stderr to write. First a 1 MiB stderr line without a newline until its
end, then per MiB of short stderr lines one ``tick`` notification on stdout. Finally a
``done`` notification with the exact number of stderr lines written. Then waits for EOF.
"""

from __future__ import annotations

import json
import sys

mib = int(sys.argv[1])
err = sys.stderr.buffer
out = sys.stdout.buffer

# 1 MiB of 100-byte lines; the last one is recognisable so the ring tail can be checked.
line = b"E" * 99 + b"\n"
block = line * (1024 * 1024 // len(line))
per_block = block.count(b"\n")

lines = 0
err.write(b"L" * (1024 * 1024) + b"\n")
lines += 1
for i in range(mib):
    err.write(block)
    err.flush()
    lines += per_block
    out.write(b'{"jsonrpc":"2.0","method":"tick","params":{"i":%d}}\n' % i)
    out.flush()
err.write(b"last stderr line\n")
err.flush()
lines += 1
out.write(
    json.dumps({"jsonrpc": "2.0", "method": "done", "params": {"lines": lines}}).encode() + b"\n"
)
out.flush()
sys.stdin.buffer.read()
