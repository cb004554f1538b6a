"""Output side of the demo agent: one JSON line per message on stdout, logs on stderr.

Writes are synchronous and flushed per message on purpose: the order on the wire is then
exactly the order of the calls, nothing is left in a buffer when ``/crash`` calls
``os._exit``, and a slow reader applies back-pressure simply by blocking us (the client is
not reading anyway at that moment, so there is nothing we could usefully do meanwhile).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import msgspec

from amux_tui.demo_agent.stdout_report import StdoutAccount

_encoder = msgspec.json.Encoder()


def encode(msg: Any) -> bytes:
    """One message as a JSON line (msgspec never emits raw newlines inside strings)."""
    return _encoder.encode(msg) + b"\n"


class Writer:
    """Serialises JSON-RPC messages to a binary stream.

    ``report_dir`` (``AMUX_DEMO_STDOUT_REPORT``): account for every byte written to
    stdout and report what the client had read when it vanishes (see
    :mod:`amux_tui.demo_agent.stdout_report`)."""

    def __init__(
        self,
        out: IO[bytes] | None = None,
        err: IO[bytes] | None = None,
        *,
        report_dir: Path | None = None,
    ) -> None:
        self.out = out if out is not None else sys.stdout.buffer
        # Bytes, UTF-8, whatever the locale: the Hermes line starts with an emoji.
        self.err = err if err is not None else sys.stderr.buffer
        self.closed = False
        self._account = (
            StdoutAccount(self.out.fileno(), report_dir) if report_dir is not None else None
        )

    def write_raw(self, data: bytes) -> None:
        """Write already-encoded bytes and flush; a vanished client is not our problem."""
        if self.closed:
            return
        if self._account is not None:
            self.closed = not self._account.write(data)
            return
        try:
            self.out.write(data)
            self.out.flush()
        except (BrokenPipeError, ValueError, OSError):
            # The client closed our stdout: nothing more can be said; stop trying.
            self.closed = True

    def send(self, msg: dict[str, Any]) -> None:
        """Encode and write one message."""
        self.write_raw(encode(msg))

    def notify(self, method: str, params: dict[str, Any]) -> None:
        """A JSON-RPC notification."""
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, req_id: int, method: str, params: dict[str, Any]) -> None:
        """A JSON-RPC request from the agent to the client."""
        self.send({"jsonrpc": "2.0", "id": req_id, "method": method, "params": params})

    def respond(self, req_id: Any, result: Any) -> None:
        """A success response."""
        self.send({"jsonrpc": "2.0", "id": req_id, "result": result})

    def error(self, req_id: Any, code: int, message: str, data: Any = None) -> None:
        """An error response (``data`` omitted when None)."""
        err: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            err["data"] = data
        self.send({"jsonrpc": "2.0", "id": req_id, "error": err})

    def log(self, line: str) -> None:
        """One stderr line, flushed at once (amux scrapes stderr for compaction markers)."""
        try:
            self.err.write((line.rstrip("\n") + "\n").encode("utf-8", "replace"))
            self.err.flush()
        except (OSError, ValueError):
            pass

    def info(self, logger: str, message: str) -> None:
        """A stderr line in Hermes' logging format: ``YYYY-mm-dd HH:MM:SS [INFO] name: msg``."""
        stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        self.log(f"{stamp} [INFO] {logger}: {message}")
