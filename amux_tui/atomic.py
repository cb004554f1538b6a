"""Replacing a file atomically (imports nothing of amux: the demo agent uses it too)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def replace_atomically(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a 0600 temp file beside it, fsync, rename.

    Readers see the old file or the new one, never half of one. Raises on failure (the
    old file is then untouched and the temp file removed).
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:  # mkstemp creates it 0600
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
