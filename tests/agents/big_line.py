"""Fake agent: writes one huge notification line, then one that describes it.

argv[1] = size of the payload string in bytes. The second frame carries the length and
SHA-256 of the first line exactly as written (without its newline). Then waits for stdin EOF.
"""

from __future__ import annotations

import hashlib
import os
import sys

size = int(sys.argv[1])
payload = os.urandom(size // 2 + 1).hex()[:size]
line = ('{"jsonrpc":"2.0","method":"big","params":{"data":"' + payload + '"}}').encode()
out = sys.stdout.buffer
out.write(line + b"\n")
digest = hashlib.sha256(line).hexdigest()
out.write(
    b'{"jsonrpc":"2.0","method":"after","params":{"len":%d,"sha256":"%s"}}\n'
    % (len(line), digest.encode())
)
out.flush()
sys.stdin.buffer.read()
