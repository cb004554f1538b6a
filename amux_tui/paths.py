"""Where amux keeps things (SPEC §2): ``AMUX_HOME`` / ``--home`` or platformdirs."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import platformdirs

from amux_tui.private import check_dir, ensure_private_dir


class Paths(msgspec.Struct, frozen=True):
    """Resolved locations of config, rooms and the app log."""

    config_file: Path
    rooms_dir: Path
    log_file: Path
    demo_state_dir: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None) -> Paths:
        """Use ``home`` if given, else ``$AMUX_HOME``, else the platform directories."""
        home = home or os.environ.get("AMUX_HOME") or None
        if home:
            root = Path(home).expanduser().absolute()
            return cls(root / "agents.toml", root / "rooms", root / "amux.log", root / "demo-agent")
        data = Path(platformdirs.user_data_dir("amux"))
        return cls(
            Path(platformdirs.user_config_dir("amux")) / "agents.toml",
            data / "rooms",
            Path(platformdirs.user_log_dir("amux")) / "amux.log",
            data / "demo-agent",
        )

    @property
    def home(self) -> Path:
        """The directory holding ``rooms/`` (``$AMUX_HOME``, or the platform data dir)."""
        return self.rooms_dir.parent

    def ensure_rooms_dir(self) -> Path:
        """Create the home and its rooms directory 0700 (parents included), or verify
        existing ones: another user's, or group/world-writable, is refused with
        :class:`~amux_tui.private.UnsafePath` (transcripts hold secrets, and room
        metadata names the command amux runs)."""
        ensure_private_dir(self.home)
        return ensure_private_dir(self.rooms_dir)

    def check_rooms_dir(self) -> bool:
        """For commands that only read: verify the home and rooms directory without
        creating anything. False when there is no rooms directory yet."""
        for directory in (self.home, self.rooms_dir):
            try:
                check_dir(directory)
            except FileNotFoundError:
                return False
        return True
