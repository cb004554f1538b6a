"""A minimal ACP agent with one fault, chosen by $FAULT, for room-level fault tests.

- ``hang_init``: never answers ``initialize``.
- ``client_requests``: on a prompt, sends ``terminal/create``, ``fs/write_text_file`` and
  ``elicitation/create`` to the client, writes each answer to stderr as ``ANSWER <json>``,
  then ends the turn.
- ``updates_outside_turns``: after the prompt response, sends a chunk for another session id.
- ``lone_surrogate``: during a prompt, sends a chunk whose JSON holds a lone surrogate escape.
- ``late_compaction``: after the prompt response, a ``compaction_update`` ``in_progress``
  (outside any turn) that never completes.
- ``close_stdout``: on a prompt, sends one chunk, closes its stdout and keeps running
  (until killed) without ever answering.
"""

from __future__ import annotations

import json
import os
import sys
import time

FAULT = os.environ.get("FAULT", "")


def send(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def update(session_id: str, body: dict) -> None:
    send({"jsonrpc": "2.0", "method": "session/update",
          "params": {"sessionId": session_id, "update": body}})  # fmt: skip


def read() -> dict | None:
    line = sys.stdin.readline()
    return json.loads(line) if line else None


def main() -> None:
    pending: dict[int, str] = {}
    while (msg := read()) is not None:
        method, rid = msg.get("method"), msg.get("id")
        if method is None:
            if rid in pending:
                sys.stderr.write(f"ANSWER {pending.pop(rid)} {json.dumps(msg)}\n")
                sys.stderr.flush()
            continue
        if method == "initialize":
            if FAULT == "hang_init":
                continue
            send(
                {
                    "jsonrpc": "2.0",
                    "id": rid,
                    "result": {"protocolVersion": 1, "agentCapabilities": {}},
                }
            )
        elif method == "session/new":
            send({"jsonrpc": "2.0", "id": rid, "result": {"sessionId": "faulty-1"}})
        elif method == "session/prompt":
            if FAULT == "close_stdout":
                update("faulty-1", {"sessionUpdate": "agent_message_chunk",
                                    "content": {"type": "text", "text": "going quiet"}})  # fmt: skip
                sys.stdout.close()
                os.close(1)
                while True:
                    time.sleep(1)
            if FAULT == "lone_surrogate":
                sys.stdout.write(
                    '{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"faulty-1",'
                    '"update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text",'
                    '"text":"half an emoji \\ud83d here"}}}}\n'
                )
                sys.stdout.flush()
            if FAULT == "client_requests":
                for i, m in enumerate(
                    ("terminal/create", "fs/write_text_file", "elicitation/create")
                ):
                    pending[100 + i] = m
                    send(
                        {
                            "jsonrpc": "2.0",
                            "id": 100 + i,
                            "method": m,
                            "params": {"sessionId": "faulty-1"},
                        }
                    )
                while pending and (answer := read()) is not None:
                    if answer.get("id") in pending and "method" not in answer:
                        sys.stderr.write(
                            f"ANSWER {pending.pop(answer['id'])} {json.dumps(answer)}\n"
                        )
                        sys.stderr.flush()
            send({"jsonrpc": "2.0", "id": rid, "result": {"stopReason": "end_turn"}})
            if FAULT == "late_compaction":
                update("faulty-1", {"sessionUpdate": "compaction_update", "status": "in_progress"})
            if FAULT == "updates_outside_turns":
                send(
                    {
                        "jsonrpc": "2.0",
                        "method": "session/update",
                        "params": {
                            "sessionId": "faulty-2",
                            "update": {
                                "sessionUpdate": "agent_message_chunk",
                                "content": {"type": "text", "text": "moved"},
                            },
                        },
                    }
                )
        else:
            send(
                {
                    "jsonrpc": "2.0",
                    "id": rid,
                    "error": {"code": -32601, "message": "Method not found"},
                }
            )


main()
