"""Copy mode (``ctrl+b [``): a keyboard cursor over the transcript, tmux style.

The transcript stops following; a cursor appears on the last line on screen. Keys (the key
table's ``copy`` scope): h j k l / arrows, w b, 0 $, g G, page up/down (ctrl+u ctrl+d),
v (characters) or V (lines) start a selection, y copies it (or the cursor's line) and
leaves, c copies the code block under the cursor, / searches (n / N walk the hits),
escape or q leave. Text is copied as shown on screen (what tmux copies), trailing blanks
cut. Copies go to the system clipboard with OSC 52 (:meth:`App.copy_to_clipboard`).

Also here: the quick copies (the last reply, a code block) and the helper that copies
and says what it copied.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App
from textual.binding import BindingType
from textual.widget import Widget
from textual.widgets import Static

from amux_tui.engine.transcript_blocks import AgentText, Block
from amux_tui.ui.keymap import DEFAULT_KEYMAP, Keymap
from amux_tui.ui.keys import Scope
from amux_tui.ui.widgets.find_bar import FindBar

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

    from amux_tui.ui.widgets.transcript_view import TranscriptView

__all__ = ["CopyModeBar", "code_blocks", "copy_text", "last_reply"]


@cache
def _fences() -> MarkdownIt:
    """A plain CommonMark parser to find code blocks (markdown-it imported on first use)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def copy_text(app: App[Any], text: str, what: str) -> None:
    """Put ``text`` on the system clipboard (OSC 52) and say what was copied."""
    if not text:
        app.bell()
        app.notify(f"nothing to copy ({what} is empty)", markup=False)
        return
    app.copy_to_clipboard(text)
    lines = text.count("\n") + 1
    app.notify(f"copied {what}: {lines} line{'s' if lines != 1 else ''}", timeout=2,
               markup=False)  # fmt: skip


def last_reply(blocks: list[Block]) -> str:
    """The text of the agent's last message ("" if it has none)."""
    for block in reversed(blocks):
        if isinstance(block, AgentText) and block.text.strip():
            return block.text
    return ""


def code_blocks(markdown: str) -> list[str]:
    """The code blocks (fenced or indented) of a Markdown text, in order."""
    return [
        token.content
        for token in _fences().parse(markdown)
        if token.type in ("fence", "code_block") and token.content.strip()
    ]


def code_block_at(blocks: list[Block], index: int, line: str) -> str:
    """The code block of message ``index`` (or the last message before it) whose text holds
    ``line`` (the cursor's line as shown), else that message's last code block."""
    needle = line.strip()
    for block in reversed(blocks[: index + 1]):
        if not isinstance(block, AgentText):
            continue
        found = code_blocks(block.text)
        if not found:
            continue
        if needle:
            for code in found:
                if needle in code:
                    return code
        return found[-1]
    return ""


class CopyModeBar(Static):
    """Copy mode of one transcript: the status line under it, which holds the focus and the
    keys while the mode lasts (the transcript paints the cursor and the selection).

    Args:
        view: the transcript.
        keymap: the app's keys (for the hints shown).
        back_to: the widget focused again when copy mode ends.
    """

    can_focus = True

    DEFAULT_CSS = """
    CopyModeBar { height: 1; background: $warning 30%; color: $text;
                  padding: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [*DEFAULT_KEYMAP.bindings(Scope.COPY)]

    def __init__(
        self, view: TranscriptView, keymap: Keymap = DEFAULT_KEYMAP, back_to: object = None
    ) -> None:
        super().__init__("", classes="copy-mode-bar")
        self.view = view
        self.keymap = keymap
        self.back_to = back_to

    def on_mount(self) -> None:
        view = self.view
        view.follow = False
        top = view.scroll_offset.y
        bottom = min(view.line_count, top + view.scrollable_content_region.height) - 1
        y = bottom
        texts = view.line_texts(top, bottom + 1)
        while y > top and not texts[y - top].strip():
            y -= 1  # the last line with text on screen, like tmux
        view.marks.cursor = view.point_at(y, 0)
        view.marks.mark = None
        self._update()
        self.focus()

    # ---- the cursor ----------------------------------------------------------------------------
    @property
    def _y(self) -> int:
        cursor = self.view.marks.cursor
        return self.view.point_y(cursor) if cursor is not None else 0

    @property
    def _x(self) -> int:
        cursor = self.view.marks.cursor
        return cursor[1] if cursor is not None else 0

    def _line(self, y: int) -> str:
        texts = self.view.line_texts(y, y + 1)
        return texts[0] if texts else ""

    def _put(self, y: int, x: int) -> None:
        view = self.view
        y = max(0, min(y, view.line_count - 1))
        x = max(0, min(x, max(0, len(self._line(y)) - 1)))
        view.marks.cursor = view.point_at(y, x)
        view.show_line(view.point_y(view.marks.cursor), margin=0)
        view.refresh()
        self._update()

    def action_move(self, dy: int, dx: int) -> None:
        self._put(self._y + dy, self._x + dx)

    def action_word(self, step: int) -> None:
        y, x = self._y, self._x
        line = self._line(y)
        if step > 0:
            i = x
            while i < len(line) and not line[i].isspace():
                i += 1
            while i < len(line) and line[i].isspace():
                i += 1
            if i >= len(line) and y + 1 < self.view.line_count:
                self._put(y + 1, len(self._line(y + 1)) - len(self._line(y + 1).lstrip()))
                return
            self._put(y, i)
        else:
            i = x - 1
            while i > 0 and line[i].isspace():
                i -= 1
            while i > 0 and not line[i - 1].isspace():
                i -= 1
            if x == 0 and y > 0:
                self._put(y - 1, len(self._line(y - 1)))
                return
            self._put(y, max(0, i))

    def action_line_edge(self, end: int) -> None:
        self._put(self._y, len(self._line(self._y)) if end else 0)

    def action_edge(self, end: int) -> None:
        self._put(self.view.line_count - 1 if end else 0, 0)

    def action_page(self, step: int) -> None:
        height = max(1, self.view.scrollable_content_region.height - 1)
        self._put(self._y + step * height, self._x)

    # ---- selecting and copying -------------------------------------------------------------------
    def action_select(self, lines: bool) -> None:
        """Start a selection at the cursor (again: switch characters / lines, or drop it)."""
        marks = self.view.marks
        if marks.mark is not None and marks.linewise == lines:
            marks.mark = None
        else:
            if marks.mark is None:
                marks.mark = marks.cursor
            marks.linewise = lines
        self.view.refresh()
        self._update()

    def action_yank(self) -> None:
        view = self.view
        if view.marks.mark is None:  # no selection: the cursor's line
            view.marks.mark, view.marks.linewise = view.marks.cursor, True
        text = view.copy_text()
        copy_text(self.app, text, "selection")
        self.action_leave()

    def action_copy_code(self) -> None:
        view, cursor = self.view, self.view.marks.cursor
        transcript = view.transcript
        if transcript is None or cursor is None:
            return
        code = code_block_at(transcript.blocks, cursor[0][0], self._line(self._y))
        copy_text(self.app, code, "code block")

    def action_find(self) -> None:
        pane = self.parent
        if not isinstance(pane, Widget):
            return
        bar = FindBar(self.view, self.keymap, back_to=self, on_close=self._found, stay_in=self)
        pane.mount(bar, after=self.view)

    def _found(self, at_hit: bool) -> None:
        if at_hit:
            self._to_current_hit()

    def action_hit(self, step: int) -> None:
        finder = self.view.finder
        if finder is None or not finder.step(step):
            self.app.bell()
            return
        self._to_current_hit()

    def _to_current_hit(self) -> None:
        current = self.view.marks.current
        if current is not None:
            anchor, start, _end = current
            self._put(self.view.point_y((anchor, start)), start)

    def action_leave(self) -> None:
        view = self.view
        view.marks.cursor = view.marks.mark = None
        view.refresh()
        back = self.back_to
        if back is not None and hasattr(back, "focus"):
            back.focus()  # type: ignore[attr-defined]
        self.remove()

    def _update(self) -> None:
        keymap = self.keymap
        marks = self.view.marks
        mode = "" if marks.mark is None else (" · LINES" if marks.linewise else " · SELECT")
        hints = "  ".join(
            f"{keymap.display(cid, short=True).split(', ')[0]} {label}"
            for cid, label in (("copy_select", "select"), ("copy_select_lines", "lines"),
                               ("copy_yank", "copy"), ("copy_code_here", "code"),
                               ("copy_find", "find"), ("copy_quit", "leave"))
        )  # fmt: skip
        self.update(f"COPY{mode}  line {self._y + 1}/{self.view.line_count}   {hints}")
