"""The control socket: the running amux, driven from any shell (README "Scripting amux").

:class:`ControlServer` listens on ``<rooms_dir>/control.sock`` (see
:mod:`~amux_tui.engine.control_socket`) and serves the line-delimited JSON protocol of
:mod:`~amux_tui.engine.control_protocol` on the engine's event loop. It is headless: it
calls engine and room methods, exactly as the UI does, and tells nobody but the engine's
listeners (the app shows a room created here because the engine says one was added).

Robustness: each connection is its own task, so a client can only slow itself down.
Request lines are bounded (:data:`~amux_tui.engine.control_protocol.MAX_REQUEST_LINE`);
malformed or unknown requests get an error answer and the connection stays usable; an
oversized line gets an error and the connection is closed; at most
:data:`~amux_tui.engine.control_protocol.MAX_CLIENTS` connections at once. A streaming
request (``watch``, ``send`` with ``wait``) is the last one of its connection: while it
streams the server only reads to notice the client leaving (EOF ends the stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from amux_tui import __version__
from amux_tui.engine import control_protocol as P
from amux_tui.engine import control_socket as S
from amux_tui.engine.control_streams import TurnFollower, Watcher, history_start, stream_history
from amux_tui.engine.engine import Engine, EngineListener
from amux_tui.engine.lifecycle import Lifecycle
from amux_tui.engine.room import Room, RoomError
from amux_tui.engine.snapshot import live_ls_row, room_snapshot, unloaded_ls_row

logger = logging.getLogger("amux.control")

CLI_PEER = "cli"  # who prompts and cancels sent through the socket are attributed to


class _Connection:
    """One client connection."""

    def __init__(self, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.number = number
        self.reader = reader
        self.writer = writer
        self.idle = False  # waiting for the client's next request

    async def send(self, message: dict[str, Any]) -> None:
        self.writer.write(P.encode_line(message))
        await self.writer.drain()

    async def until_gone_or(self, awaitable: Awaitable[Any]) -> bool:
        """Wait for ``awaitable`` while discarding input; False if the client left first."""
        waiter = asyncio.ensure_future(awaitable)
        reader = asyncio.ensure_future(self._drain_input())
        try:
            await asyncio.wait({waiter, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            reader.cancel()
            # Wait for it to let go of the stream: only one reader at a time.
            await asyncio.gather(reader, return_exceptions=True)
        if not waiter.done():
            waiter.cancel()
            await asyncio.gather(waiter, return_exceptions=True)
            return False
        return True

    async def _drain_input(self) -> None:
        with contextlib.suppress(ConnectionError, ValueError):
            while await self.reader.read(1 << 16):
                pass


class ControlServer(EngineListener):
    """Serves the control protocol for ``engine`` on its rooms directory's socket.

    Args:
        engine: the opened engine (its rooms lock held: that is what makes replacing a
            stale socket file safe).
        watch_buffer: unsent bytes a watcher may fall behind before it is dropped.
        max_clients: connections served at once.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        watch_buffer: int = P.WATCH_BUFFER_LIMIT,
        max_clients: int = P.MAX_CLIENTS,
    ) -> None:
        self.engine = engine
        self.path: Path = S.socket_path(engine.paths.rooms_dir)
        self.watch_buffer = watch_buffer
        self.max_clients = max_clients
        self._server: asyncio.AbstractServer | None = None
        self._inode = 0
        self._tasks: dict[asyncio.Task[Any], _Connection | None] = {}
        self._watchers: set[Watcher] = set()
        self._followers: set[TurnFollower] = set()
        self._numbers = itertools.count(1)
        self._stopping = False

    @property
    def serving(self) -> bool:
        return self._server is not None

    # ---- lifetime ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Listen (replacing a stale socket file a crashed amux left). Raises ``OSError``."""
        stale = os.path.lexists(self.path)
        sock, self._inode = S.bind(self.path)
        if stale:
            logger.warning("replaced a stale control socket at %s", self.path)
        self._server = await asyncio.start_unix_server(
            self._serve, sock=sock, limit=P.MAX_REQUEST_LINE
        )
        self.engine.add_listener(self)
        logger.info("control socket listening at %s", self.path)

    async def stop(self) -> None:
        """Stop listening, end every stream (``closed``/``settled`` with reason "amux quit"),
        close every connection and remove the socket file."""
        if self._server is None or self._stopping:
            return
        self._stopping = True
        self.engine.remove_listener(self)
        self._server.close()
        for watcher in list(self._watchers):
            watcher.end("amux quit")
            watcher.detach()
        for follower in list(self._followers):
            follower.finish(P.INTERRUPTED, reason="amux quit")
        for task, conn in list(self._tasks.items()):
            if conn is not None and conn.idle:
                task.cancel()  # nothing to finish: between requests
        tasks = list(self._tasks)
        if tasks:  # let them write their last event, briefly
            _, pending = await asyncio.wait(tasks, timeout=1.0)
            for task in pending:
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*pending, return_exceptions=True)
        S.unlink_if_ours(self.path, self._inode)
        self._server = None

    # ---- EngineListener: rooms closed by anyone end their streams ----------------------------------
    def room_closing(self, room: Room) -> None:
        for watcher in [w for w in self._watchers if w.room is room]:
            watcher.end("room closed")
            watcher.detach()  # now, while the room can still record the peer leaving

    def room_closed(self, room_id: str) -> None:
        for follower in [f for f in self._followers if f.room.id == room_id]:
            follower.finish(P.INTERRUPTED, reason="the room was closed")
            follower.room.unsubscribe(follower, peer_id=None)

    # ---- connections ----------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks[task] = None
        try:
            await self._serve_connection(task, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away mid-answer
        except Exception:
            logger.exception("control connection failed")
        finally:
            try:
                await _let_go(reader, writer)
            finally:
                self._tasks.pop(task, None)

    async def _serve_connection(
        self, task: asyncio.Task[Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        creds = S.peer_credentials(writer.get_extra_info("socket"))
        if not S.peer_allowed(creds):
            logger.warning("control socket: refused a connection from uid %s", creds and creds.uid)
            writer.write(P.encode_line(P.failure(P.FORBIDDEN, "only amux's own user may connect")))
            return
        conn = self._tasks[task] = _Connection(next(self._numbers), reader, writer)
        if len(self._tasks) > self.max_clients or self._stopping:
            why = "amux is quitting" if self._stopping else f"more than {self.max_clients} clients"
            await conn.send(P.failure(P.TOO_MANY_CLIENTS, why))
            return
        await conn.send(
            {
                "event": "hello",
                "amux": __version__,
                "protocol": P.PROTOCOL_VERSION,
                "pid": os.getpid(),
            }
        )
        while not self._stopping:
            conn.idle = True
            try:
                line = await reader.readline()
            except ValueError:  # longer than the limit: no way to find the next request
                await conn.send(
                    P.failure(P.LINE_TOO_LONG, f"request longer than {P.MAX_REQUEST_LINE} bytes")
                )
                return
            finally:
                conn.idle = False
            if not line:
                return  # EOF
            if not line.strip():
                continue
            if not await self._handle(conn, line):
                return

    async def _handle(self, conn: _Connection, line: bytes) -> bool:
        """Serve one request line; False when the connection is done (a stream ended)."""
        request_id: P.RequestId = None
        try:
            request = P.parse_request(line)
            request_id = request.id
            if isinstance(request, P.Watch):
                await self._watch(conn, request)
                return False
            if isinstance(request, P.Send) and request.wait:
                await self._send_and_wait(conn, request)
                return False
            answer = await self._answer(request)
        except P.ProtocolError as exc:
            answer = P.failure(exc.code, str(exc), exc.request_id or request_id)
        except RoomError as exc:
            answer = P.failure(P.REFUSED, str(exc), request_id)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as exc:
            logger.exception("control request failed: %r", line[:200])
            answer = P.failure(P.INTERNAL, f"internal error: {exc}", request_id)
        await conn.send(answer)
        return True

    # ---- commands -----------------------------------------------------------------------------
    async def _answer(self, request: P.Request) -> dict[str, Any]:
        rid = request.id
        if isinstance(request, P.Ping):
            return P.ok(rid)
        if isinstance(request, P.Ls):
            rows = []
            for room in list(self.engine.rooms.values()):
                # A room not hydrated yet is listed from its log summary when that
                # describes its log; otherwise (or once loaded) from its model.
                row = None if room.loaded else unloaded_ls_row(room)
                if row is None:
                    await room.load()
                    row = live_ls_row(room)
                rows.append(row)
            return P.ok(rid, rooms=rows)
        if isinstance(request, P.New):
            return self._new(request)
        room = await self._room(request.room, rid)  # type: ignore[union-attr]
        if isinstance(request, P.Show):
            return P.ok(rid, room={**room_snapshot(room), **_flags(room)})
        if isinstance(request, P.Send):
            return self._send(room, request)[0]
        if isinstance(request, P.Rename):
            room.rename(request.title)
            return P.ok(rid, roomId=room.id, title=room.title)
        if isinstance(request, P.Cancel):
            return P.ok(rid, roomId=room.id, cancelled=room.cancel(by=CLI_PEER))
        if isinstance(request, P.Close):
            archived = await self.engine.close_room(room.id)
            return P.ok(rid, roomId=room.id, archive=str(archived) if archived else None)
        raise P.ProtocolError(P.UNKNOWN_COMMAND, "not served here", rid)  # pragma: no cover

    async def _room(self, ref: str, request_id: P.RequestId) -> Room:
        room = self.engine.find(ref)
        if room is None:
            several = [
                r.id for r in self.engine.rooms.values()
                if r.id.startswith(ref) or r.title.startswith(ref)
            ]  # fmt: skip
            why = (
                f"several rooms match {ref!r} ({', '.join(several)}): give the id"
                if len(several) > 1
                else f"no room matches {ref!r} (try `amux ls`)"
            )
            raise P.ProtocolError(P.NO_ROOM, why, request_id)
        await room.load()
        if room.id not in self.engine.rooms:
            raise P.ProtocolError(P.NO_ROOM, f"room {ref!r} was closed", request_id)
        return room

    def _new(self, request: P.New) -> dict[str, Any]:
        rid = request.id
        if request.agent is not None and request.command is not None:
            raise P.ProtocolError(P.BAD_REQUEST, "new: give agent or command, not both", rid)
        try:
            spec = self.engine.config.resolve(request.agent, request.command)
        except ValueError as exc:
            raise RoomError(str(exc)) from None
        cwd = request.cwd or os.getcwd()
        if not os.path.isabs(cwd) or not os.path.isdir(cwd):
            raise RoomError(f"cwd: not an absolute path to a directory: {cwd}")
        room = self.engine.create_room(
            spec, cwd=cwd, title=request.title, focus=not request.background
        )
        return P.ok(rid, roomId=room.id, title=room.title)

    def _send(self, room: Room, request: P.Send) -> tuple[dict[str, Any], TurnFollower]:
        """Prompt ``room``; the follower that saw which turn or queue item it became is
        returned still attached (detach it, or await its result)."""
        if room.status is Lifecycle.FAILED:
            raise RoomError(f"the agent failed to start ({room.failure}); restart it in amux")
        follower = TurnFollower(room)
        room.subscribe(follower, peer_id=None)
        try:
            result = room.prompt(request.text, peer_id=CLI_PEER)
        except BaseException:
            room.unsubscribe(follower, peer_id=None)
            raise
        follower.capturing = False
        fields: dict[str, Any] = {"roomId": room.id, "result": result}
        if follower.turn_id is not None:
            fields["turnId"] = follower.turn_id
        if follower.queue_item_id is not None:
            fields["queueItemId"] = follower.queue_item_id
        if room.queue_held:
            fields["held"] = True  # behind prompts held since a restart: released in amux
        if not request.wait:
            room.unsubscribe(follower, peer_id=None)
        return P.ok(request.id, **fields), follower

    async def _send_and_wait(self, conn: _Connection, request: P.Send) -> None:
        room = await self._room(request.room, request.id)
        answer, follower = self._send(room, request)
        self._followers.add(follower)
        try:
            await conn.send(answer)
            if await conn.until_gone_or(asyncio.shield(follower.result)):
                await conn.send(follower.result.result())
        finally:
            self._followers.discard(follower)
            room.unsubscribe(follower, peer_id=None)

    async def _watch(self, conn: _Connection, request: P.Watch) -> None:
        room = await self._room(request.room, request.id)
        # From here to attaching the watcher, nothing may await: the file's size, the
        # snapshot and the start of the live frames describe the same instant.
        log = room.log
        log.flush()  # every record up to the snapshot is in the file from here on
        end = os.path.getsize(log.path)
        last_seq = room.state.last_seq
        since, last_n = None, None
        if request.history == "turn":
            since = room.state.last_turn_seq or None
        elif isinstance(request.history, int):
            last_n = request.history
        snapshot = {
            "event": "snapshot",
            "lastSeq": last_seq,
            "room": {**room_snapshot(room), **_flags(room)},
            "historyComplete": log.pending_bytes == 0,
        }
        watcher = Watcher(room, conn.writer, f"ctl-{conn.number}", self.watch_buffer)
        watcher.attach()
        self._watchers.add(watcher)
        try:
            await conn.send(P.ok(request.id, roomId=room.id))
            await conn.send(snapshot)
            start = await asyncio.to_thread(
                history_start, log.path, end, last_seq, since_seq=since, last_n=last_n
            )
            await stream_history(watcher, log.path, start, end, last_seq)
            watcher.go_live()
            await conn.until_gone_or(watcher.ended.wait())
        finally:
            self._watchers.discard(watcher)
            watcher.detach()


async def _let_go(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Close a connection so the client reads all it was sent, last error included.

    Closing a socket with unread input resets the connection, and a reset can destroy
    what the client has not read yet: so say EOF first, discard what the client still
    sends until it closes its end (bounded), then close.
    """
    try:
        if not writer.is_closing():
            if writer.can_write_eof():
                writer.write_eof()
            async with asyncio.timeout(P.DROP_GRACE):
                while await reader.read(1 << 16):
                    pass
    except (TimeoutError, ConnectionError, OSError, ValueError):
        pass
    except asyncio.CancelledError:
        writer.transport.abort()
        raise
    writer.close()  # what is still buffered goes out if the client reads it soon
    try:
        await asyncio.wait_for(writer.wait_closed(), P.DROP_GRACE)
    except TimeoutError:
        writer.transport.abort()
    except asyncio.CancelledError:
        writer.transport.abort()
        raise
    except (ConnectionError, OSError):
        pass


def _flags(room: Room) -> dict[str, Any]:
    """What the room list shows besides the lifecycle state (the ``ls`` row's fields)."""
    row = live_ls_row(room)
    return {k: row[k] for k in ("compacting", "needsYou", "queued", "lastActivity")}
