"""Imitates Hermes Agent 0.19 (``hermes acp``) where amux has told it wrongly.

* Compaction is reported on **stderr** only. ``compact`` compacts with a failed summary:
  ``⚠ Compression summary failed: … Inserted a fallback context marker.`` comes before the
  ``done`` line (40 messages became 4 without a summary), in place (the same session id
  in both lines), then the two-line ``Context compressed…`` note as agent text.
* ``no progress``: a ``started`` line, then ``Compression made no progress (session=…) —
  skipping boundary rewrite.`` and never a ``done``.
* Its title for the session arrives as ``session_info_update`` *after* the prompt response.

Before writing to stdout again after stderr lines, it waits until amux has read them (the
pipe is empty): in real Hermes the model call in between takes seconds.
"""

from __future__ import annotations

import fcntl
import struct
import sys
import termios
import time
from typing import Any

from acp_script import ScriptedAgent

LOGGER = "2026-05-27 21:27:04 [INFO] agent.conversation_compression:"


class HermesLike(ScriptedAgent):
    name = "hermes"
    capabilities: dict[str, Any] = {
        "loadSession": True,
        "sessionCapabilities": {"list": {}, "resume": {}, "fork": {}},
    }

    def hermes_id(self) -> str:
        return f"20260527_202251_{self.session_id[-6:]:0>6}"

    def logged(self, *lines: str) -> None:
        for line in lines:
            self.stderr(line)
        while _unread(2):  # amux has not read our stderr yet
            time.sleep(0.005)

    def prompt(self, text: str) -> str:
        hid = self.hermes_id()
        if text == "compact":
            self.logged(
                f"{LOGGER} context compression started: session={hid} messages=40 "
                "tokens=~72,908 model=hermes-3 focus=None",
                "🗜️ Compacting context — summarizing earlier conversation so I can continue...",
                "⚠ Compression summary failed: summarizer returned 429 Too Many Requests. "
                "Inserted a fallback context marker.",
                f"{LOGGER} context compression done: session={hid} messages=40->4 "
                "rough_tokens=~3,100 awaiting_real_usage=true",
            )
            self.say("🗜️ Context compressed: 40 → 4 messages\n~3,100 tokens now in context")
            return "end_turn"
        if text == "no progress":
            self.logged(
                f"{LOGGER} context compression started: session={hid} messages=3 "
                "tokens=~900 model=hermes-3 focus=None",
                f"Compression made no progress (session={hid}) — skipping boundary rewrite.",
            )
            self.say("Nothing to compact yet.")
            return "end_turn"
        self.say(f"Hermes heard: {text}")
        return "end_turn"

    def after_prompt(self, text: str) -> None:
        provenance = {"hermesSessionId": self.hermes_id(), "compressionDepth": 0}
        self.update(
            "session_info_update",
            title=f"Hermes on {text}",
            _meta={"hermes": {"sessionProvenance": provenance}},
        )


def _unread(fd: int) -> int:
    """Bytes written to the pipe on ``fd`` that its reader has not read yet."""
    try:
        raw = fcntl.ioctl(fd, termios.FIONREAD, struct.pack("i", 0))
    except OSError:
        return 0  # not a pipe (a terminal, a file): nobody to wait for
    return struct.unpack("i", raw)[0]


if __name__ == "__main__":
    HermesLike(sys.argv[1:]).run()
