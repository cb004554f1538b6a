"""Property tests for the replay log loader and appender (ARCHITECTURE §5).

Any mix of good records, blank lines, corrupt lines, invalid UTF-8, JSON that is not a
record, records from a newer amux, plus an optional torn tail: every good record
loads, every bad line is counted exactly, the torn tail is cut before the next append,
and appending afterwards yields a log whose only bad lines are the original ones.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amux_tui.engine.store import ReplayLog, load_log

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
frames = st.dictionaries(st.text(max_size=6), json_values, max_size=4)
seq_steps = st.integers(min_value=1, max_value=3)  # gaps are allowed, disorder is not
segments = st.integers(min_value=0, max_value=2**32)


def encode(obj: dict[str, Any], *, ascii_only: bool = True) -> bytes:
    """Independent encoder (stdlib json) so the loader is not checked against itself."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=ascii_only).encode()


def record(seq: int, segment_id: int, frame: Any, v: int = 1, ascii_only: bool = True) -> bytes:
    return encode(
        {
            "v": v,
            "seq": seq,
            "segment_id": segment_id,
            "recorded_at": "2026-05-27T17:42:01.234567890Z",
            "frame": frame,
        },
        ascii_only=ascii_only,
    )


@dataclass
class Expected:
    lines: list[bytes] = field(default_factory=list)
    good_seqs: list[int] = field(default_factory=list)
    good_frames: list[Any] = field(default_factory=list)
    bad: list[int] = field(default_factory=list)  # 1-based line numbers
    blank: int = 0
    newer: int = 0
    newer_max_seq: int = 0
    tail: bytes = b""


@st.composite
def logs(draw: st.DrawFn) -> Expected:
    exp = Expected()
    seq = 0
    kinds = draw(
        st.lists(
            st.sampled_from(
                [
                    "good",
                    "good",
                    "good",
                    "blank",
                    "truncated",
                    "garbage",
                    "utf8",
                    "nonrecord",
                    "newer",
                ]
            ),
            max_size=25,
        )
    )
    for kind in kinds:
        lineno = len(exp.lines) + 1
        if kind == "good":
            seq += draw(seq_steps)
            frame = draw(frames)
            exp.lines.append(record(seq, draw(segments), frame, ascii_only=draw(st.booleans())))
            exp.good_seqs.append(seq)
            exp.good_frames.append(frame)
        elif kind == "blank":
            exp.lines.append(draw(st.sampled_from([b"", b" ", b"\t", b"\r", b" \r", b"  \t "])))
            exp.blank += 1
        elif kind == "truncated":
            # Any proper prefix of a JSON object is not JSON (written by a dying process).
            full = record(draw(st.integers(1, 10**6)), 0, draw(frames))
            exp.lines.append(full[: draw(st.integers(1, len(full) - 1))])
            exp.bad.append(lineno)
        elif kind == "garbage":
            junk = draw(
                st.text(
                    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\n"),
                    min_size=1,
                    max_size=30,
                )
            )
            exp.lines.append(b"#" + junk.encode())  # '#' never starts JSON
            exp.bad.append(lineno)
        elif kind == "utf8":
            # A good record with one invalid UTF-8 byte inside a JSON string.
            text = draw(st.text(alphabet="abcdef", min_size=1, max_size=8))
            bad_byte = draw(st.sampled_from([b"\xff", b"\xc3", b"\x80", b"\xed\xa0\x80"]))
            line = record(draw(st.integers(1, 10**6)), 0, {"t": text})
            exp.lines.append(line.replace(text.encode(), text.encode() + bad_byte, 1))
            exp.bad.append(lineno)
        elif kind == "nonrecord":
            exp.lines.append(
                draw(
                    st.sampled_from(
                        [
                            b"[1,2]",
                            b'"just a string"',
                            b"42",
                            b"null",
                            b'{"jsonrpc":"2.0","method":"x"}',
                            record(5, 0, {})[:-1] + b',"extra":1}{}',
                            record(5, 0, {}).replace(b'"seq":5', b'"seq":-5'),
                            record(5, 0, {}).replace(b'"seq":5', b'"seq":"5"'),
                            record(5, 0, {}).replace(b',"frame":{}', b""),
                            record(5, 0, {}, v=0),
                            record(5, 0, {}).replace(b'"v":1', b'"v":true'),
                        ]
                    )
                )
            )
            exp.bad.append(lineno)
        else:  # newer
            nseq = draw(st.integers(1, 10**6))
            exp.lines.append(record(nseq, 0, draw(frames), v=draw(st.integers(2, 9))))
            exp.newer += 1
            exp.newer_max_seq = max(exp.newer_max_seq, nseq)
    if draw(st.booleans()):
        full = record(seq + 1, 0, draw(frames))
        exp.tail = full[: draw(st.integers(1, len(full) - 1))]
    return exp


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exp=logs(), extra=st.lists(frames, max_size=5), decode_frames=st.booleans())
def test_any_mix_of_lines_loads_every_good_record_and_appends_cleanly(
    exp: Expected, extra: list[dict[str, Any]], decode_frames: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.jsonl"
        body = b"".join(line + b"\n" for line in exp.lines)
        path.write_bytes(body + exp.tail)

        res = load_log(path, decode_frames=decode_frames)
        assert [r.seq for r in res.records] == exp.good_seqs
        assert [r.decode_frame() for r in res.records] == exp.good_frames
        assert res.bad_lines == len(exp.bad)
        assert res.bad_line_numbers == exp.bad
        assert res.blank_lines == exp.blank
        assert res.newer_version_lines == exp.newer
        assert res.torn_tail == bool(exp.tail)
        assert res.valid_size == len(body)
        max_seq = max([0, exp.newer_max_seq, *exp.good_seqs])
        assert res.max_seq == max_seq

        log = ReplayLog.open(path, res)
        assert path.read_bytes() == body  # torn tail cut before anything is appended
        for frame in extra:
            log.append(frame, 1)
        log.close()

        data = path.read_bytes()
        assert data.startswith(body)  # nothing before the cut was rewritten
        after = load_log(path, decode_frames=decode_frames)
        new_seqs = list(range(max_seq + 1, max_seq + 1 + len(extra)))
        assert [r.seq for r in after.records] == exp.good_seqs + new_seqs
        assert [r.decode_frame() for r in after.records[len(exp.good_seqs) :]] == extra
        assert after.bad_lines == len(exp.bad) and after.bad_line_numbers == exp.bad
        assert not after.torn_tail and not after.missing_newline
        assert after.newer_version_lines == exp.newer and after.blank_lines == exp.blank


@settings(max_examples=100, deadline=None)
@given(items=st.lists(st.tuples(frames, st.booleans(), segments), min_size=1, max_size=10))
def test_appended_frames_round_trip(items: list[tuple[dict[str, Any], bool, int]]) -> None:
    """Dict frames come back equal; raw-bytes frames come back byte for byte."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.jsonl"
        raws: list[bytes | None] = []
        with ReplayLog.open(path, load_log(path)) as log:
            for frame, as_bytes, seg in items:
                if as_bytes:
                    raw = json.dumps(
                        frame, ensure_ascii=False, indent=None
                    ).encode()  # spaced, unescaped
                    log.append(raw, seg)
                    raws.append(raw)
                else:
                    log.append(frame, seg)
                    raws.append(None)
        res = load_log(path)
        assert res.bad_lines == 0
        for rec, (frame, _, seg), raw in zip(res.records, items, raws, strict=True):
            assert rec.segment_id == seg
            assert rec.decode_frame() == frame
            if raw is not None:
                assert bytes(rec.frame) == raw
            assert json.loads(msgspec.json.encode(rec))["frame"] == frame
