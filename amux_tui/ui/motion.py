"""Motion that screenshots cannot hold still: spinners and blinking cursors.

``AmuxApp(motion=False)`` freezes both so SVG snapshots are identical from run to run.
"""

from __future__ import annotations

from textual.dom import DOMNode
from textual.widgets import Input, TextArea


def still_cursors(node: DOMNode) -> None:
    """Stop cursor blinking below ``node`` when the app runs without animation."""
    if getattr(node.app, "motion", True):
        return
    for widget in node.query("Input, TextArea"):
        if isinstance(widget, (Input, TextArea)):
            widget.cursor_blink = False
