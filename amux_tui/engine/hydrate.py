"""Rebuild a room from its replay log (SPEC §5.3) through the live fold.

Every record goes through :meth:`RoomModel.apply`, the very code the live gate runs.
Streamed agent text (most of a log) is decoded into (message id, text) without building
dicts; everything else is decoded in full. ``closing_frames`` lists what a restarted amux
must record for a turn that never settled; ``amux show`` applies them in memory only.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

from amux_tui.engine import frames as F
from amux_tui.engine.model import RoomModel
from amux_tui.engine.store import LoadResult, Record, load_log


class Hydrated(msgspec.Struct):
    """A room's model as its log describes it."""

    model: RoomModel
    load: LoadResult
    closing: list[dict[str, Any]]  # frames still to record: the unsettled turn's ending


def closing_frames(model: RoomModel) -> list[dict[str, Any]]:
    """A turn without ``turn_complete``/``turn_interrupted`` was cut off by amux exiting.

    Its pending agent requests are resolved as ``mux:turn-ended`` and the turn is
    recorded as ``turn_interrupted {reason:"app_exit"}``, so the UI never shows it running.
    """
    state = model.state
    if state.active_turn_id is None:
        return []
    out = [
        F.amux_frame(
            F.AGENT_REQUEST_RESOLVED,
            state.room_id,
            requestId=req.request_id,
            resolvedBy=F.RESOLVED_TURN_ENDED,
        )
        for req in model.pending_permissions()
    ]
    out.append(
        F.amux_frame(
            F.TURN_INTERRUPTED,
            state.room_id,
            amuxTurnId=state.active_turn_id,
            reason=F.INTERRUPTED_APP_EXIT,
        )
    )
    return out


_JSON = list | str | int | float | bool | None  # "anything else" arms: no valid record is refused


class _Content(msgspec.Struct, gc=False):
    type: Any = None
    text: Any = None


class _Update(msgspec.Struct, gc=False):
    sessionUpdate: Any = None
    content: _Content | _JSON = None
    messageId: Any = None


class _Params(msgspec.Struct, gc=False):
    update: _Update | _JSON = None


class _Envelope(msgspec.Struct, gc=False):
    """Just enough of a frame to recognise streamed text without building dicts."""

    method: Any = None
    params: _Params | _JSON = None


_EnvelopeOrValue = _Envelope | _JSON
SESSION_UPDATE, AGENT_MESSAGE_CHUNK = F.SESSION_UPDATE, F.AGENT_MESSAGE_CHUNK
_ID_TYPES = frozenset((str, int))  # decoded JSON: exactly these types, never subclasses
_full_frame = msgspec.json.Decoder(Record[Any]).decode


def _text_chunk(env: Any) -> tuple[str | int | None, str] | None:
    """(message id, text) of the record's frame when it is plain streamed text."""
    if type(env) is not _Envelope or env.method != F.SESSION_UPDATE:
        return None
    params = env.params
    if type(params) is not _Params:
        return None
    update = params.update
    if type(update) is not _Update or update.sessionUpdate != F.AGENT_MESSAGE_CHUNK:
        return None
    content = update.content
    if type(content) is not _Content or content.type != "text" or type(content.text) is not str:
        return None
    mid = update.messageId
    return (
        mid if isinstance(mid, (str, int)) and not isinstance(mid, bool) else None
    ), content.text


def fold(records: Iterable[Record[Any]], room_id: str) -> RoomModel:
    """Fold records already in memory (frames as objects or raw JSON) into a fresh model."""
    model = RoomModel(room_id)
    for rec in records:
        frame = rec.frame
        if isinstance(frame, msgspec.Raw | bytes):
            try:
                frame = msgspec.json.decode(frame)
            except msgspec.DecodeError:
                frame = None
        model.apply(frame, rec.seq, rec.segment_id, rec.recorded_at)
    return model


def fold_log(
    path: Path,
    model: RoomModel,
    *,
    block_times: list[str] | None = None,
    text_only: bool = False,
) -> LoadResult:
    """Fold the log at ``path`` into ``model`` (records are not kept).

    Args:
        block_times: receives the ``recorded_at`` of the record that created each
            transcript block, by block index (search results say when a hit was written).
        text_only: for readers of the transcript's text alone (search): consecutive
            streamed chunks of one message are folded as one chunk, which yields the same
            blocks with far fewer calls, but leaves the frame counters of ``model.state``
            short. Never for a room that will run.
    """
    apply, apply_text = model.apply, model.apply_text
    blocks = model.transcript.blocks
    times = block_times
    pending: list[str] = []  # text_only: chunk texts of one message not applied yet
    first: list[Any] = []  # ... and the record and message id of the first of them

    def fold(rec: Record[Any], line: bytes) -> None:
        # _text_chunk inlined: this runs for every record of logs of a million frames.
        env = rec.frame
        if type(env) is _Envelope and env.method == SESSION_UPDATE:
            params = env.params
            if type(params) is _Params:
                update = params.update
                if type(update) is _Update and update.sessionUpdate == AGENT_MESSAGE_CHUNK:
                    content = update.content
                    if (
                        type(content) is _Content
                        and content.type == "text"
                        and type(content.text) is str
                    ):
                        mid = update.messageId
                        if type(mid) not in _ID_TYPES:  # as message_id_of: no bools
                            mid = None
                        apply_text(mid, content.text, rec.seq, rec.segment_id, rec.recorded_at)
                        return
        apply(_full_frame(line).frame, rec.seq, rec.segment_id, rec.recorded_at)

    def fold_timed(rec: Record[Any], line: bytes) -> None:
        fold(rec, line)
        if times is not None and len(blocks) > len(times):
            times.extend([rec.recorded_at] * (len(blocks) - len(times)))

    def flush() -> None:
        rec, mid = first
        apply_text(mid, "".join(pending), rec.seq, rec.segment_id, rec.recorded_at)
        if times is not None and len(blocks) > len(times):
            times.extend([rec.recorded_at] * (len(blocks) - len(times)))
        pending.clear()
        first.clear()

    def fold_text(rec: Record[Any], line: bytes) -> None:
        chunk = _text_chunk(rec.frame)
        if chunk is not None and chunk[1]:
            if first and first[1] != chunk[0]:
                flush()
            if not first:
                first.extend((rec, chunk[0]))
            pending.append(chunk[1])
            return
        if first:
            flush()
        fold_timed(rec, line)

    sink = fold_text if text_only else fold_timed if times is not None else fold
    load = load_log(path, frame_type=_EnvelopeOrValue, sink=sink)
    if first:
        flush()
    return load


def hydrate(path: Path, room_id: str) -> Hydrated:
    """Load ``path`` and fold it. Queue items pending at the end come back held (§4.3),
    and no compaction is active (the process bound, §4.6).

    Raises ``OSError`` (:class:`~amux_tui.private.UnsafePath` included) when the log
    cannot or must not be read; a missing log is an empty room."""
    model = RoomModel(room_id)
    load = fold_log(path, model)
    for item in model.state.queue:
        item.held = True
    model.process_ended()  # the agent that ran before this restart is gone (SPEC §4.6)
    return Hydrated(model, load, closing_frames(model))
