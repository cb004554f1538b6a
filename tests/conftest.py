"""Shared fixtures: an isolated amux home and fast demo-agent settings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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


@pytest.fixture
def mount_tmpfs(tmp_path):
    """``mount_tmpfs("64k")``: a small tmpfs (a disk that really fills up), unmounted after
    the test. Skips where tmpfs cannot be mounted (needs root and ``mount``)."""
    if sys.platform != "linux" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root and mount to create a small tmpfs")
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        mnt = tmp_path / f"tmpfs-{len(mounted)}"
        mnt.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(mnt)],
            capture_output=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount tmpfs: {done.stderr.decode(errors='replace').strip()}")
        mounted.append(mnt)
        return mnt

    yield mount
    for mnt in mounted:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
