"""Every line the transcript view paints for a transcript, and its Markdown export.

The view (``TranscriptView``) paints what its :class:`TranscriptLayout` renders; this
renders all of it at one width (with the default palette and no cache limit), so a test
can compare a whole transcript live and after a restart, not just one screen.
"""

from __future__ import annotations

from rich.console import Console

from amux_tui.engine.export import export_markdown
from amux_tui.engine.room import Room
from amux_tui.engine.transcript import Transcript
from amux_tui.ui.render_blocks import Palette
from amux_tui.ui.widgets.transcript_layout import TranscriptLayout


def view_lines(transcript: Transcript, width: int = 100) -> list[str]:
    """The view's lines, right-stripped, from the first to the last."""
    blocks = transcript.blocks
    layout = TranscriptLayout(max_lines=1 << 30)
    layout.sync(blocks, width, True)
    console = Console(width=width, color_system=None, force_terminal=False)
    palette = Palette()
    while layout.ensure(0, layout.total, blocks, console, palette):
        pass  # heights were estimates: render again until every line is where it stays
    out = []
    for y in range(layout.total):
        line = layout.line(y)
        assert line is not None, f"line {y} was not rendered"
        out.append("".join(seg.text for seg in line).rstrip())
    return out


def room_export(room: Room) -> str:
    """The room's Markdown export, as ``amux export`` writes it."""
    return export_markdown(
        room.transcript, title=room.title, room_id=room.id, agent="test", cwd=None
    )
