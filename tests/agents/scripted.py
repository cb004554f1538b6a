"""A fake ACP agent driven by the requests it receives (tests of amux_tui.acp).

Every line received on stdin is reported on stderr as ``RECV <line>`` so tests can see
exactly what the client wrote. Methods (the request's params drive each one):

- ``ping``: result ``{"pong": params}``.
- ``whoami``: result with ``cwd``, ``pid`` and the env vars named in ``params.names``.
- ``fail``: error response built from ``params`` (code, message, data).
- ``sleep``: never answered.
- ``die``: exit at once with ``params.code``, without answering.
- ``emit``: write each string of ``params.lines`` to stdout verbatim (plus ``\\n``), then
  answer ``{"emitted": n}``. Lets tests produce garbage, huge, CRLF and empty lines.
- ``collide``: send the agent's own requests with ids ``1``, ``0`` and ``"abc"`` (and a
  response with an unknown id), then answer ``{"ours": true}``.
- ``ask``: send one request ``params`` (``{"id", "method"}``) to the client, then answer.

On stdin EOF the agent exits with status 0.
"""

from __future__ import annotations

import json
import os
import sys


def send(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def answer(request_id: object, result: object) -> None:
    send({"jsonrpc": "2.0", "id": request_id, "result": result})


def main() -> None:
    for raw in sys.stdin.buffer:
        line = raw.rstrip(b"\n").decode("utf-8", errors="replace")
        sys.stderr.write(f"RECV {line}\n")
        sys.stderr.flush()
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        method = msg.get("method")
        if method is None or "id" not in msg:
            continue  # a response or notification from the client: RECV is all we do
        rid = msg["id"]
        params = msg.get("params") or {}
        if method == "ping":
            answer(rid, {"pong": params})
        elif method == "whoami":
            names = params.get("names", [])
            answer(
                rid,
                {
                    "cwd": os.getcwd(),
                    "pid": os.getpid(),
                    "env": {n: os.environ.get(n) for n in names},
                },
            )
        elif method == "fail":
            send({"jsonrpc": "2.0", "id": rid, "error": params})
        elif method == "sleep":
            pass
        elif method == "die":
            sys.stdout.flush()
            os._exit(int(params.get("code", 1)))
        elif method == "emit":
            for text in params["lines"]:
                sys.stdout.write(text + "\n")
            sys.stdout.flush()
            answer(rid, {"emitted": len(params["lines"])})
        elif method == "collide":
            send(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "session/request_permission",
                    "params": {"n": 1},
                }
            )
            send({"jsonrpc": "2.0", "id": 0, "method": "fs/read_text_file", "params": {"n": 0}})
            send({"jsonrpc": "2.0", "id": "abc", "method": "_x/custom", "params": {"n": "abc"}})
            send({"jsonrpc": "2.0", "id": 4242, "result": {"stray": True}})
            answer(rid, {"ours": True})
        elif method == "ask":
            send({"jsonrpc": "2.0", "id": params["id"], "method": params["method"], "params": {}})
            answer(rid, {"asked": True})
        else:
            send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "nope"}})


if __name__ == "__main__":
    main()
