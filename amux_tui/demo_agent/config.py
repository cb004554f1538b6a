"""Environment knobs of the demo agent (documented in the package docstring)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec


def _flag(env: Mapping[str, str], name: str) -> bool:
    """True for ``1``/``true``/``yes``/``on`` (any case); anything else is off."""
    return env.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    """A non-negative float from ``env``, falling back to ``default`` on junk."""
    try:
        value = float(env.get(name, ""))
    except ValueError:
        return default
    return value if value >= 0 else default


def _default_state_dir() -> Path:
    """The amux data dir's ``demo-agent`` folder (honours ``$AMUX_HOME``)."""
    from amux_tui.paths import Paths

    return Paths.resolve().demo_state_dir


class Knobs(msgspec.Struct, frozen=True):
    """Behaviour switches read once at startup."""

    state_dir: Path
    chunk_delay: float = 0.03
    no_load: bool = False
    no_resume: bool = False
    resume_replays: bool = False
    fail_load: bool = False
    resume_forks: bool = False
    protocol_version: int = 1
    auth_required: bool = False
    ignore_cancel: bool = False
    gate: Path | None = None
    stdout_report: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Knobs:
        """Read every ``AMUX_DEMO_*`` variable from ``env`` (default: ``os.environ``)."""
        env = os.environ if env is None else env
        state = env.get("AMUX_DEMO_STATE")
        gate = env.get("AMUX_DEMO_GATE")
        try:
            version = int(env.get("AMUX_DEMO_PROTOCOL_VERSION", "1"))
        except ValueError:
            version = 1
        return cls(
            state_dir=Path(state).expanduser() if state else _default_state_dir(),
            chunk_delay=_float(env, "AMUX_DEMO_CHUNK_DELAY", 0.03),
            no_load=_flag(env, "AMUX_DEMO_NO_LOAD"),
            no_resume=_flag(env, "AMUX_DEMO_NO_RESUME"),
            resume_replays=_flag(env, "AMUX_DEMO_RESUME_REPLAYS"),
            fail_load=_flag(env, "AMUX_DEMO_FAIL_LOAD"),
            resume_forks=_flag(env, "AMUX_DEMO_RESUME_FORKS"),
            protocol_version=version,
            auth_required=_flag(env, "AMUX_DEMO_AUTH_REQUIRED"),
            ignore_cancel=_flag(env, "AMUX_DEMO_IGNORE_CANCEL"),
            gate=Path(gate).expanduser() if gate else None,
            stdout_report=Path(env["AMUX_DEMO_STDOUT_REPORT"])
            if env.get("AMUX_DEMO_STDOUT_REPORT")
            else None,
        )
