"""The control socket served by the engine, against the real demo agent (no UI, no timing)."""

from __future__ import annotations

import asyncio
import os
import socket
import stat

import pytest
from control_helpers import Client, ended, log_records, method, served
from engine_helpers import demo_spec, idle, started_room, wait_for

from amux_tui import __version__
from amux_tui.engine import control_protocol as P
from amux_tui.engine import frames as F
from amux_tui.engine.engine import EngineListener


async def test_socket_is_private_and_says_hello(tmp_path):
    async with served(tmp_path / "h") as (engine, server):
        st = os.lstat(server.path)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
        assert server.path == engine.paths.rooms_dir / "control.sock"
        client = await Client.open(server.path)
        assert client.hello == {
            "event": "hello", "amux": __version__, "protocol": 1, "pid": os.getpid(),
        }  # fmt: skip
        assert await client.request("ping", id=7) == {"ok": True, "id": 7}
        await client.close()
    assert not server.path.exists()  # removed on stop


async def test_send_wait_answers_with_the_turn_and_its_reply(tmp_path):
    async with served(tmp_path / "h") as (engine, server):
        room, _ = await started_room(engine, title="B")
        client = await Client.open(server.path)
        answer = await client.request("send", room="B", text="hello there", wait=True, id="x")
        assert answer == {
            "ok": True,
            "id": "x",
            "roomId": room.id,
            "result": "sent",
            "turnId": "at-1",
        }
        settled = await client.read()
        assert settled["event"] == "settled" and settled["turnId"] == "at-1"
        assert settled["outcome"] == "end_turn" and settled["stopReason"] == "end_turn"
        # The reply is exactly the agent's message text of that turn, as recorded.
        chunks = [
            r["frame"]["params"]["update"]["content"]["text"]
            for r in log_records(engine, room.id)
            if r["frame"].get("method") == F.SESSION_UPDATE
            and r["frame"]["params"]["update"].get("sessionUpdate") == F.AGENT_MESSAGE_CHUNK
        ]
        assert settled["reply"] == "".join(chunks) and "> hello there" in settled["reply"]
        assert await client.at_eof()  # a stream is the last request of its connection
        # The prompt is attributed to the CLI peer.
        started = [
            r for r in log_records(engine, room.id) if r["frame"]["method"] == F.TURN_STARTED
        ]
        assert started[0]["frame"]["params"]["peerId"] == "cli"


async def test_a_queued_prompt_is_followed_to_the_turn_it_becomes(tmp_path):
    gate = tmp_path / "gate"  # every demo turn stays open until this exists
    async with served(tmp_path / "h") as (engine, server):
        room, _ = await started_room(engine, demo_spec(AMUX_DEMO_GATE=str(gate)), title="B")
        first = await Client.open(server.path)
        assert (await first.request("send", room="B", text="first"))["turnId"] == "at-1"
        waiter = await Client.open(server.path)
        answer = await waiter.request("send", room="B", text="second one", wait=True)
        assert answer["result"] == "queued" and answer["queueItemId"] == "q-1"
        assert "turnId" not in answer
        gate.touch()
        settled = await waiter.read()
        assert settled["turnId"] == "at-2" and settled["queueItemId"] == "q-1"
        assert settled["outcome"] == "end_turn" and "> second one" in settled["reply"]
        assert "> first" not in settled["reply"]  # only its own turn's text
        await idle(room)


@pytest.mark.parametrize(
    ("text", "outcome", "stop"),
    [("/refuse", "refused", "refusal"), ("/maxtokens", "limit", "max_tokens"),
     ("/crash", "interrupted", None)],
)  # fmt: skip
async def test_send_wait_reports_how_the_turn_ended(tmp_path, text, outcome, stop):
    async with served(tmp_path / "h") as (engine, server):
        await started_room(engine, title="B")
        client = await Client.open(server.path)
        await client.request("send", room="B", text=text, wait=True)
        settled = await client.read()
        assert settled["outcome"] == outcome and settled["stopReason"] == stop
        if outcome == "interrupted":
            assert settled["reason"] == F.INTERRUPTED_AGENT_EXIT


async def test_cancel_and_unqueue_end_a_waited_prompt_as_cancelled(tmp_path):
    gate = tmp_path / "gate"
    async with served(tmp_path / "h") as (engine, server):
        room, _ = await started_room(engine, demo_spec(AMUX_DEMO_GATE=str(gate)), title="B")
        running = await Client.open(server.path)
        await running.request("send", room="B", text="held", wait=True)
        queued = await Client.open(server.path)
        answer = await queued.request("send", room="B", text="never runs", wait=True)
        room.unqueue(answer["queueItemId"])
        settled = await queued.read()
        assert settled["outcome"] == "cancelled" and settled["turnId"] is None
        assert settled["reason"] == "removed from the queue before it ran"
        control = await Client.open(server.path)
        assert (await control.request("cancel", room="B"))["cancelled"] is True
        settled = await running.read()
        assert settled["outcome"] == "cancelled" and settled["reason"] == "cancelled by cli"
        assert (await control.request("cancel", room="B"))["cancelled"] is False  # none runs


async def test_watch_sends_snapshot_history_then_live_frames_without_gap(tmp_path):
    gate = tmp_path / "gate"
    async with served(tmp_path / "h") as (engine, server):
        room, _ = await started_room(engine, demo_spec(AMUX_DEMO_GATE=str(gate)), title="B")
        room.prompt("one")  # held open by the gate: the watcher joins mid-turn
        await wait_for(
            lambda: room.transcript.blocks and room.transcript.blocks[-1].kind == "message"
        )
        client = await Client.open(server.path)
        assert (await client.request("watch", room="B", history="all"))["ok"]
        snapshot = await client.read()
        assert snapshot["event"] == "snapshot" and snapshot["room"]["state"] == "busy"
        last = snapshot["lastSeq"]
        events = await client.until(lambda e: e.get("event") == "live")
        history = [e for e in events if e.get("event") == "frame"]
        assert all(e["history"] for e in history)
        assert [e["seq"] for e in history] == list(range(1, last + 1))
        gate.touch()
        live = await client.until(ended)
        assert all("history" not in e for e in live)
        assert method(live[0]) == F.PEER_JOINED  # its own arrival, recorded after the snapshot
        # Every recorded frame exactly once, in order: history, then live.
        seqs = [e["seq"] for e in history + live]
        logged = [r["seq"] for r in log_records(engine, room.id)]
        assert seqs == logged[: len(seqs)] == list(range(1, len(seqs) + 1))
        assert [e["frame"] for e in history + live] == [
            r["frame"] for r in log_records(engine, room.id)[: len(seqs)]
        ]


async def test_watch_history_turn_last_n_and_none(tmp_path):
    async with served(tmp_path / "h") as (engine, server):
        room, _ = await started_room(engine, title="B")
        room.prompt("one")
        await idle(room)
        room.prompt("two")
        await idle(room)
        records = log_records(engine, room.id)
        turn2 = [r["seq"] for r in records if r["frame"]["method"] == F.TURN_STARTED][-1]
        for history in ("turn", 3, 0):
            client = await Client.open(server.path)
            await client.request("watch", room="B", history=history)
            last = (await client.read())["lastSeq"]
            events = await client.until(lambda e: e.get("event") == "live")
            seqs = [e["seq"] for e in events if e.get("event") == "frame"]
            first = {"turn": turn2, 3: last - 2, 0: last + 1}[history]
            assert seqs == list(range(first, last + 1)), history
            await client.close()


async def test_watch_snapshot_reports_compacting_only_until_the_turn_settles(tmp_path):
    """The snapshot obeys hydration's rule: a compaction whose turn settled is not active,
    even though its done signal never came."""
    gate = tmp_path / "gate"
    async with served(tmp_path / "h") as (engine, server):
        room, _ = await started_room(engine, demo_spec(AMUX_DEMO_GATE=str(gate)), title="B")
        room.prompt("/compact stranded")  # a start signal, held by the gate, never a done
        await wait_for(lambda: room.compacting, what="compaction to start")
        during = await Client.open(server.path)
        await during.request("watch", room="B")
        snapshot = (await during.read())["room"]
        assert snapshot["compacting"] is True and snapshot["compaction"]["active"] is True
        gate.touch()
        frames = await during.until(ended)
        assert F.COMPACTION_DONE not in [method(e) for e in frames]
        after = await Client.open(server.path)
        await after.request("watch", room="B")
        snapshot = (await after.read())["room"]
        assert snapshot["compacting"] is False and snapshot["compaction"]["active"] is False
        assert snapshot["state"] == "ready"
        history = await after.until(lambda e: e.get("event") == "live")
        methods = [method(e) for e in history]
        assert F.COMPACTION_STARTED in methods and F.COMPACTION_DONE not in methods


async def test_a_slow_watcher_is_dropped_and_never_blocks_the_room(tmp_path):
    async with served(tmp_path / "h", watch_buffer=64 << 10) as (engine, server):
        room, _ = await started_room(engine, title="B")
        slow = await Client.open(server.path)
        await slow.request("watch", room="B", history=0)
        # The client reads nothing from here on (its socket is not read at all, not even
        # into its stream buffer). A flood of ~4 MB must still run through.
        slow.writer.transport.pause_reading()  # type: ignore[attr-defined]
        room.prompt("/flood 20000")
        await idle(room, timeout=60)
        slow.writer.transport.resume_reading()  # type: ignore[attr-defined]
        events = await slow.until(lambda e: e.get("event") == "closed")
        assert events[-1] == {"event": "closed", "reason": "too_slow"}
        assert await slow.at_eof()
        await wait_for(
            lambda: F.PEER_LEFT in [r["frame"]["method"] for r in log_records(engine, room.id)]
        )
        assert len(room._subscribers) == 1  # only the test's recorder is left


async def test_malformed_requests_are_answered_and_the_connection_survives(tmp_path):
    async with served(tmp_path / "h") as (engine, server):
        await started_room(engine, title="B")
        client = await Client.open(server.path)
        cases = [
            (b"not json\n", P.BAD_JSON),
            (b"[1,2]\n", P.BAD_JSON),
            (b'{"id":3}\n', P.BAD_REQUEST),
            (b'{"cmd":"frobnicate","id":4}\n', P.UNKNOWN_COMMAND),
            (b'{"cmd":"send","room":"B"}\n', P.BAD_REQUEST),
            (b'{"cmd":"send","room":"B","text":1}\n', P.BAD_REQUEST),
            (b'{"cmd":"ls","extra":true}\n', P.BAD_REQUEST),
            (b'{"cmd":"watch","room":"B","history":-1}\n', P.BAD_REQUEST),
            (b'{"cmd":"show","room":"nope"}\n', P.NO_ROOM),
            (b'{"cmd":"send","room":"B","text":"   "}\n', P.REFUSED),
            (b"\xff\xfe\n", P.BAD_JSON),
        ]
        for line, code in cases:
            await client.write(line)
            answer = await client.read()
            assert answer["ok"] is False and answer["error"]["code"] == code, (line, answer)
        assert (await client.request("frobnicate", id=4))["id"] == 4
        # 1,000 in a row, then the same connection and the room still work.
        await client.write(b"{bad\n" * 1000)
        for _ in range(1000):
            assert (await client.read())["error"]["code"] == P.BAD_JSON
        assert await client.request("ping") == {"ok": True}
        await client.request("send", room="B", text="still fine", wait=True)
        assert (await client.read())["outcome"] == "end_turn"


async def test_an_oversized_line_gets_an_error_and_the_connection_is_closed(tmp_path):
    async with served(tmp_path / "h") as (engine, server):
        client = await Client.open(server.path)
        client.writer.write(b"x" * (P.MAX_REQUEST_LINE + 1024))  # no newline in sight
        answer = await client.read()
        assert answer["error"]["code"] == P.LINE_TOO_LONG
        assert await client.at_eof()
        fresh = await Client.open(server.path)
        assert (await fresh.request("ping"))["ok"]


async def _watcher_and_waiter(server) -> tuple[Client, Client]:
    """A client watching room B (live by now) and one waiting for a prompt sent to it."""
    watcher = await Client.open(server.path)
    await watcher.request("watch", room="B")
    await watcher.until(lambda e: e.get("event") == "live")
    waiter = await Client.open(server.path)
    await waiter.request("send", room="B", text="held", wait=True)
    return watcher, waiter


async def test_clients_leaving_mid_stream_are_let_go(tmp_path):
    gate = tmp_path / "gate"
    async with served(tmp_path / "h") as (engine, server):
        room, _ = await started_room(engine, demo_spec(AMUX_DEMO_GATE=str(gate)), title="B")
        watcher, waiter = await _watcher_and_waiter(server)
        assert len(room._subscribers) == 3  # recorder, watcher, follower
        await watcher.close()
        await waiter.close()
        await wait_for(lambda: len(room._subscribers) == 1, what="both let go")
        methods = [r["frame"]["method"] for r in log_records(engine, room.id)]
        assert methods.count(F.PEER_JOINED) == 2 and methods.count(F.PEER_LEFT) == 1
        gate.touch()  # the turn the waiter left behind still runs to its end
        await idle(room)
        assert room.state.turns_started == 1 and not server._followers


async def test_more_clients_than_allowed_are_turned_away(tmp_path):
    async with served(tmp_path / "h", max_clients=2) as (engine, server):
        first, second = await Client.open(server.path), await Client.open(server.path)
        third = await Client.open(server.path, hello=False)
        answer = await third.read()
        assert answer["error"]["code"] == P.TOO_MANY_CLIENTS
        assert await third.at_eof()
        await first.close()
        await wait_for(lambda: len(server._tasks) == 1, what="first to be let go")
        assert (await (await Client.open(server.path)).request("ping"))["ok"]
        assert (await second.request("ping"))["ok"]


def test_peer_credentials_of_a_connection_are_checked():
    from amux_tui.engine.control_socket import PeerCredentials, peer_allowed, peer_credentials

    a, b = socket.socketpair(socket.AF_UNIX)
    with a, b:
        creds = peer_credentials(a)
        assert creds is not None and creds.uid == os.geteuid() and creds.pid == os.getpid()
        assert peer_allowed(creds)
    assert not peer_allowed(PeerCredentials(123, os.geteuid() + 1))
    assert not peer_allowed(None)  # a platform that cannot say who connected: refused


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another user")
async def test_a_client_of_another_user_is_refused(tmp_path):
    import tempfile

    home = tempfile.mkdtemp(dir="/tmp", prefix="amux-uid-")
    try:
        async with served(home) as (engine, server):
            # Open the way through the file system so only the peer check stands in between.
            for path in (home, engine.paths.rooms_dir):
                os.chmod(path, 0o711)
            os.chmod(server.path, 0o666)
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: nobody (65534) connects and reports what it got
                try:
                    os.close(read_fd)
                    os.setgid(65534)
                    os.setuid(65534)
                    sock = socket.socket(socket.AF_UNIX)
                    sock.settimeout(20)
                    sock.connect(str(server.path))
                    data = sock.recv(65536)
                    os.write(write_fd, b"GOT " + data)
                except BaseException as exc:
                    os.write(write_fd, f"ERR {exc!r}".encode())
                finally:
                    os._exit(0)
            os.close(write_fd)
            await asyncio.to_thread(os.waitpid, pid, 0)
            with os.fdopen(read_fd, "rb") as f:
                got = f.read()
            assert got.startswith(b"GOT "), got
            assert b'"code":"forbidden"' in got and b"hello" not in got
            assert (await (await Client.open(server.path)).request("ping"))["ok"]  # we still may
    finally:
        import shutil

        shutil.rmtree(home, ignore_errors=True)


async def test_a_stale_socket_file_is_replaced_and_other_files_are_left_alone(tmp_path):
    from engine_helpers import open_engine

    from amux_tui.engine.control import ControlServer

    engine = open_engine(tmp_path / "h")
    path = engine.paths.rooms_dir / "control.sock"
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(path))  # what a crashed amux leaves behind: a socket nobody listens on
    dead.close()
    server = ControlServer(engine)
    await server.start()
    assert (await (await Client.open(path)).request("ping"))["ok"]
    await server.stop()
    path.write_text("not a socket")
    with pytest.raises(OSError, match="not a socket"):
        await ControlServer(engine).start()
    assert path.read_text() == "not a socket"
    await engine.shutdown()


async def test_closing_a_room_ends_its_streams(tmp_path):
    gate = tmp_path / "gate"
    async with served(tmp_path / "h") as (engine, server):
        room, _ = await started_room(engine, demo_spec(AMUX_DEMO_GATE=str(gate)), title="B")
        watcher, waiter = await _watcher_and_waiter(server)
        control = await Client.open(server.path)
        answer = await control.request("close", room="B")
        assert answer["ok"] and "archive" in answer["archive"]
        events = await watcher.until(lambda e: e.get("event") == "closed")
        assert events[-1]["reason"] == "room closed"
        settled = await waiter.read()  # closing cancels the running turn first
        assert settled["outcome"] == "cancelled" and settled["reason"] == "app_exit"
        assert room.id not in engine.rooms
        assert (await control.request("show", room="B"))["error"]["code"] == P.NO_ROOM


async def test_stopping_the_server_ends_every_stream(tmp_path):
    gate = tmp_path / "gate"
    async with served(tmp_path / "h") as (engine, server):
        await started_room(engine, demo_spec(AMUX_DEMO_GATE=str(gate)), title="B")
        watcher, waiter = await _watcher_and_waiter(server)
        idle_client = await Client.open(server.path)  # between requests: simply let go
        await server.stop()
        assert await idle_client.at_eof()
        events = await watcher.until(lambda e: e.get("event") == "closed")
        assert events[-1]["reason"] == "amux quit"
        settled = await waiter.read()
        assert settled["outcome"] == "interrupted" and settled["reason"] == "amux quit"
        assert not server.path.exists()


async def test_new_rename_show_ls_through_the_socket(tmp_path):
    class Listener(EngineListener):
        def __init__(self) -> None:
            self.added: list[tuple[str, bool]] = []
            self.closed: list[str] = []

        def room_added(self, room, *, focus):
            self.added.append((room.title, focus))

        def room_closed(self, room_id):
            self.closed.append(room_id)

    async with served(tmp_path / "h") as (engine, server):
        listener = Listener()
        engine.add_listener(listener)
        client = await Client.open(server.path)
        cwd = str(tmp_path)
        a = await client.request("new", title="A", cwd=cwd)
        b = await client.request("new", title="B", cwd=cwd, background=True)
        assert listener.added == [("A", True), ("B", False)]
        assert (await client.request("new", agent="nope", cwd=cwd))["error"]["code"] == P.REFUSED
        bad_cwd = await client.request("new", cwd="relative/dir")
        assert bad_cwd["error"]["code"] == P.REFUSED
        both = await client.request("new", agent="demo", command="x")
        assert both["error"]["code"] == P.BAD_REQUEST
        renamed = await client.request("rename", room=a["roomId"], title="Alpha\x1b[31m")
        assert renamed["title"] == "Alpha[31m"  # control characters never reach a title
        rows = (await client.request("ls"))["rooms"]
        assert [(r["title"], r["state"], r["live"]) for r in rows] == [
            ("Alpha[31m", "not started", True), ("B", "not started", True),
        ]  # fmt: skip
        shown = (await client.request("show", room="B"))["room"]
        assert shown["roomId"] == b["roomId"] and shown["state"] == "not started"
        assert (await client.request("show", room="r-"))["error"]["message"].startswith("several")
        await client.request("close", room="B")
        assert listener.closed == [b["roomId"]]


async def test_ls_reports_live_state_and_real_last_activity(tmp_path):
    gate = tmp_path / "gate"
    async with served(tmp_path / "h") as (engine, server):
        room, _ = await started_room(engine, demo_spec(AMUX_DEMO_GATE=str(gate)), title="B")
        client = await Client.open(server.path)
        await client.request("send", room="B", text="/permission")
        await wait_for(lambda: room.pending_permissions, what="permission")
        await client.request("send", room="B", text="next")
        (row,) = (await client.request("ls"))["rooms"]
        assert (row["state"], row["needsYou"], row["queued"]) == ("busy", 1, 1)
        room.cancel()
        gate.touch()
        await idle(room)
        watcher = await Client.open(server.path)  # presence is no activity
        await watcher.request("watch", room="B")
        await watcher.until(lambda e: e.get("event") == "live")
        (row,) = (await client.request("ls"))["rooms"]
        assert (row["state"], row["needsYou"], row["queued"]) == ("ready", 0, 0)
        records = log_records(engine, room.id)
        activity = [r for r in records if r["frame"]["method"] not in (F.PEER_JOINED, F.PEER_LEFT)]
        assert records[-1]["frame"]["method"] == F.PEER_JOINED
        assert row["lastActivity"] == activity[-1]["recorded_at"]
