"""The built-in demo agent: a faithful ACP agent with scripted, deterministic behaviour.

Run it as ``python -m amux_tui.demo_agent``; it speaks ACP (JSON-RPC 2.0, one JSON object
per line) on stdin/stdout and logs to stderr. It is amux's first-run experience and the
main test peer of the engine, so every scenario a real agent can produce is one prompt
away (``/help`` lists them; see :mod:`amux_tui.demo_agent.scenarios`).

Sessions are saved in ``<state>/sessions/<sessionId>.json`` so ``session/load`` and
``session/resume`` work across process restarts.

Environment knobs:

``AMUX_DEMO_STATE``
    State directory (default: ``demo-agent`` under the amux data dir, honouring
    ``$AMUX_HOME``).
``AMUX_DEMO_CHUNK_DELAY``
    Seconds between streamed chunks (default ``0.03``; tests use ``0.001``).
``AMUX_DEMO_NO_LOAD=1``
    Advertise ``loadSession: false``; ``session/load`` answers -32601.
``AMUX_DEMO_NO_RESUME=1``
    Do not advertise ``sessionCapabilities.resume``; ``session/resume`` answers -32601.
``AMUX_DEMO_RESUME_REPLAYS=1``
    ``session/resume`` replays the history anyway, like Hermes does.
``AMUX_DEMO_FAIL_LOAD=1``
    ``session/load`` answers error -32603.
``AMUX_DEMO_RESUME_FORKS=1``
    ``session/resume`` succeeds but reports a different ``sessionId`` (a silent fork).
``AMUX_DEMO_PROTOCOL_VERSION=N``
    Answer ``initialize`` with protocol version ``N``.
``AMUX_DEMO_AUTH_REQUIRED=1``
    Advertise the ``demo-login`` auth method; session calls answer -32000
    "Authentication required" until ``authenticate {methodId:"demo-login"}``.
``AMUX_DEMO_IGNORE_CANCEL=1``
    Ignore ``session/cancel`` (``/slow`` keeps streaming), to exercise force stop.
``AMUX_DEMO_GATE=FILE``
    Hold every turn open until ``FILE`` exists: a turn streams its reply, then waits
    before answering ``session/prompt``; a ``/compact`` waits right after its start
    signal (before any done signal). Creating the file (``touch FILE``) lets them go on;
    the gate stays open while it exists, and a cancel still ends a held turn at once.
    This makes short-lived states (busy, compacting) last as long as a test or a person
    needs to look at them.
``AMUX_DEMO_STDOUT_REPORT=DIR``
    Count every byte written to stdout; when the client vanishes (a write fails with
    EPIPE), write ``DIR/stdout-<pid>.json``: bytes written, bytes the client never read
    (``FIONREAD`` on the pipe) and the last complete line it did read. Lets the kill -9
    soak (``benchmarks/soak_kill.py``) tell what amux took in from what it wrote.

Flags accept ``1``/``true``/``yes``/``on``.
"""

from __future__ import annotations

__all__ = ["main"]


def main() -> int:
    """Run the agent until stdin closes (see :mod:`amux_tui.demo_agent.__main__`)."""
    from amux_tui.demo_agent.__main__ import main as _main

    return _main()
