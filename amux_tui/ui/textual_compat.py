"""The one place amux reaches into Textual's private API (checked against Textual 8.2.8).

Keep this module small: everything here may break on a Textual release (the dependency
policy in ``pyproject.toml`` allows only this module to rely on private API). The rest of the
UI, the key path included, uses public API only.
"""

from __future__ import annotations

from typing import Any

from textual.app import App


def write_to_terminal(app: App[Any], sequence: str) -> bool:
    """Write an escape sequence straight to the terminal; False when there is none (headless).

    Why private: Textual has no public way to send a raw sequence (``App.bell`` does the
    same internally for BEL). amux needs it for OSC 9 desktop notifications.
    """
    driver = app._driver
    if driver is None or app.is_headless:
        return False
    driver.write(sequence)
    driver.flush()
    return True
