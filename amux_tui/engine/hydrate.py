"""Rebuild a room from its replay log (SPEC §5.3) through the live fold.

Every record goes through :meth:`RoomModel.apply`, the very code the live gate runs.
Streamed agent text (most of a log) is decoded into a :class:`TextChunk` without building
dicts; everything else is decoded in full. ``closing_frames`` lists what a restarted amux
must record for a turn that never settled; ``amux show`` applies them in memory only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from amux_tui.engine import frames as F
from amux_tui.engine.model import RoomModel, TextChunk
from amux_tui.engine.store import LoadResult, Record, load_log


@dataclass
class Hydrated:
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
_full_frame = msgspec.json.Decoder(Record[Any]).decode


def _text_chunk(env: Any) -> TextChunk | None:
    """The record's frame as a :class:`TextChunk`, when it is plain streamed text."""
    if type(env) is not _Envelope or env.method != F.SESSION_UPDATE:
        return None
    params = env.params
    if type(params) is not _Params or type(params.update) is not _Update:
        return None
    update = params.update
    content = update.content
    if (
        update.sessionUpdate != F.AGENT_MESSAGE_CHUNK
        or type(content) is not _Content
        or content.type != "text"
        or type(content.text) is not str
    ):
        return None
    mid = update.messageId
    valid_mid = mid if isinstance(mid, (str, int)) and not isinstance(mid, bool) else None
    return TextChunk(valid_mid, content.text)


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
    apply = model.apply
    blocks = model.transcript.blocks
    times = block_times
    pending: list[str] = []  # text_only: chunk texts of one message not applied yet
    first: list[Any] = []  # ... and the record of the first of them

    def apply_timed(frame: Any, rec: Record[Any]) -> None:
        apply(frame, rec.seq, rec.segment_id, rec.recorded_at)
        if times is not None and len(blocks) > len(times):
            times.extend([rec.recorded_at] * (len(blocks) - len(times)))

    def flush() -> None:
        rec, mid = first
        apply_timed(TextChunk(mid, "".join(pending)), rec)
        pending.clear()
        first.clear()

    def fold(rec: Record[Any], line: bytes) -> None:
        chunk = _text_chunk(rec.frame)
        if text_only:
            if chunk is not None and chunk.text:
                if first and first[1] != chunk.message_id:
                    flush()
                if not first:
                    first.extend((rec, chunk.message_id))
                pending.append(chunk.text)
                return
            if first:
                flush()
        frame = chunk if chunk is not None else _full_frame(line).frame
        apply_timed(frame, rec)

    load = load_log(path, frame_type=_EnvelopeOrValue, sink=fold)
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
