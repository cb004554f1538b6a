"""Rebuild a room from its replay log (SPEC §5.3) through the live fold.

``fold`` feeds recorded frames to ``RoomState.apply`` (and optionally the transcript),
the very code the live gate runs. ``closing_frames`` lists what a restarted amux must
record for a turn that never settled; ``amux show`` applies them in memory only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from amux_tui.engine import frames as F
from amux_tui.engine.state import RoomState
from amux_tui.engine.store import LoadResult, Record, load_log
from amux_tui.engine.transcript import Transcript

_decode = msgspec.json.Decoder().decode


@dataclass
class Hydrated:
    """A room's state as its log describes it."""

    state: RoomState
    transcript: Transcript | None
    load: LoadResult
    closing: list[dict[str, Any]]  # frames still to record: the unsettled turn's ending


def frame_of(record: Record) -> Any:
    """The record's frame as a dict (records may keep it as undecoded JSON)."""
    frame = record.frame
    if isinstance(frame, msgspec.Raw):
        try:
            return _decode(frame)
        except msgspec.DecodeError:
            return None
    return frame


def fold(
    records: Iterable[Record], room_id: str, *, transcript: Transcript | None = None
) -> RoomState:
    """Fold records, in file order, into a fresh ``RoomState`` (and ``transcript``)."""
    state = RoomState(room_id)
    apply_state = state.apply
    apply_view = transcript.apply if transcript is not None else None
    for rec in records:
        frame = frame_of(rec)
        apply_state(frame, rec.seq, rec.segment_id, rec.recorded_at)
        if apply_view is not None and isinstance(frame, dict):
            apply_view(frame, rec.seq, rec.recorded_at)
    return state


def closing_frames(state: RoomState) -> list[dict[str, Any]]:
    """A turn without ``turn_complete``/``turn_interrupted`` was cut off by amux exiting.

    Its pending agent requests are resolved as ``mux:turn-ended`` and the turn is
    recorded as ``turn_interrupted {reason:"app_exit"}``, so the UI never shows it running.
    """
    if state.active_turn_id is None:
        return []
    out = [
        F.amux_frame(
            F.AGENT_REQUEST_RESOLVED,
            state.room_id,
            requestId=req.request_id,
            resolvedBy=F.RESOLVED_TURN_ENDED,
        )
        for req in state.pending_requests.values()
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


class _Folder:
    """Folds records straight from the loader: streamed text takes a dict-free fast path."""

    def __init__(self, room_id: str, transcript: Transcript | None) -> None:
        self.state = RoomState(room_id)
        self.transcript = transcript

    def __call__(self, rec: Record, line: bytes) -> None:
        env = rec.frame
        if (
            type(env) is _Envelope
            and env.method == F.SESSION_UPDATE
            and type(env.params) is _Params
            and type(env.params.update) is _Update
            and env.params.update.sessionUpdate == F.AGENT_MESSAGE_CHUNK
        ):
            update = env.params.update
            content = update.content
            if type(content) is _Content and content.type == "text" and type(content.text) is str:
                # RoomState has nothing to do for a chunk but count it.
                self.state.count(rec.seq, rec.segment_id, rec.recorded_at)
                if self.transcript is None or self.transcript.append_text(
                    update.messageId, content.text
                ):
                    return
                self.transcript.apply(_full_frame(line).frame, rec.seq, rec.recorded_at)
                return
        frame = _full_frame(line).frame
        self.state.apply(frame, rec.seq, rec.segment_id, rec.recorded_at)
        if self.transcript is not None and isinstance(frame, dict):
            self.transcript.apply(frame, rec.seq, rec.recorded_at)


def hydrate(path: Path, room_id: str, *, with_transcript: bool = True) -> Hydrated:
    """Load ``path`` and fold it. Queue items pending at the end come back held (§4.3)."""
    folder = _Folder(room_id, Transcript() if with_transcript else None)
    load = load_log(path, frame_type=_EnvelopeOrValue, sink=folder)
    state = folder.state
    for item in state.queue:
        item.held = True
    return Hydrated(state, folder.transcript, load, closing_frames(state))
