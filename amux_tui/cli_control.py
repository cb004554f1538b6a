"""CLI commands that drive the running amux through its control socket (README "Scripting amux").

``send``, ``watch`` and ``cancel`` need the running amux. ``ls``, ``show`` and ``new`` use
it when it runs and otherwise fall back to the files (``new --background`` then creates
the room on disk without opening the TUI). ``rename`` and ``close`` work either way:
without a running amux they take the rooms lock and change the files themselves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from amux_tui.cli import CliError
from amux_tui.control_client import ControlClient, ControlError, NotRunning
from amux_tui.engine import control_protocol as P
from amux_tui.paths import Paths
from amux_tui.text import one_line, visible

# Exit status of ``send --wait`` by how the turn ended (2 stays "amux could not do it").
EXIT_BY_OUTCOME = {
    P.END_TURN: 0,
    P.CANCELLED: 3,
    P.REFUSED_TURN: 4,
    P.LIMIT: 5,
    P.ERROR: 6,
    P.INTERRUPTED: 7,
}


def connect(
    paths: Paths, *, needed_for: str | None = None, reads_files: bool = False
) -> ControlClient | None:
    """The running amux, or None (``needed_for``: a command that cannot do without it;
    ``reads_files``: the caller falls back to the files, worth a note when an amux runs
    that does not answer)."""
    try:
        return ControlClient.connect(paths.rooms_dir)
    except NotRunning as exc:
        if needed_for is not None:
            hint = "" if exc.holder else "; start it with `amux`"
            raise CliError(f"{exc}: {needed_for} needs the running amux{hint}") from None
        if exc.holder is not None and reads_files:
            print(f"amux: {exc}; reading the files instead", file=sys.stderr)
        return None
    except ControlError as exc:
        raise CliError(f"amux refused the connection: {exc}") from None


def call(client: ControlClient, cmd: str, **fields: Any) -> dict[str, Any]:
    """One request; a refusal becomes a :class:`CliError` with the server's reason."""
    try:
        return client.request(cmd, **fields)
    except ControlError as exc:
        raise CliError(str(exc)) from None


# ---- send ----------------------------------------------------------------------------------------
def cmd_send(args: argparse.Namespace, paths: Paths) -> int:
    text = args.text
    if text is None and sys.stdin.isatty():
        raise CliError("nothing to send: give TEXT, or - to read the prompt from stdin")
    if text is None or text == "-":
        text = sys.stdin.read()
    if not text.strip():
        raise CliError("nothing to send (the prompt is empty)")
    client = connect(paths, needed_for="send")
    assert client is not None
    with client:
        answer = call(client, "send", room=args.room, text=text, wait=args.wait or None)
        what = answer.get("turnId") or answer.get("queueItemId")
        if answer.get("held"):
            print(
                "amux: queued behind prompts held since amux restarted; release them in amux "
                "(ctrl+r) for this one to run",
                file=sys.stderr,
            )
        if not args.wait:
            print(f"{answer.get('result')} {what}")
            return 0
        settled = next((e for e in client.events() if e.get("event") == "settled"), None)
    if settled is None:
        print("amux: the connection closed before the turn settled", file=sys.stderr)
        return EXIT_BY_OUTCOME[P.INTERRUPTED]
    outcome = settled.get("outcome")
    if args.json:
        print(json.dumps(settled))
    else:
        reply = visible(str(settled.get("reply") or ""))
        sys.stdout.write(reply if not reply or reply.endswith("\n") else reply + "\n")
        sys.stdout.flush()
    if outcome != P.END_TURN:
        detail = settled.get("reason") or _error_text(settled.get("error"))
        stop = settled.get("stopReason")
        why = f" ({one_line(str(detail), 200)})" if detail else f" ({stop})" if stop else ""
        turn = settled.get("turnId") or settled.get("queueItemId")
        print(f"amux: {turn} {outcome}{why}", file=sys.stderr)
    return EXIT_BY_OUTCOME.get(str(outcome), 1)


def _error_text(error: Any) -> str | None:
    if isinstance(error, dict):
        return str(error.get("message") or "") or None
    return None if error is None else str(error)


# ---- watch ---------------------------------------------------------------------------------------
def cmd_watch(args: argparse.Namespace, paths: Paths) -> int:
    from amux_tui.control_render import WatchRenderer

    client = connect(paths, needed_for="watch")
    assert client is not None
    reason = None
    with client:
        call(client, "watch", room=args.room, history=args.history)
        if args.jsonl:
            out = sys.stdout.buffer
            for line in client.raw_lines():
                out.write(line)
                out.flush()
                if line.startswith(b'{"event":"closed"'):
                    reason = json.loads(line).get("reason")
        else:
            renderer = WatchRenderer(sys.stdout)
            for event in client.events():
                renderer.event(event)
                if event.get("event") == "closed":
                    reason = event.get("reason")
    if reason in ("room closed", "amux quit"):
        return 0
    print(f"amux: watch ended: {reason or 'the connection closed'}", file=sys.stderr)
    return 1


# ---- rename, close, cancel ------------------------------------------------------------------------
def cmd_rename(args: argparse.Namespace, paths: Paths) -> int:
    client = connect(paths)
    if client is not None:
        with client:
            answer = call(client, "rename", room=args.room, title=args.title)
        print(f"{answer['roomId']} renamed to {one_line(answer['title'])}")
        return 0

    async def offline(engine: Any, room: Any) -> str:
        await room.load()
        room.rename(args.title)
        return room.title

    room_id, title = _offline(paths, args.room, offline)
    print(f"{room_id} renamed to {one_line(title)}")
    return 0


def cmd_close(args: argparse.Namespace, paths: Paths) -> int:
    client = connect(paths)
    if client is not None:
        with client:
            answer = call(client, "close", room=args.room)
        print(f"{answer['roomId']} closed; log archived to {answer.get('archive')}")
        return 0

    async def offline(engine: Any, room: Any) -> Any:
        return await engine.close_room(room.id)

    room_id, archived = _offline(paths, args.room, offline)
    print(f"{room_id} closed; log archived to {archived}")
    return 0


def cmd_cancel(args: argparse.Namespace, paths: Paths) -> int:
    client = connect(paths)
    if client is None:
        raise CliError("amux is not running, so no turn is running")
    with client:
        answer = call(client, "cancel", room=args.room)
    if not answer.get("cancelled"):
        print(f"amux: no turn is running in {args.room}", file=sys.stderr)
        return 1
    print(f"cancel sent to {answer['roomId']}")
    return 0


def _offline(paths: Paths, ref: str, action: Any) -> tuple[str, Any]:
    """Run ``action(engine, room)`` on the files, holding the rooms lock (amux not running)."""
    from amux_tui.engine.engine import Engine
    from amux_tui.engine.lock import StoreLockedError
    from amux_tui.engine.room import RoomError

    if not paths.rooms_dir.is_dir():
        raise CliError(f"no rooms yet (looked in {paths.rooms_dir})")
    engine = Engine(paths)
    try:
        engine.open()
    except StoreLockedError as exc:
        raise CliError(str(exc)) from None

    async def run() -> tuple[str, Any]:
        try:
            room = engine.find(ref)
            if room is None:
                raise CliError(f"no room matches {ref!r} (try `amux ls`)")
            try:
                return room.id, await action(engine, room)
            except RoomError as exc:
                raise CliError(str(exc)) from None
        finally:
            await engine.shutdown()

    return asyncio.run(run())


# ---- new, ls, show while amux runs --------------------------------------------------------------
def new_in_running(paths: Paths, fields: dict[str, Any]) -> str | None:
    """Create the room in the running amux (its id), or None when amux is not running."""
    client = connect(paths)
    if client is None:
        return None
    with client:
        return str(call(client, "new", **fields)["roomId"])


def new_offline(paths: Paths, spec: Any, cwd: str, title: str | None) -> str:
    """``new --background`` without a running amux: the room is created on disk only."""
    from amux_tui.engine.engine import Engine
    from amux_tui.engine.lock import StoreLockedError

    engine = Engine(paths)
    try:
        engine.open()
    except StoreLockedError as exc:
        raise CliError(str(exc)) from None

    async def run() -> str:
        try:
            return engine.create_room(spec, cwd=cwd, title=title).id
        finally:
            await engine.shutdown()

    return asyncio.run(run())


def live_rows(paths: Paths) -> list[dict[str, Any]] | None:
    client = connect(paths, reads_files=True)
    if client is None:
        return None
    with client:
        return call(client, "ls")["rooms"]


def live_snapshot(paths: Paths, ref: str) -> dict[str, Any] | None:
    client = connect(paths, reads_files=True)
    if client is None:
        return None
    with client:
        return call(client, "show", room=ref)["room"]
