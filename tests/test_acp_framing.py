"""JSON-RPC line framing: classification, raw bytes, errors (SPEC §3.1, §8)."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from amux_tui.acp import AgentExited, Frame, Kind, RpcError, encode, parse_line
from amux_tui.acp.framing import LineSplitter

CLASSIFICATION = [
    # (line, kind, id)
    (b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}', Kind.REQUEST, 1),
    (b'{"jsonrpc":"2.0","id":0,"method":"session/request_permission"}', Kind.REQUEST, 0),
    (b'{"jsonrpc":"2.0","id":"abc","method":"fs/read_text_file"}', Kind.REQUEST, "abc"),
    (b'{"jsonrpc":"2.0","id":null,"method":"x"}', Kind.REQUEST, None),
    (b'{"jsonrpc":"2.0","method":"session/update","params":{"a":1}}', Kind.NOTIFICATION, None),
    (b'{"method":"session/update"}', Kind.NOTIFICATION, None),  # jsonrpc may be absent
    (b'{"jsonrpc":"2.0","id":1,"result":{"ok":true}}', Kind.RESPONSE, 1),
    (b'{"jsonrpc":"2.0","id":0,"result":null}', Kind.RESPONSE, 0),
    (b'{"jsonrpc":"2.0","id":"s","error":{"code":-32601,"message":"no"}}', Kind.RESPONSE, "s"),
    (b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse"}}', Kind.RESPONSE, None),
    (b'{"jsonrpc":"2.0","id":7,"result":1,"error":null}', Kind.RESPONSE, 7),
]

INVALID = [
    (b"this is not json", "not JSON"),
    (b'{"jsonrpc":"2.0","method":"x"', "not JSON"),
    (b'[{"jsonrpc":"2.0","method":"x"}]', "not a JSON-RPC object"),
    (b"42", "not a JSON-RPC object"),
    (b'"a string"', "not a JSON-RPC object"),
    (b"null", "not a JSON-RPC object"),
    (b'{"jsonrpc":"1.0","method":"x"}', "jsonrpc"),
    (b'{"jsonrpc":2,"id":1,"result":{}}', "jsonrpc"),
    (b'{"jsonrpc":"2.0","id":1}', "no method, result or error"),
    (b"{}", "no method, result or error"),
    (b'{"jsonrpc":"2.0","result":{}}', "response without id"),
    (b'{"jsonrpc":"2.0","id":true,"result":{}}', "invalid id"),
    (b'{"jsonrpc":"2.0","id":[1],"method":"x"}', "invalid id"),
    (b'{"jsonrpc":"2.0","method":5}', "invalid method"),
    (b'{"jsonrpc":"2.0","method":"x","params":{"t":"\xff\xfe"}}', "invalid UTF-8"),
    (b"\xff", "not JSON"),
    (b'{"method":"x","params":{"n":NaN}}', "not JSON"),
    (b"[" * 100_000, "not JSON"),  # too deep: must not raise RecursionError
]


@pytest.mark.parametrize(("line", "kind", "id_"), CLASSIFICATION)
def test_classification(line: bytes, kind: Kind, id_: object) -> None:
    frame = parse_line(line)
    assert frame.kind is kind, frame.problem
    assert frame.problem is None
    assert frame.id == id_
    assert type(frame.id) is type(id_)  # 0 stays int, "abc" stays str
    assert frame.raw == line
    assert frame.msg == json.loads(line)


@pytest.mark.parametrize(("line", "problem"), INVALID)
def test_invalid_lines_carry_a_reason(line: bytes, problem: str) -> None:
    frame = parse_line(line)
    assert frame.kind is Kind.INVALID
    assert frame.msg is None
    assert frame.problem is not None and problem in frame.problem
    assert frame.raw == line
    assert frame.method is None and frame.id is None and frame.params == {}


def test_raw_bytes_kept_exactly_and_newline_stripped() -> None:
    # Spacing, key order, escapes and non-ASCII survive byte for byte.
    line = '{ "method" : "session/update",  "params":{"t":"caf\\u00e9 ☕","b":1} , "jsonrpc":"2.0"}'
    data = line.encode()
    assert parse_line(data).raw == data
    assert parse_line(data + b"\n").raw == data
    assert parse_line(data + b"\r\n").raw == data
    frame = parse_line(data + b"\r\n")
    assert frame.params == {"t": "café ☕", "b": 1}


def test_convenience_properties() -> None:
    req = parse_line(b'{"jsonrpc":"2.0","id":3,"method":"m","params":[1,2]}')
    assert (req.method, req.id, req.params) == ("m", 3, {})  # non-dict params -> {}
    note = parse_line(b'{"jsonrpc":"2.0","method":"n"}')
    assert note.params == {} and note.id is None
    ok = parse_line(b'{"jsonrpc":"2.0","id":1,"result":{"x":1}}')
    assert ok.result == {"x": 1} and ok.error is None and ok.method is None
    err = parse_line(b'{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"auth"}}')
    assert err.error == {"code": -32000, "message": "auth"} and err.result is None


def test_lone_surrogate_escape_is_accepted_and_scrubbed() -> None:
    # A JS agent slicing a string mid-emoji emits a lone surrogate escape: still JSON.
    line = b'{"jsonrpc":"2.0","method":"session/update","params":{"t":"ab\\ud83d"}}'
    frame = parse_line(line)
    assert frame.kind is Kind.NOTIFICATION
    assert frame.params["t"] == "ab\ufffd"
    assert frame.raw == line
    assert not frame.strict  # the stdlib read it: the log must check it itself
    encode(frame.msg or {})  # re-encodable


def test_a_line_msgspec_decodes_as_is_is_strict() -> None:
    """Only lines msgspec itself decoded are vouched for (the log skips its own parse)."""
    line = (
        b'{"jsonrpc":"2.0","method":"session/update","params":{"t":"\u00e9t\u00e9 \ud83d\ude00"}}'
    )
    assert parse_line(line).strict
    assert parse_line(b'{"jsonrpc":"2.0","id":1,"result":{}}').strict
    assert not parse_line(b"not json").strict


def test_big_integer_id_is_kept() -> None:
    frame = parse_line(b'{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"m"}')
    assert frame.kind is Kind.REQUEST and frame.id == 123456789012345678901234567890


def test_encode_is_one_compact_line() -> None:
    msg = {"jsonrpc": "2.0", "id": 1, "method": "m", "params": {"text": "a\nb", "u": "é"}}
    line = encode(msg)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert msgspec.json.decode(line) == msg
    assert parse_line(line).msg == msg


@given(st.binary(max_size=200))
def test_parse_line_never_raises(data: bytes) -> None:
    frame = parse_line(data)
    assert isinstance(frame, Frame)
    assert (frame.kind is Kind.INVALID) == (frame.msg is None)
    assert (frame.kind is Kind.INVALID) == (frame.problem is not None)


@given(
    st.dictionaries(
        st.sampled_from(["jsonrpc", "id", "method", "result", "error", "params"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=5), st.booleans()),
    )
)
def test_parse_line_never_raises_on_objects(msg: dict) -> None:
    frame = parse_line(json.dumps(msg).encode())
    assert frame.kind in set(Kind)


def test_rpc_error_from_error_object() -> None:
    exc = RpcError.from_error(
        {
            "code": -32603,
            "message": "Internal error",
            "data": {"details": "context window too small"},
        }
    )
    assert (exc.code, exc.message) == (-32603, "Internal error")
    assert exc.data == {"details": "context window too small"}
    text = str(exc)
    assert "Internal error" in text and "-32603" in text and "context window too small" in text
    assert exc.to_error()["data"] == {"details": "context window too small"}
    odd = RpcError.from_error("boom")
    assert odd.code == -32603 and "boom" in str(odd)
    assert str(RpcError.from_error({"code": -32601, "message": "Method not found"})) == (
        "Method not found (code -32601)"
    )


def test_agent_exited_message() -> None:
    assert AgentExited(3).returncode == 3
    assert "code 3" in str(AgentExited(3))
    assert "SIGKILL" in str(AgentExited(-9))
    assert AgentExited(None).returncode is None


def _split(chunks: list[bytes], limit: int, head: int) -> list[tuple[bytes, int]]:
    out: list[tuple[bytes, int]] = []
    splitter = LineSplitter(limit, head, lambda line, over: out.append((line, over)))
    for chunk in chunks:
        splitter.feed(chunk)
    splitter.close()
    return out


def test_line_splitter_handles_chunk_boundaries_and_overlong_lines() -> None:
    data = b"a\n\nbcd\n" + b"x" * 25 + b"\nlast"
    expected = [(b"a", 0), (b"", 0), (b"bcd", 0), (b"x" * 4, 21), (b"last", 0)]
    for size in (1, 2, 3, 7, len(data)):
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        assert _split(chunks, limit=10, head=4) == expected, size
    # Exactly at the limit is fine; one more byte is not.
    assert _split([b"y" * 10 + b"\n"], 10, 4) == [(b"y" * 10, 0)]
    assert _split([b"y" * 11 + b"\n"], 10, 4) == [(b"yyyy", 7)]
