"""Where amux keeps things (SPEC §2): ``AMUX_HOME`` / ``--home`` or platformdirs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs


@dataclass(frozen=True, slots=True)
class Paths:
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

    def ensure_rooms_dir(self) -> Path:
        """Create the rooms directory (0700: transcripts hold secrets)."""
        ensure_private_dir(self.rooms_dir)
        return self.rooms_dir


def ensure_private_dir(path: Path) -> None:
    """``mkdir -p`` with mode 0700 for every directory amux creates."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
