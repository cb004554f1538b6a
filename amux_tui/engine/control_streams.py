"""What the control socket streams: a room to a watcher, and a prompt to the turn it becomes.

:class:`Watcher` is a room subscriber writing each recorded frame to its client, never
blocking the room: frames go to the connection's transport buffer, and a client that
falls :data:`~amux_tui.engine.control_protocol.WATCH_BUFFER_LIMIT` bytes behind is
dropped (it gets a last ``closed`` event with reason ``too_slow`` once it catches up,
and is cut off :data:`~amux_tui.engine.control_protocol.DROP_GRACE` seconds later).

A late joiner first gets recorded frames from the log (:func:`history_start`,
:func:`stream_history`): the log is flushed and its size noted at the same tick as the
snapshot, so the records up to the snapshot's seq are on disk, and live frames (seq above
it) are held back until the history has been sent: no gap, no duplicate.

:class:`TurnFollower` follows one prompt sent through the socket to its settlement: the
turn it started, or, when it was queued, the turn its queue item became
(``amux/queue_item_submitted``), collecting the agent's reply on the way.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import msgspec

from amux_tui.engine import control_protocol as P
from amux_tui.engine import frames as F
from amux_tui.engine.model import text_chunk_of
from amux_tui.engine.room import Room, RoomSubscriber
from amux_tui.engine.store import Record

logger = logging.getLogger("amux.control")

_BLOCK = 1 << 20  # bytes of log read at a time for history


# ---- live frames -------------------------------------------------------------------------
class Watcher(RoomSubscriber):
    """A control client following a room (``amux watch``).

    Args:
        room: the room followed.
        writer: the client's connection.
        peer_id: how the watcher is announced in the room (``amux/peer_joined``).
        limit: unsent bytes allowed before the watcher is dropped.
    """

    def __init__(
        self,
        room: Room,
        writer: asyncio.StreamWriter,
        peer_id: str,
        limit: int = P.WATCH_BUFFER_LIMIT,
    ) -> None:
        self.room = room
        self.writer = writer
        self.peer_id = peer_id
        self.limit = limit
        self.ended = asyncio.Event()
        self.end_reason: str | None = None
        self._held: list[bytes] | None = []  # live frames held back while history is sent
        self._held_bytes = 0
        self._attached = False

    def attach(self) -> None:
        self.room.subscribe(self, peer_id=self.peer_id, peer_name="amux watch")
        self._attached = True

    def detach(self) -> None:
        """Leave the room (idempotent). Never call from inside the room's gate."""
        if self._attached:
            self._attached = False
            self.room.unsubscribe(self, peer_id=self.peer_id)

    # ---- RoomSubscriber -------------------------------------------------------------
    def room_frame(self, room: Room, frame: dict[str, Any], seq: int, blocks: list[Any]) -> None:
        if self.end_reason is not None:
            return
        line = frame_line(seq, room.state.last_recorded_at, frame)
        if self._held is not None:
            self._held.append(line)
            self._held_bytes += len(line)
            if self._held_bytes > self.limit:
                self.drop()
            return
        self._write(line)

    # ---- flow ---------------------------------------------------------------------------
    @property
    def dropped(self) -> bool:
        """Dropped (too slow) or gone: nothing more is written."""
        return self.end_reason in ("too_slow", "gone")

    def go_live(self) -> None:
        """History is sent: say so, then pass the held frames and every later one on (or,
        when the stream ended meanwhile, the held frames and the ``closed`` event)."""
        held, self._held = self._held or [], None
        if self.dropped:
            return
        data = P.encode_line({"event": "live"}) + b"".join(held)
        if self.end_reason is not None:
            data += P.encode_line({"event": "closed", "reason": self.end_reason})
        self._write(data)
        if self.end_reason is not None:
            self.ended.set()

    def end(self, reason: str) -> None:
        """No more frames will come (the room is closing, amux quits): what was recorded
        until now still goes out, then a last ``closed`` event."""
        if self.end_reason is not None:
            return
        self.end_reason = reason
        if self._held is None:  # live: nothing held back
            self._write(P.encode_line({"event": "closed", "reason": reason}))
            self.ended.set()

    def drop(self) -> None:
        """Too slow: stop at once; the client gets ``closed`` (``too_slow``) after what is
        already buffered if it reads soon, and is cut off after a grace period."""
        if self.dropped:
            return
        self.end_reason = "too_slow"
        self._held = None
        writer = self.writer
        if not writer.is_closing():
            writer.write(P.encode_line({"event": "closed", "reason": "too_slow"}))
            writer.close()
            asyncio.get_running_loop().call_later(P.DROP_GRACE, writer.transport.abort)
        logger.warning("watcher %s of room %s dropped: too slow", self.peer_id, self.room.id)
        self.ended.set()

    def _write(self, data: bytes) -> None:
        writer = self.writer
        if writer.is_closing():  # the client went away
            self.end_reason = "gone"
            self.ended.set()
            return
        writer.write(data)
        if writer.transport.get_write_buffer_size() > self.limit:
            self.drop()


def frame_line(seq: int, recorded_at: str | None, frame: Any, *, history: bool = False) -> bytes:
    """A ``frame`` event line. ``frame`` is a dict or the recorded JSON (``msgspec.Raw``);
    ``history``: it was recorded before the watcher joined (replayed from the log)."""
    event: dict[str, Any] = {"event": "frame", "seq": seq, "recordedAt": recorded_at}
    event["frame"] = frame
    if history:
        event["history"] = True
    try:
        return P.encode_line(event)
    except (TypeError, ValueError, msgspec.EncodeError) as exc:  # e.g. a lone surrogate
        return P.encode_line({**event, "frame": None, "unencodable": str(exc)})


# ---- history from the log ------------------------------------------------------------------
class _SeqOnly(msgspec.Struct):
    seq: int = -1


_decode_seq = msgspec.json.Decoder(_SeqOnly).decode
_decode_record = msgspec.json.Decoder(Record[msgspec.Raw]).decode


def _seq_of(line: bytes) -> int | None:
    try:
        seq = _decode_seq(line).seq
    except msgspec.DecodeError:
        return None
    return seq if seq >= 0 else None


def history_start(
    path: Path, end: int, last_seq: int, *, since_seq: int | None = None, last_n: int | None = None
) -> int:
    """Byte offset in the log of the first record to replay, read backwards from ``end``.

    ``since_seq``: the first record with seq ≥ it; ``last_n``: the last ``last_n``
    records with seq ≤ ``last_seq``; neither: the start of the file. Blocking (run it in
    a thread); unreadable lines are stepped over.
    """
    if since_seq is None and last_n is None:
        return 0
    if last_n == 0:
        return end
    count = 0
    boundary = end  # start of the earliest complete line judged so far
    block = _BLOCK
    with open(path, "rb") as f:
        while boundary > 0:
            start = max(0, boundary - block)
            f.seek(start)
            chunk = f.read(boundary - start)
            e = len(chunk)
            while e > 0:
                s = chunk.rfind(b"\n", 0, e - 1) + 1
                if s == 0 and start > 0:
                    break  # the line may begin before this chunk
                seq = _seq_of(chunk[s:e])
                if seq is not None and seq <= last_seq:
                    if since_seq is not None and seq < since_seq:
                        return start + e
                    count += 1
                    if last_n is not None and count >= last_n:
                        return start + s
                e = s
            if e == len(chunk):
                block *= 2  # a line longer than the block: read more at once
            boundary = start + e
    return 0


def _read_at(fd: int, size: int, offset: int) -> bytes:
    return os.pread(fd, size, offset)


async def stream_history(watcher: Watcher, path: Path, start: int, end: int, last_seq: int) -> int:
    """Send the records between byte offsets ``start`` and ``end`` with seq ≤ ``last_seq``
    as ``frame`` events marked ``history``; returns how many were sent. Reads in a worker
    thread, waits for the client to take each block (a slow reader slows only itself);
    stops early when the watcher is dropped."""
    if start >= end:
        return 0
    writer = watcher.writer
    fd = await asyncio.to_thread(os.open, path, os.O_RDONLY | os.O_CLOEXEC)
    sent = 0
    try:
        pos, carry = start, b""
        while pos < end and not watcher.dropped and not writer.is_closing():
            data = await asyncio.to_thread(_read_at, fd, min(_BLOCK, end - pos), pos)
            if not data:
                break  # the file shrank (cannot happen while we hold the lock)
            pos += len(data)
            lines = (carry + data).split(b"\n")
            carry = lines.pop()
            out = bytearray()
            for line in lines:
                if not line.strip():
                    continue
                try:
                    rec = _decode_record(line)
                except msgspec.DecodeError:
                    continue  # a bad line of the log: hydration skips it too
                if rec.seq > last_seq:
                    continue
                out += frame_line(rec.seq, rec.recorded_at, rec.frame, history=True)
                sent += 1
            if out:
                writer.write(out)
                await writer.drain()
    finally:
        os.close(fd)
    return sent


# ---- following a prompt --------------------------------------------------------------------
class TurnFollower(RoomSubscriber):
    """Follows one prompt to the end of its turn (``send --wait``); attached silently.

    Subscribe it, call ``room.prompt`` (the frames the call records name our turn or
    queue item), then set :attr:`capturing` to False and await :attr:`result`.
    """

    def __init__(self, room: Room) -> None:
        self.room = room
        self.capturing = True
        self.queue_item_id: str | None = None
        self.turn_id: str | None = None
        self.result: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._reply: list[str] = []
        self._reply_size = 0
        self._truncated = False
        self._cancel_reason: str | None = None

    def room_frame(self, room: Room, frame: dict[str, Any], seq: int, blocks: list[Any]) -> None:
        if self.result.done():
            return
        turn_id = self.turn_id
        if turn_id is not None and room.model.active_turn_id == turn_id:
            chunk = text_chunk_of(frame)
            if chunk is not None:
                self._add_reply(chunk.text)
                return
        method = frame.get("method")
        if not F.is_amux_method(method):
            return
        params = frame.get("params")
        p: dict[str, Any] = params if isinstance(params, dict) else {}
        if method == F.QUEUE_ITEM_ADDED:
            if self.capturing and self.queue_item_id is None and turn_id is None:
                self.queue_item_id = p.get("queueItemId")
        elif method == F.TURN_STARTED:
            if (
                turn_id is None
                and (self.capturing or self.queue_item_id is not None)
                and p.get("queueItemId") == self.queue_item_id
            ):
                self.turn_id = p.get("amuxTurnId")
        elif method == F.QUEUE_ITEM_SUBMITTED:
            if turn_id is None and self._ours(p):
                self.turn_id = p.get("amuxTurnId")
        elif method == F.QUEUE_ITEM_REMOVED:
            if turn_id is None and self._ours(p):
                self.finish(P.CANCELLED, reason="removed from the queue before it ran")
        elif turn_id is not None and p.get("amuxTurnId") == turn_id:
            if method == F.TURN_CANCELLED:
                self._cancel_reason = p.get("reason") or f"cancelled by {p.get('cancelledBy')}"
            elif method == F.TURN_COMPLETE:
                stop, error = p.get("stopReason"), p.get("error")
                outcome = P.turn_outcome(stop, error)
                reason = self._cancel_reason if outcome == P.CANCELLED else None
                self.finish(outcome, stop_reason=stop, error=error, reason=reason)
            elif method == F.TURN_INTERRUPTED:
                self.finish(P.INTERRUPTED, reason=p.get("reason"))

    def _ours(self, params: dict[str, Any]) -> bool:
        """The frame is about our queue item."""
        return self.queue_item_id is not None and params.get("queueItemId") == self.queue_item_id

    def _add_reply(self, text: str) -> None:
        if self._truncated:
            return
        room_left = P.MAX_REPLY - self._reply_size
        if len(text) > room_left:
            text, self._truncated = text[:room_left], True
        self._reply.append(text)
        self._reply_size += len(text)

    def finish(
        self,
        outcome: str,
        *,
        stop_reason: Any = None,
        error: Any = None,
        reason: str | None = None,
    ) -> None:
        """Settle :attr:`result` with the ``settled`` event (first call wins)."""
        if self.result.done():
            return
        event: dict[str, Any] = {
            "event": "settled",
            "roomId": self.room.id,
            "turnId": self.turn_id,
            "outcome": outcome,
            "stopReason": stop_reason,
            "reply": "".join(self._reply),
        }
        if self.queue_item_id is not None:
            event["queueItemId"] = self.queue_item_id
        if error is not None:
            event["error"] = error
        if reason is not None:
            event["reason"] = reason
        if self._truncated:
            event["truncated"] = True
        self.result.set_result(event)
