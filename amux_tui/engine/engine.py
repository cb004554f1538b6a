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

import msgspec

from amux_tui.acp.pacing import Pacer
from amux_tui.engine import frames as F
from amux_tui.engine.archive import ArchivedRoom, list_archived, restore_room, unique_title
from amux_tui.engine.config import DEMO_AGENT, AgentsConfig, AgentSpec, load_config, spec_from_meta
from amux_tui.engine.connection import AgentLaunch
from amux_tui.engine.lifecycle import Lifecycle
from amux_tui.engine.loader import LoadResult
from amux_tui.engine.lock import RoomsLock
from amux_tui.engine.meta import Layout, RoomMeta, keep_corrupt_copy
from amux_tui.engine.model import RoomModel
from amux_tui.engine.room import Room
from amux_tui.engine.rooms_dir import discover_room_ids, resolve_room_ref
from amux_tui.engine.store import (
    ReplayLog,
    archive_room,
    new_room_id,
    write_json_atomic,
)
from amux_tui.engine.timeutil import now_rfc3339
from amux_tui.paths import Paths
from amux_tui.text import plain

logger = logging.getLogger("amux.engine")

EXIT_UNWRITTEN = 3  # exit status when a quit left recorded frames or metadata off the disk

WELCOME = (
    "Welcome to amux! This room runs the built-in demo agent: try a prompt, or /help for its "
    "scenarios (/tool, /plan, /permission, /compact, /slow, /flood …). To add real agents, "
    'put them in agents.toml (e.g. [agents.claude] command = "claude-agent-acp"), then '
    "press {new_room} for a new room."
)


class EngineListener:
    """Told when the set of rooms changes, whoever changed it (a dialog, the control socket).

    Every call happens on the engine's event loop; subclasses override what they need.
    """

    def room_added(self, room: Room, *, focus: bool) -> None:
        """``room`` was created; ``focus``: whoever created it wants it in front."""

    def room_closing(self, room: Room) -> None:
        """``room`` is about to stop and be archived (it is still open): let go of it."""

    def room_closed(self, room_id: str) -> None:
        """The room is gone from :attr:`Engine.rooms` and its files are archived."""


class Unwritten(msgspec.Struct, frozen=True):
    """Something a quit could not write (SPEC §5.2: never dropped silently).

    ``what`` is ``"log"`` (``frames`` records, ``size`` bytes), ``"metadata"`` or
    ``"layout"``; ``room_id`` is None for the layout."""

    what: str
    room_id: str | None
    title: str
    path: Path
    frames: int
    size: int
    error: str | None

    def describe(self) -> str:
        """One line for people: what, of which room, why."""
        why = f" ({self.error})" if self.error else ""
        if self.what == "log":
            frames = f"{self.frames} frame{'s' if self.frames != 1 else ''}"
            return f"{self.title}: {frames} ({self.size:,} bytes) not in {self.path}{why}"
        owner = f"{self.title}: " if self.room_id else ""
        return f"{owner}{self.what} not written to {self.path}{why}"


class Engine:
    """All rooms of one amux home, in display order."""

    def __init__(self, paths: Paths, config: AgentsConfig | None = None) -> None:
        self.paths = paths
        self.config = config if config is not None else load_config(paths.config_file)
        self.rooms: dict[str, Room] = {}
        self.layout = Layout()
        self.lock: RoomsLock | None = None
        self.listeners: list[EngineListener] = []
        self.layout_error: str | None = None  # the last layout write failed
        self.quit_notes: list[str] = []  # what happened to unwritten data, for after the UI
        # Every agent's output shares the loop through this (a UI holds it while a key is
        # on its way to the screen: input goes first).
        self.pacer = Pacer()
        # Closed (archived) rooms whose last frames the disk did not take yet: still ours
        # to write (into the archive) and to list at quit.
        self._archived_pending: list[Room] = []

    def add_listener(self, listener: EngineListener) -> None:
        if listener not in self.listeners:
            self.listeners.append(listener)

    def remove_listener(self, listener: EngineListener) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)

    def _tell(self, event: str, *args: Any, **kw: Any) -> None:
        for listener in tuple(self.listeners):
            try:
                getattr(listener, event)(*args, **kw)
            except Exception:  # one broken listener must not break the others
                logger.exception("engine listener failed on %s", event)

    # ---- opening ------------------------------------------------------------------------------
    def open(self) -> None:
        """Verify the home, take the lock, read layout and every room's metadata (fast;
        logs load later).

        Raises :class:`~amux_tui.private.UnsafePath` for a home or rooms directory that
        another user owns or that others may write (with the fix in the message), and
        :class:`~amux_tui.engine.lock.StoreLockedError` if another amux owns it.
        """
        rooms_dir = self.paths.ensure_rooms_dir()
        self.lock = RoomsLock(rooms_dir)
        self.lock.acquire()
        self.layout = Layout.read(rooms_dir / "layout.json")
        ids = discover_room_ids(rooms_dir)
        order = [r for r in self.layout.order if r in ids] + [
            r for r in ids if r not in self.layout.order
        ]
        for room_id in order:
            self.rooms[room_id] = self._open_room(room_id)
        if self.layout.focused not in self.rooms:
            self.layout.focused = order[0] if order else None

    def _open_room(self, room_id: str) -> Room:
        """A room found on disk; metadata amux cannot fully read is kept as ``.corrupt``,
        rebuilt from the log where it can be, and the room asks for the rest."""
        path = self.paths.rooms_dir / f"{room_id}.json"
        try:
            meta, problem = RoomMeta.load(path, room_id)
        except OSError as exc:  # refused (a symlink, FIFO, another user's file…)
            meta, problem = RoomMeta(room_id=room_id, title=room_id), str(exc)
        else:
            if problem is not None and problem != "is missing":
                copy = keep_corrupt_copy(path)
                if copy is not None:
                    problem += f"; a copy is kept as {copy.name}"
        if problem is not None:
            logger.warning("room %s: metadata %s %s", room_id, path, problem)
        room = self._make_room(meta, trusted=problem is None or meta.launchable)
        room.meta_problem = problem
        return room

    def _make_room(
        self, meta: RoomMeta, spec: AgentSpec | None = None, *, trusted: bool = True
    ) -> Room:
        rooms_dir = self.paths.rooms_dir
        if spec is None and trusted:
            spec = spec_from_meta(meta.agent, self.config) if meta.agent else None
        launch = self._launch(spec, meta.cwd) if spec is not None else None
        return Room(
            meta,
            launch,
            rooms_dir / f"{meta.room_id}.jsonl",
            meta_path=rooms_dir / f"{meta.room_id}.json",
            pacer=self.pacer,
        )

    def _launch(self, spec: AgentSpec, cwd: str) -> AgentLaunch:
        env = dict(spec.env)
        if spec.name == DEMO_AGENT.name:
            env.setdefault("AMUX_DEMO_STATE", str(self.paths.demo_state_dir))
        return AgentLaunch(
            spec.argv, cwd or os.getcwd(), env, stderr_detection=spec.hermes_compaction
        )

    def assign_agent(self, room: Room, spec: AgentSpec, cwd: str) -> None:
        """Give a room whose agent is unknown (missing or corrupt metadata) its agent and
        working directory, chosen by the user; saved with its metadata."""
        room.meta.agent = spec.to_meta()
        room.meta.cwd = cwd
        room.agent.launch = self._launch(spec, cwd)
        room.meta_problem = None
        room.save_meta()

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
        focus: bool = False,
    ) -> Room:
        """A new room (not started). Its id is generated, never derived from the title.

        Listeners hear of it (``focus`` is passed on: the creator wants it in front).
        """
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
        # On a full disk the metadata write fails: the room works in memory, shows the
        # error and writes it as soon as there is space again (or lists it at quit).
        if plain(title):  # the user named it: the name sticks (an agent's title does not win)
            room.record(F.amux_frame(F.ROOM_RENAMED, room_id, title=meta.title, initial=True))
        room.save_meta()
        self.rooms[room_id] = room
        self.layout.order = list(self.rooms)
        self.save_layout()
        self._tell("room_added", room, focus=focus)
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
        room = self.rooms.get(room_id)
        if room is None:
            return None
        self._tell("room_closing", room)
        if self.rooms.pop(room_id, None) is None:
            return None  # a listener closed it meanwhile
        try:
            await room.close()
            archived = archive_room(self.paths.rooms_dir, room_id)
            if room.loaded and room.log.pending_bytes:
                # Its retries must follow the file into the archive, never recreate it here.
                room.log.path = archived / room.log.path.name
                self._archived_pending.append(room)
        finally:
            if self.layout.focused == room_id:
                self.layout.focused = next(iter(self.rooms), None)
            self.layout.order = list(self.rooms)
            self.save_layout()
            self._tell("room_closed", room_id)
        return archived

    def archived(self) -> list[ArchivedRoom]:
        """Closed rooms in the archive, most recently closed first."""
        return list_archived(self.paths.rooms_dir)

    async def reopen_room(self, archived: ArchivedRoom) -> Room:
        """Bring a closed room back (files moved back, same id when free), loaded and last
        in the room order. Its agent starts like any restored room's, resuming its session.

        A title another open room has becomes ``title (2)``; the rename is recorded.
        """
        room_id = restore_room(self.paths.rooms_dir, archived, self.rooms)
        meta = RoomMeta.read(self.paths.rooms_dir / f"{room_id}.json", room_id)
        room = self._make_room(meta)
        await room.load()
        titles = {r.title for r in self.rooms.values()}
        self.rooms[room_id] = room
        if room.title in titles:
            room.rename(unique_title(room.title, titles))
        self.layout.order = list(self.rooms)
        self.save_layout()
        self._tell("room_added", room, focus=False)
        return room

    def move_room(self, room_id: str, index: int) -> None:
        order = [r for r in self.rooms if r != room_id]
        order.insert(max(0, min(index, len(order))), room_id)
        self.rooms = {r: self.rooms[r] for r in order}
        self.layout.order = order
        self.save_layout()

    def save_layout(self) -> bool:
        """Write ``layout.json``; False (logged, listed at quit) if it failed."""
        self.layout.order = list(self.rooms)
        try:
            write_json_atomic(self.paths.rooms_dir / "layout.json", self.layout.to_json())
        except OSError as exc:
            if self.layout_error is None:
                logger.error("could not save layout: %s", exc)
            self.layout_error = str(exc.strerror or exc)
            return False
        self.layout_error = None
        return True

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

    async def shutdown(self) -> list[Unwritten]:
        """Clean quit: cancel active turns, stop agents, sync logs and metadata.

        Returns what could not be written (empty: everything is on disk). Nothing is
        dropped: while anything is unwritten the rooms lock stays held and the logs keep
        retrying in the background; then :meth:`retry_unwritten`,
        :meth:`save_unwritten` or :meth:`drop_unwritten` decide.
        """
        self.save_layout()
        # Every room, loaded or not: one still loading may have a start waiting for it.
        await asyncio.gather(
            *(room.close() for room in self.rooms.values()), return_exceptions=True
        )
        return self._settled()

    def unwritten(self) -> list[Unwritten]:
        """What is recorded or changed but not on disk, room by room."""
        out: list[Unwritten] = []
        self._archived_pending = [r for r in self._archived_pending if r.log.pending_bytes]
        for room in [*self.rooms.values(), *self._archived_pending]:
            if room.loaded and room.log.pending_bytes:
                log = room.log
                error = log.write_error
                out.append(
                    Unwritten("log", room.id, room.title, log.path, log.unwritten_frames,
                              log.pending_bytes, str(error) if error else None)
                )  # fmt: skip
            if room.meta_unsaved and room.meta_path is not None:
                out.append(
                    Unwritten("metadata", room.id, room.title, room.meta_path, 0, 0, room.meta_error)
                )  # fmt: skip
        if self.layout_error is not None:
            out.append(
                Unwritten("layout", None, "layout", self.paths.rooms_dir / "layout.json", 0, 0,
                          self.layout_error)
            )  # fmt: skip
        return out

    async def retry_unwritten(self) -> list[Unwritten]:
        """Try once more to write everything a quit could not; returns what is left."""

        def retry() -> None:
            for room in [*self.rooms.values(), *self._archived_pending]:
                if room.loaded and room.log.pending_bytes:
                    room.log.retry_unwritten()
                if room.meta_unsaved:
                    room.save_meta()
            if self.layout_error is not None:
                self.save_layout()

        await asyncio.to_thread(retry)
        return self._settled()

    def save_unwritten(self, directory: Path) -> list[Path]:
        """Write everything a quit could not into ``directory`` (created 0700 if missing;
        files 0600, never overwriting): ``<roomId>.jsonl.unwritten`` holds whole records
        that continue the room's log (``cat`` it onto the log once there is space),
        ``<roomId>.json`` / ``layout.json`` the metadata. Returns the files written.

        Raises ``OSError`` when ``directory`` cannot take them; nothing is forgotten then.
        """
        directory = Path(directory).expanduser()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        written: list[Path] = []
        for room in [*self.rooms.values(), *self._archived_pending]:
            if room.loaded and room.log.pending_bytes:
                dest = directory / f"{room.id}.jsonl.unwritten"
                room.log.save_unwritten(dest)
                written.append(dest)
                self.quit_notes.append(
                    f"frames of room {room.id} that did not fit were saved to {dest}; once "
                    f"there is space, run: cat '{dest}' >> '{room.log.path}'"
                )
            if room.meta_unsaved and room.meta_path is not None:
                dest = directory / f"{room.id}.json"
                write_json_atomic(dest, room.meta.to_json())
                room.forget_unsaved_meta()
                written.append(dest)
                self.quit_notes.append(
                    f"metadata of room {room.id} was saved to {dest}; once there is space, "
                    f"run: cp '{dest}' '{room.meta_path}'"
                )
        if self.layout_error is not None:
            dest = directory / "layout.json"
            write_json_atomic(dest, self.layout.to_json())
            self.layout_error = None
            written.append(dest)
        self._settled()
        return written

    def drop_unwritten(self) -> int:
        """Give up everything a quit could not write (the user's explicit choice);
        returns the log frames dropped. Logged."""
        frames = 0
        for room in [*self.rooms.values(), *self._archived_pending]:
            if room.loaded and room.log.pending_bytes:
                n = room.log.unwritten_frames
                frames += n
                room.log.drop_unwritten()
                self.quit_notes.append(f"DROPPED {n} frames of room {room.id} (disk full)")
            if room.meta_unsaved:
                logger.error("room %s: unsaved metadata dropped by the user", room.id)
                room.forget_unsaved_meta()
                self.quit_notes.append(f"DROPPED unsaved metadata of room {room.id}")
        self.layout_error = None
        self._settled()
        return frames

    def _settled(self) -> list[Unwritten]:
        """What is still unwritten; the lock is released once nothing is."""
        left = self.unwritten()
        if not left and self.lock is not None:
            self.lock.release()
            self.lock = None
        return left
