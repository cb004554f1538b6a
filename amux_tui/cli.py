"""The ``amux`` command line (SPEC §2).

Errors are one line on stderr and a non-zero exit, never a traceback for bad input.
Read-only commands (``ls``, ``show``, ``export``, ``check``) never take the rooms lock,
never start an agent and never write. While amux runs, ``ls``, ``show`` and ``new`` ask it
through its control socket, and ``send``, ``watch``, ``rename``, ``close`` and ``cancel``
drive it (:mod:`amux_tui.cli_control`). Every command first verifies the home (see
:mod:`amux_tui.private`): a rooms directory another user owns or may write is refused.

Agent-supplied text is made harmless before it reaches a terminal (:mod:`amux_tui.text`):
``ls``/``show`` always, ``export`` on stdout unless ``--raw``; ``export -o FILE`` writes
the transcript as it is, to a new 0600 file.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amux_tui import __version__
from amux_tui.paths import Paths
from amux_tui.private import UnsafePath, open_private
from amux_tui.text import json_escaped, one_line, visible

if TYPE_CHECKING:
    import argparse


class CliError(Exception):
    """A user-facing error: printed as ``amux: <message>``."""


def build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="amux",
        description="A terminal multiplexer for AI coding agents that speak ACP. "
        "With no command, opens the TUI and restores every room.",
    )
    parser.add_argument("--version", action="version", version=f"amux {__version__}")
    parser.add_argument(
        "--home",
        metavar="DIR",
        help="keep config, rooms and logs under DIR (default: $AMUX_HOME or the platform directories)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    new = sub.add_parser(
        "new",
        help="create a room and open the TUI focused on it (or add it to the running amux)",
    )
    who = new.add_mutually_exclusive_group()
    who.add_argument(
        "--agent",
        metavar="NAME",
        help="a configured or well-known agent (default: default_agent or demo)",
    )
    who.add_argument("--cmd", metavar='"CMD ARGS"', help="run this ACP agent command line")
    new.add_argument(
        "--cwd", metavar="DIR", help="working directory of the agent (default: current)"
    )
    new.add_argument("--title", metavar="T", help="room title")
    new.add_argument(
        "--background",
        action="store_true",
        help="do not focus the room (amux not running: create it without opening the TUI)",
    )

    ls = sub.add_parser("ls", help="list rooms (their live state while amux runs)")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.add_argument("--archived", action="store_true", help="list closed (archived) rooms")

    grep = sub.add_parser("grep", help="search transcripts in the logs (works while amux runs)")
    grep.add_argument("pattern", metavar="PATTERN", help="text to find (case-smart)")
    grep.add_argument("rooms", metavar="ROOM", nargs="*", help="only these rooms")
    grep.add_argument("--regex", action="store_true", help="PATTERN is a regular expression")
    grep.add_argument("--archived", action="store_true", help="search closed rooms too")
    grep.add_argument("--json", action="store_true", help="one JSON object per hit")

    show = sub.add_parser(
        "show", help="a room's state: live while amux runs, else rehydrated from its log"
    )
    show.add_argument("room", metavar="ROOM", help="room id, title, or a unique prefix")
    show.add_argument("--json", action="store_true", help="machine-readable output")

    export = sub.add_parser("export", help="export a transcript")
    export.add_argument("room", metavar="ROOM")
    export.add_argument("--format", choices=("markdown", "jsonl"), default="markdown")
    export.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE (created 0600) instead of stdout"
    )
    export.add_argument(
        "--raw",
        action="store_true",
        help="write agent text to stdout as recorded, escape sequences included",
    )

    sub.add_parser("agents", help="configured and auto-detected agents")

    check = sub.add_parser("check", help="verify every room log")
    check.add_argument("--repair", action="store_true", help="truncate a torn last line")
    _add_control_commands(sub)
    return parser


def parse_history(value: str) -> str | int:
    """``watch --history``: ``turn``, ``all`` or a number of records."""
    import argparse

    if value in ("turn", "all"):
        return value
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("turn, all, or a number of frames") from None
    if n < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return n


def _add_control_commands(sub: Any) -> None:
    """The commands that drive the running amux (README "Scripting amux")."""
    send = sub.add_parser(
        "send",
        help="send a prompt to a room of the running amux (queued while it is busy)",
        description="Exit status with --wait: 0 end_turn, 3 cancelled, 4 refused, "
        "5 stopped at a limit, 6 error, 7 interrupted; 2 amux could not send it.",
    )
    send.add_argument("room", metavar="ROOM", help="room id, title, or a unique prefix")
    send.add_argument("text", metavar="TEXT", nargs="?", help="the prompt; - (or none): stdin")
    send.add_argument(
        "--wait", action="store_true", help="wait for the turn to end and print the reply"
    )
    send.add_argument("--json", action="store_true", help="with --wait: the result as JSON")

    watch = sub.add_parser("watch", help="follow a room of the running amux as it happens")
    watch.add_argument("room", metavar="ROOM")
    watch.add_argument("--jsonl", action="store_true", help="the raw events, one JSON per line")
    watch.add_argument(
        "--history",
        type=parse_history,
        default="turn",
        metavar="turn|all|N",
        help="recorded frames first: the latest turn (default), all, or the last N",
    )

    rename = sub.add_parser("rename", help="rename a room")
    rename.add_argument("room", metavar="ROOM")
    rename.add_argument("title", metavar="TITLE")

    close = sub.add_parser("close", help="stop a room's agent and archive its log")
    close.add_argument("room", metavar="ROOM")

    cancel = sub.add_parser("cancel", help="cancel the running turn of a room")
    cancel.add_argument("room", metavar="ROOM")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Plain `amux`, the usual start, opens the TUI without building the parser (argparse
    # and a parser with every command are a few milliseconds of the start).
    args = build_parser().parse_args(argv) if argv else None
    paths = Paths.resolve(args.home if args is not None else None)
    try:
        if args is None:
            return _run_tui(paths, create=None)
        handler = _COMMANDS.get(args.command or "tui")
        assert handler is not None
        return handler(args, paths)
    except CliError as exc:
        print(f"amux: {exc}", file=sys.stderr)
        return 2
    except UnsafePath as exc:
        print(f"amux: refusing to use {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def _rooms_dir(paths: Paths) -> Path:
    """The rooms directory, verified when it exists (raises :class:`UnsafePath` for a
    home or rooms directory amux must not trust)."""
    paths.check_rooms_dir()
    return paths.rooms_dir


def _resolve(paths: Paths, ref: str) -> str:
    from amux_tui.engine.snapshot import find_room_id

    rooms_dir = _rooms_dir(paths)
    if not rooms_dir.is_dir():
        raise CliError(f"no rooms yet (looked in {one_line(str(rooms_dir))})")
    room_id = find_room_id(rooms_dir, ref)
    if room_id is None:
        raise CliError(f"no room matches {one_line(ref, 80)!r} (try `amux ls`)")
    return room_id


def _ls_row(rooms_dir: Path, room_id: str) -> dict[str, Any]:
    """One room's ``ls`` row (from its log summary when that describes the log, else read
    from the log); a log amux cannot or must not read gives a row saying why."""
    from amux_tui.engine.snapshot import agent_label, read_meta, stored_ls_row

    try:
        return stored_ls_row(rooms_dir, room_id)
    except OSError as exc:
        meta, _problem = read_meta(rooms_dir, room_id)
        return {"roomId": room_id, "title": meta.title, "agent": agent_label(meta),
                "cwd": meta.cwd or None, "state": "error", "error": str(exc)}  # fmt: skip


def _maybe_running(paths: Paths) -> bool:
    """Whether an amux may run on the home (its control socket or the pid in its lock
    file): only then is the control client imported and a connection tried."""
    from amux_tui.engine.control_socket import socket_path
    from amux_tui.engine.lock import recorded_holder

    rooms_dir = paths.rooms_dir
    return os.path.lexists(socket_path(rooms_dir)) or recorded_holder(rooms_dir) is not None


def cmd_ls(args: argparse.Namespace, paths: Paths) -> int:
    from amux_tui.engine.rooms_dir import discover_room_ids
    from amux_tui.engine.snapshot import state_label

    rooms_dir = _rooms_dir(paths)
    if args.archived:
        return _ls_archived(rooms_dir, args.json)
    rows = None
    if _maybe_running(paths):
        from amux_tui.cli_control import live_rows

        rows = live_rows(paths)
    if rows is None:
        ids = discover_room_ids(rooms_dir) if rooms_dir.is_dir() else []
        order = _layout_order(rooms_dir, ids)
        rows = [_ls_row(rooms_dir, rid) for rid in order]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no rooms in {one_line(str(rooms_dir))}")
        return 0
    headers = ["ID", "TITLE", "AGENT", "STATE", "FRAMES", "SEGS", "COMPACT", "LAST ACTIVITY", "CWD"]
    table = [
        [
            r["roomId"],
            one_line(r["title"], 60),
            one_line(r["agent"], 30),
            state_label(r),
            str(r.get("frames", "-")),
            str(r.get("segments", "-")),
            f"{r.get('compactions', '-')}{' (active)' if r.get('compacting') else ''}",
            (r.get("lastActivity") or "-")[:19],
            one_line(r["cwd"] or "-"),
        ]
        for r in rows
    ]
    _print_table(headers, table)
    for r in rows:
        if "error" in r:
            print(f"amux: {r['roomId']}: {one_line(r['error'])}", file=sys.stderr)
    return 1 if any("error" in r for r in rows) else 0


def _ls_archived(rooms_dir: Path, as_json: bool) -> int:
    from amux_tui.engine.archive import list_archived
    from amux_tui.engine.snapshot import agent_label

    rows = [
        {
            "roomId": a.room_id,
            "title": a.title,
            "agent": agent_label(a.meta),
            "archivedAt": a.archived_at,
            "lastActivity": a.meta.last_active,
            "cwd": a.meta.cwd,
            "path": str(a.path),
        }
        for a in list_archived(rooms_dir)
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no archived rooms in {rooms_dir}")
        return 0
    headers = ["ID", "TITLE", "AGENT", "CLOSED", "LAST ACTIVITY", "CWD"]
    table = [
        [r["roomId"], one_line(r["title"]), one_line(r["agent"]), r["archivedAt"],
         (r["lastActivity"] or "-")[:19], one_line(r["cwd"] or "-")]
        for r in rows
    ]  # fmt: skip
    _print_table(headers, table)
    return 0


def _print_table(headers: list[str], table: list[list[str]]) -> None:
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]
    for row in [headers, *table]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def cmd_grep(args: argparse.Namespace, paths: Paths) -> int:
    from amux_tui.engine.search import QueryError, compile_query, grep_log
    from amux_tui.engine.timeutil import format_local

    try:
        pattern = compile_query(args.pattern, regex=args.regex)
    except QueryError as exc:
        raise CliError(str(exc)) from None
    rooms = _grep_targets(paths, args.rooms, args.archived)
    tty = sys.stdout.isatty()
    found = 0
    for room_id, title, path, archived in rooms:
        try:
            hits = list(grep_log(path, room_id, pattern))  # the log is read here
        except OSError as exc:  # a log amux refuses to read (a FIFO, a symlink…)
            print(f"amux: {room_id}: cannot read its log: {one_line(str(exc))}", file=sys.stderr)
            continue
        for hit in hits:
            found += 1
            if args.json:
                print(json.dumps({
                    "roomId": room_id, "title": title, "archived": archived, "seq": hit.seq,
                    "recordedAt": hit.recorded_at, "kind": hit.kind, "line": hit.line,
                    "start": hit.start, "end": hit.end,
                }))  # fmt: skip
                continue
            when = format_local(hit.recorded_at) or "-"
            where = f"{title}{' (archived)' if archived else ''} #{hit.seq}"
            if tty:  # the line is agent text: never raw to a terminal
                line = hit.line
                before, match, after = (
                    one_line(line[: hit.start]), one_line(line[hit.start : hit.end]),
                    one_line(line[hit.end :]),
                )  # fmt: skip
                print(f"\x1b[35m{one_line(where)}\x1b[0m {when}: "
                      f"{before}\x1b[1;31m{match}\x1b[0m{after}")  # fmt: skip
            else:
                print(f"{where} {when}: {hit.line}")
    return 0 if found else 1


def _grep_targets(
    paths: Paths, refs: list[str], archived: bool
) -> list[tuple[str, str, Path, bool]]:
    """(room id, title, log path, archived?) of the rooms to search, in display order."""
    from amux_tui.engine.archive import list_archived
    from amux_tui.engine.meta import RoomMeta
    from amux_tui.engine.rooms_dir import discover_room_ids

    rooms_dir = _rooms_dir(paths)
    if refs:
        ids = list(dict.fromkeys(_resolve(paths, ref) for ref in refs))
    else:
        ids = _layout_order(rooms_dir, discover_room_ids(rooms_dir)) if rooms_dir.is_dir() else []
    out = [
        (rid, RoomMeta.read(rooms_dir / f"{rid}.json", rid).title, rooms_dir / f"{rid}.jsonl",
         False)
        for rid in ids
    ]  # fmt: skip
    if archived and not refs:
        out += [(a.room_id, a.title, a.log_path, True) for a in list_archived(rooms_dir)]
    return out


def _layout_order(rooms_dir: Path, ids: list[str]) -> list[str]:
    from amux_tui.engine.meta import Layout

    layout = Layout.read(rooms_dir / "layout.json")
    return [r for r in layout.order if r in ids] + [r for r in ids if r not in layout.order]


def _read_room(rooms_dir: Path, room_id: str) -> Any:
    from amux_tui.engine.snapshot import read_room

    try:
        return read_room(rooms_dir, room_id)
    except OSError as exc:
        raise CliError(f"{room_id}: cannot read its log: {exc}") from None


def cmd_show(args: argparse.Namespace, paths: Paths) -> int:
    from amux_tui.engine.snapshot import stored_show

    snap = None
    if _maybe_running(paths):
        from amux_tui.cli_control import live_snapshot

        snap = live_snapshot(paths, args.room)
    if snap is None:
        room_id = _resolve(paths, args.room)
        try:
            snap = stored_show(_rooms_dir(paths), room_id)
        except OSError as exc:
            raise CliError(f"{room_id}: cannot read its log: {exc}") from None
    if args.json:
        print(json.dumps(snap, indent=2))  # ASCII only: every control character escaped
        return 0
    for key, value in snap.items():
        if isinstance(value, (list, dict)):
            value = json.dumps(value)
        print(f"{key:16} {one_line(str(value))}")
    return 0


def cmd_export(args: argparse.Namespace, paths: Paths) -> int:
    from amux_tui.engine.export import export_markdown
    from amux_tui.engine.snapshot import agent_label

    room_id = _resolve(paths, args.room)
    rooms_dir = _rooms_dir(paths)
    if args.format == "jsonl":
        try:
            fd = open_private(rooms_dir / f"{room_id}.jsonl")
        except FileNotFoundError:
            data = b""
        except OSError as exc:
            raise CliError(f"{room_id}: cannot read its log: {exc}") from None
        else:
            with os.fdopen(fd, "rb") as f:
                data = f.read()
        if not args.output and not args.raw:
            data = json_escaped(data.decode("utf-8", "replace")).encode("utf-8")
    else:
        meta, hydrated = _read_room(rooms_dir, room_id)
        text = export_markdown(
            hydrated.model.transcript,
            title=hydrated.model.title or meta.title,
            room_id=room_id,
            agent=agent_label(meta),
            cwd=meta.cwd or None,
        )
        if not args.output and not args.raw:
            text = visible(text)
        data = text.encode("utf-8")
    if args.output:
        try:
            _write_private(Path(args.output), data)
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def _write_private(path: Path, data: bytes) -> None:
    """Write an export: a transcript holds secrets, so a file amux creates is 0600
    whatever the umask, and a regular file it overwrites becomes 0600 too."""
    import stat

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as f:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, 0o600)
        f.write(data)


def cmd_agents(args: argparse.Namespace, paths: Paths) -> int:
    from amux_tui.engine.config import load_config

    config = load_config(paths.config_file)
    for problem in config.problems:
        print(f"amux: config: {problem}", file=sys.stderr)
    print(f"config: {paths.config_file}{'' if paths.config_file.exists() else ' (not present)'}")
    print(f"default agent: {config.default_agent}")
    for spec in config.available():
        mark = "found" if spec.found() else "NOT FOUND"
        default = " (default)" if spec.name == config.default_agent else ""
        print(f"  {spec.name:12} {spec.source:9} {mark:10} {' '.join(spec.argv)}{default}")
    return 1 if config.problems else 0


def cmd_check(args: argparse.Namespace, paths: Paths) -> int:
    from amux_tui.engine.loader import check_log
    from amux_tui.engine.lock import StoreLockedError
    from amux_tui.engine.store import list_room_logs

    rooms_dir = _rooms_dir(paths)
    ids = list_room_logs(rooms_dir) if rooms_dir.is_dir() else []
    bad = 0
    for room_id in ids:
        try:
            report = check_log(rooms_dir / f"{room_id}.jsonl", repair=args.repair)
        except StoreLockedError as exc:
            raise CliError(f"{exc}; quit it before --repair") from None
        except OSError as exc:
            print(f"{room_id}: cannot check: {exc}")
            bad += 1
            continue
        problems, notes = [], []
        if report.bad_lines:
            lines = ", ".join(map(str, report.bad_line_numbers[:10]))
            problems.append(f"{report.bad_lines} bad line(s) (lines {lines})")
        if report.newer_version_lines:  # left alone, not a fault of this log
            notes.append(f"{report.newer_version_lines} line(s) from a newer amux, left alone")
        if report.torn_tail:
            problems.append(
                "torn last line" + (" (repaired)" if report.repaired else " (run --repair)")
            )
        if report.seq_gaps or report.seq_disorder:
            problems.append(f"seq gaps {report.seq_gaps}, out of order {report.seq_disorder}")
        status = "; ".join(problems) if problems else "ok"
        if notes:
            status += f" ({'; '.join(notes)})"
        if problems and not (report.repaired and report.ok):
            bad += 1
        print(f"{room_id}: {report.records} records, {status}")
    if not ids:
        print(f"no room logs in {one_line(str(paths.rooms_dir))}")
    return 1 if bad else 0


def cmd_tui(args: argparse.Namespace, paths: Paths) -> int:
    return _run_tui(paths, create=None)


def cmd_new(args: argparse.Namespace, paths: Paths) -> int:
    from amux_tui.cli_control import new_in_running, new_offline
    from amux_tui.engine.config import load_config

    cwd = Path(args.cwd).expanduser() if args.cwd else Path.cwd()
    if not cwd.is_dir():
        raise CliError(f"--cwd: not a directory: {cwd}")
    fields = {"agent": args.agent, "command": args.cmd, "cwd": str(cwd.absolute()),
              "title": args.title, "background": args.background or None}  # fmt: skip
    room_id = new_in_running(paths, fields)
    if room_id is not None:
        print(room_id)
        return 0
    try:
        spec = load_config(paths.config_file).resolve(args.agent, args.cmd)
    except ValueError as exc:
        raise CliError(f"--cmd: {exc}" if args.cmd is not None else str(exc)) from None
    if args.background:
        print(new_offline(paths, spec, str(cwd.absolute()), args.title))
        return 0
    return _run_tui(paths, create={"spec": spec, "cwd": str(cwd.absolute()), "title": args.title})


def _setup_app_log(paths: Paths) -> None:
    """The app log (SPEC §2): engine warnings and errors, never the terminal (Textual owns it)."""
    import logging
    from logging.handlers import RotatingFileHandler

    from amux_tui.private import ensure_private_dir

    class PrivateLogHandler(RotatingFileHandler):
        """Opens ``amux.log`` (and each rotation's new file) as a private file: never
        through a symlink, only a regular file of yours, 0600 (:func:`open_private`)."""

        def _open(self) -> Any:
            fd = open_private(Path(self.baseFilename), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            os.fchmod(fd, 0o600)
            return open(fd, "a", encoding=self.encoding, errors=self.errors)  # noqa: SIM115

        def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802
            # Best effort: a full disk must not spray tracebacks over the TUI's terminal.
            self.failed_records = getattr(self, "failed_records", 0) + 1

    try:
        ensure_private_dir(paths.log_file.parent)
        handler = PrivateLogHandler(
            paths.log_file, maxBytes=5 << 20, backupCount=3, encoding="utf-8"
        )
    except UnsafePath as exc:
        if exc.path != paths.log_file:
            raise  # the home itself is refused: one message, from main()
        print(f"amux: not writing the app log: {exc}", file=sys.stderr)
        return
    except OSError as exc:
        print(
            f"amux: cannot write the app log {paths.log_file}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("amux")
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _run_tui(paths: Paths, create: dict[str, Any] | None) -> int:
    from amux_tui.gc_pause import end_startup_pause, start_startup_pause

    start_startup_pause()  # until the first screen is painted (the app ends it then)
    try:
        return _run_app(paths, create)
    finally:
        end_startup_pause()


def _run_app(paths: Paths, create: dict[str, Any] | None) -> int:
    import logging

    from amux_tui.engine.engine import EXIT_UNWRITTEN, Engine
    from amux_tui.engine.lock import StoreLockedError

    _setup_app_log(paths)  # first: what opening the rooms finds goes there, not on the screen
    engine = Engine(paths)
    try:
        engine.open()
    except StoreLockedError as exc:
        raise CliError(str(exc)) from None
    except UnsafePath:
        raise
    except OSError as exc:
        raise CliError(f"cannot open {paths.rooms_dir}: {exc.strerror or exc}") from None
    from amux_tui.ui.app import AmuxApp

    logging.getLogger("amux").info(
        "amux %s started on %s (pid %d)", __version__, paths.rooms_dir, os.getpid()
    )
    app = AmuxApp(engine, create=create)
    app.run()
    code = app.return_code or 0
    for note in engine.quit_notes:  # what the quit dialog did with unwritten frames
        print(f"amux: {note}", file=sys.stderr)
    left = engine.unwritten()
    if left:  # the UI went away without resolving them (e.g. the terminal vanished)
        for item in left:
            print(f"amux: NOT SAVED: {one_line(item.describe())}", file=sys.stderr)
        code = EXIT_UNWRITTEN
    logging.getLogger("amux").info("amux stopped (exit %s)", code)
    return code


_COMMANDS = {
    "tui": cmd_tui,
    "new": cmd_new,
    "ls": cmd_ls,
    "show": cmd_show,
    "export": cmd_export,
    "agents": cmd_agents,
    "check": cmd_check,
    "grep": cmd_grep,
    "send": lambda args, paths: _control("cmd_send", args, paths),
    "watch": lambda args, paths: _control("cmd_watch", args, paths),
    "rename": lambda args, paths: _control("cmd_rename", args, paths),
    "close": lambda args, paths: _control("cmd_close", args, paths),
    "cancel": lambda args, paths: _control("cmd_cancel", args, paths),
}


def _control(name: str, args: argparse.Namespace, paths: Paths) -> int:
    from amux_tui import cli_control

    return getattr(cli_control, name)(args, paths)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
