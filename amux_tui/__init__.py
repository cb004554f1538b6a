"""amux: a terminal multiplexer for AI coding agents that speak ACP."""

from __future__ import annotations

__version__ = "0.1.0"
