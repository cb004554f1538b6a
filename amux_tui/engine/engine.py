"""The set of rooms of one rooms directory: discovery, hydration, creation, closing.

``Engine`` owns the single-writer lock, the agents config and ``layout.json``. It never
imports Textual; the UI drives it through its methods and subscribes to rooms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path
from typing import Any

from amux_tui.engine import frames as F
from amux_tui.engine.config import DEMO_AGENT, AgentsConfig, AgentSpec, load_config, spec_from_meta
from amux_tui.engine.connection import AgentLaunch
from amux_tui.engine.lifecycle import Lifecycle
from amux_tui.engine.loader import LoadResult
from amux_tui.engine.lock import RoomsLock
from amux_tui.engine.meta import Layout, RoomMeta
from amux_tui.engine.model import RoomModel
from amux_tui.engine.room import Room
from amux_tui.engine.store import (
    ReplayLog,
    archive_room,
    list_room_logs,
    new_room_id,
    room_id_ok,
    write_json_atomic,
)
from amux_tui.engine.timeutil import now_rfc3339
from amux_tui.paths import Paths
from amux_tui.text import plain

logger = logging.getLogger("amux.engine")

WELCOME = (
    "Welcome to amux! This room runs the built-in demo agent: try a prompt, or /help for its "
    "scenarios (/tool, /plan, /permission, /compact, /slow, /flood …). To add real agents, "
    'put them in agents.toml (e.g. [agents.claude] command = "claude-agent-acp"), then '
    "press {new_room} for a new room."
)


def discover_room_ids(rooms_dir: Path) -> list[str]:
    """Rooms present on disk: every ``<id>.jsonl`` and every ``<id>.json`` metadata file."""
    ids = set(list_room_logs(rooms_dir))
    try:
        for path in rooms_dir.glob("*.json"):
            if room_id_ok(path.stem) and path.name != "layout.json":
                ids.add(path.stem)
    except OSError:
        pass
    return sorted(ids)


class Engine:
    """All rooms of one amux home, in display order."""

    def __init__(self, paths: Paths, config: AgentsConfig | None = None) -> None:
        self.paths = paths
        self.config = config if config is not None else load_config(paths.config_file)
        self.rooms: dict[str, Room] = {}
        self.layout = Layout()
        self.lock: RoomsLock | None = None

    # ---- opening ------------------------------------------------------------------------------
    def open(self) -> None:
        """Take the lock, read layout and every room's metadata (fast; logs load later)."""
        rooms_dir = self.paths.ensure_rooms_dir()
        self.lock = RoomsLock(rooms_dir)
        self.lock.acquire()
        self.layout = Layout.read(rooms_dir / "layout.json")
        ids = discover_room_ids(rooms_dir)
        order = [r for r in self.layout.order if r in ids] + [
            r for r in ids if r not in self.layout.order
        ]
        for room_id in order:
            meta = RoomMeta.read(rooms_dir / f"{room_id}.json", room_id)
            self.rooms[room_id] = self._make_room(meta)
        if self.layout.focused not in self.rooms:
            self.layout.focused = order[0] if order else None

    def _make_room(self, meta: RoomMeta, spec: AgentSpec | None = None) -> Room:
        rooms_dir = self.paths.rooms_dir
        if spec is None:
            spec = spec_from_meta(meta.agent, self.config) if meta.agent else None
        launch = None
        if spec is not None:
            env = dict(spec.env)
            if spec.name == DEMO_AGENT.name:
                env.setdefault("AMUX_DEMO_STATE", str(self.paths.demo_state_dir))
            launch = AgentLaunch(
                spec.argv,
                meta.cwd or os.getcwd(),
                env,
                stderr_detection=spec.hermes_compaction,
            )
        return Room(
            meta,
            launch,
            rooms_dir / f"{meta.room_id}.jsonl",
            meta_path=rooms_dir / f"{meta.room_id}.json",
        )

    async def load(self, room: Room) -> Room:
        """Hydrate a room from its log (in a worker thread) and open its log for appends."""
        await room.load()
        return room

    async def activate(self, room: Room) -> Room:
        """Make a room usable: hydrate it if needed and start its agent if it never ran.

        An exited or failed room is left alone: restarting it is the user's call (a failed
        resume never retries in a loop, SPEC §3.4).
        """
        await room.load()
        if room.status is Lifecycle.NOT_STARTED:
            room.ensure_started()
        return room

    async def start_eager(self, first: str | None = None, *, parallel: int = 2) -> None:
        """``resume = "eager"``: start every room, at most ``parallel`` handshakes at a time."""
        gate = asyncio.Semaphore(parallel)
        order = sorted(self.rooms.values(), key=lambda r: r.id != first)

        async def one(room: Room) -> None:
            async with gate:
                await room.load()
                task = room.ensure_started()
                if task is not None:
                    await asyncio.shield(task)

        await asyncio.gather(*(one(room) for room in order), return_exceptions=True)

    async def load_all(self, first: str | None = None) -> None:
        """Hydrate ``first`` (the focused room), then the others one at a time."""
        if first in self.rooms:
            await self.rooms[first].load()
        for room in list(self.rooms.values()):
            await room.load()

    # ---- creating and closing -------------------------------------------------------------------
    def create_room(
        self,
        spec: AgentSpec,
        *,
        cwd: str | os.PathLike[str] | None = None,
        title: str | None = None,
    ) -> Room:
        """A new room (not started). Its id is generated, never derived from the title."""
        room_id = new_room_id(self.rooms)
        now = now_rfc3339()
        meta = RoomMeta(
            room_id=room_id,
            title=plain(title) or f"{spec.name}-{len(self.rooms) + 1}",
            agent=spec.to_meta(),
            cwd=str(Path(cwd).expanduser().absolute()) if cwd else os.getcwd(),
            created_at=now,
            last_active=now,
        )
        room = self._make_room(meta, spec)
        room.open_log(RoomModel(room_id), ReplayLog.open(room.log_path, LoadResult()), LoadResult())
        if plain(title):  # the user named it: the name sticks (an agent's title does not win)
            room.record(F.amux_frame(F.ROOM_RENAMED, room_id, title=meta.title, initial=True))
        room.save_meta()
        self.rooms[room_id] = room
        self.layout.order = list(self.rooms)
        self.save_layout()
        return room

    def create_first_run_room(self, new_room_key: str = "ctrl+b c") -> Room:
        """First run: one demo room with a welcome note on adding real agents (and the key
        that makes a new room, as the UI binds it)."""
        room = self.create_room(DEMO_AGENT, cwd=os.getcwd(), title="demo")
        welcome = WELCOME.format(new_room=new_room_key)
        room.record(F.amux_frame(F.NOTICE, room.id, text=welcome, level="info"))
        return room

    async def close_room(self, room_id: str) -> Path | None:
        """Stop the agent and archive the room's files (never deleted)."""
        room = self.rooms.pop(room_id, None)
        if room is None:
            return None
        await room.close()
        archived = archive_room(self.paths.rooms_dir, room_id)
        if self.layout.focused == room_id:
            self.layout.focused = next(iter(self.rooms), None)
        self.layout.order = list(self.rooms)
        self.save_layout()
        return archived

    def move_room(self, room_id: str, index: int) -> None:
        order = [r for r in self.rooms if r != room_id]
        order.insert(max(0, min(index, len(order))), room_id)
        self.rooms = {r: self.rooms[r] for r in order}
        self.layout.order = order
        self.save_layout()

    def save_layout(self) -> None:
        self.layout.order = list(self.rooms)
        try:
            write_json_atomic(self.paths.rooms_dir / "layout.json", self.layout.to_json())
        except OSError as exc:
            logger.error("could not save layout: %s", exc)

    def find(self, ref: str) -> Room | None:
        """A room by id, exact title, or unique id/title prefix."""
        return resolve_room_ref(ref, {r.id: r.title for r in self.rooms.values()}, self.rooms)

    def emergency_stop(self) -> None:
        """Save what can be saved, synchronously and from any thread, when the UI is gone
        for good (its terminal vanished): logs synced, metadata written, agents stopped."""
        for room in list(self.rooms.values()):
            with contextlib.suppress(Exception):
                if room.loaded:
                    room.log.sync()
            with contextlib.suppress(Exception):
                room.save_meta()
            proc = room.agent.proc
            if proc is not None and proc.pid and proc.returncode is None:
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(Exception):
            self.save_layout()

    async def shutdown(self) -> None:
        """Clean quit: cancel active turns, stop agents, sync logs and metadata."""
        self.save_layout()
        # Every room, loaded or not: one still loading may have a start waiting for it.
        await asyncio.gather(
            *(room.close() for room in self.rooms.values()), return_exceptions=True
        )
        if self.lock is not None:
            self.lock.release()
            self.lock = None


def resolve_room_ref(ref: str, titles: dict[str, str], values: dict[str, Any]) -> Any:
    """Resolve ROOM (id, title, or a unique prefix of either); None when unknown/ambiguous."""
    if ref in values:
        return values[ref]
    exact = [rid for rid, title in titles.items() if title == ref]
    if len(exact) == 1:
        return values[exact[0]]
    prefix = {rid for rid, title in titles.items() if rid.startswith(ref) or title.startswith(ref)}
    if len(prefix) == 1:
        return values[prefix.pop()]
    return None
