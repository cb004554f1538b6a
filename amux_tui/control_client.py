"""The CLI's side of the control socket: connect to the running amux, ask, read events.

Blocking and small on purpose (the CLI does one thing and exits). The protocol is
:mod:`amux_tui.engine.control_protocol`; the socket file and its checks are
:mod:`amux_tui.engine.control_socket`.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from amux_tui.engine import control_protocol as P
from amux_tui.engine import control_socket as S
from amux_tui.engine.lock import recorded_holder

HELLO_TIMEOUT = 5.0  # seconds to wait for the server's hello before calling it hung
ANSWER_TIMEOUT = 120.0  # seconds for an answer (``ls`` may wait for rooms to hydrate)


class NotRunning(Exception):
    """No amux serves the rooms directory (``holder``: the pid of one that runs but does
    not answer on its socket, e.g. an older amux without one)."""

    def __init__(self, message: str, holder: int | None = None) -> None:
        super().__init__(message)
        self.holder = holder


class ControlError(Exception):
    """The server refused a request: ``code`` is one of the protocol's error codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ControlClient:
    """One connection to the running amux; see :meth:`connect`."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._file = sock.makefile("rb")
        self.hello: dict[str, Any] = {}

    @classmethod
    def connect(cls, rooms_dir: Path, timeout: float = HELLO_TIMEOUT) -> ControlClient:
        """Connect and read the server's hello; raises :class:`NotRunning`."""
        path = S.socket_path(rooms_dir)
        try:
            sock = S.connect(path, timeout=timeout)
        except OSError as exc:
            holder = recorded_holder(rooms_dir)
            if holder is not None:
                raise NotRunning(
                    f"amux (pid {holder}) runs on {rooms_dir} but its control socket does not "
                    f"answer ({exc.strerror or exc})",
                    holder,
                ) from None
            raise NotRunning(f"no amux is running on {rooms_dir}") from None
        client = cls(sock)
        try:
            hello = client._read()
        except (OSError, ValueError) as exc:
            client.close()
            raise NotRunning(f"amux does not answer on {path} ({exc})") from None
        if hello is None:
            client.close()
            raise NotRunning(f"amux closed its control socket at {path} at once")
        if hello.get("ok") is False:  # refused before hello (too many clients…)
            client.close()
            error = hello.get("error") or {}
            raise ControlError(str(error.get("code")), str(error.get("message")))
        if hello.get("event") != "hello":
            client.close()
            raise NotRunning(f"{path} is not an amux control socket")
        client.hello = hello
        sock.settimeout(None)
        return client

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()
        self.sock.close()

    # ---- requests ------------------------------------------------------------------------------
    def send_request(self, cmd: str, **fields: Any) -> None:
        """Write one request (``None`` fields are left out)."""
        request = {"cmd": cmd, **{k: v for k, v in fields.items() if v is not None}}
        self.sock.sendall(P.encode_line(request))

    def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        """Send a request and return its answer; raises :class:`ControlError` if refused
        (or unanswered for :data:`ANSWER_TIMEOUT`). Events that follow wait as long as
        they take."""
        self.send_request(cmd, **fields)
        self.sock.settimeout(ANSWER_TIMEOUT)
        try:
            answer = self._read()
        except TimeoutError:
            raise ControlError(
                "timeout", f"amux did not answer {cmd} within {ANSWER_TIMEOUT:g} s"
            ) from None
        finally:
            self.sock.settimeout(None)
        if answer is None:
            raise ControlError("closed", "amux closed the connection (is it quitting?)")
        if not answer.get("ok"):
            error = answer.get("error") or {}
            raise ControlError(str(error.get("code")), str(error.get("message")))
        return answer

    def events(self) -> Iterator[dict[str, Any]]:
        """The events that follow a streaming request's answer, until the server closes."""
        while True:
            event = self._read()
            if event is None:
                return
            yield event

    def raw_lines(self) -> Iterator[bytes]:
        """The same, as the lines the server sent (``watch --jsonl``)."""
        while True:
            line = self._file.readline()
            if not line:
                return
            yield line

    def _read(self) -> dict[str, Any] | None:
        line = self._file.readline()
        if not line:
            return None
        message = json.loads(line)
        if not isinstance(message, dict):
            raise ValueError("the server sent something other than a JSON object")
        return message
