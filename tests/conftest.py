"""Shared fixtures: an isolated amux home and fast demo-agent settings."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# Shared 2-core CI machines are noisy: judge properties, not how fast examples generate.
settings.register_profile("amux", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("amux")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Every test gets its own AMUX_HOME so nothing touches the user's rooms."""
    home = tmp_path / "amux-home"
    monkeypatch.setenv("AMUX_HOME", str(home))
    monkeypatch.setenv("AMUX_DEMO_STATE", str(home / "demo-agent"))
    monkeypatch.setenv("AMUX_DEMO_CHUNK_DELAY", os.environ.get("AMUX_TEST_CHUNK_DELAY", "0.001"))
    yield home
