"""The permission prompt of a room (SPEC §1.4, §4.5): the oldest pending request first.

It never takes the focus by itself, and nothing typed elsewhere reaches it: only its own
key (the key table's ``answer_permission``, ``ctrl+g`` by default, named on the panel)
focuses it. Focused, its keys answer (the key table's permission commands; defaults):
``1``–``9`` pick an option by position; ``a`` allow once, ``A`` allow always, ``r`` reject
once, ``R`` reject always (the first option of that kind); ``escape`` answers
``cancelled``. Each option shows the one key that picks it: its kind's letter, or its digit
when an earlier option has that kind already.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import events
from textual.content import Content
from textual.message import Message
from textual.widget import Widget

from amux_tui.engine.transcript_blocks import Permission, as_str
from amux_tui.text import one_line
from amux_tui.ui.keymap import DEFAULT_KEYMAP, Keymap, spec_display
from amux_tui.ui.keys import BY_ID, Scope

KINDS = ("allow_once", "allow_always", "reject_once", "reject_always")
"""Option kinds of ACP; each is also the id of the key table's command that picks it."""


def answerable(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The options that have an id (anything else cannot be answered)."""
    return [o for o in options if isinstance(o.get("optionId"), str)]


def content_detail(tool_call: dict[str, Any] | None) -> str | None:
    """First line of the asking tool call's text content, or the file a diff edits."""
    content = tool_call.get("content") if tool_call else None
    if not isinstance(content, list):
        return None
    for item in content:
        inner = item.get("content") if isinstance(item, dict) else None
        if isinstance(inner, dict) and isinstance(inner.get("text"), str):
            text = inner["text"].strip()
            return text.splitlines()[0] if text else None
        if (
            isinstance(item, dict)
            and item.get("type") == "diff"
            and isinstance(item.get("path"), str)
        ):
            return f"edit {item['path']}"
    return None


def option_keys(options: list[dict[str, Any]], keymap: Keymap) -> list[str]:
    """The key shown for (and picking) each option: the first option of a kind gets the
    kind's letter, any other its position's digit (none past the ninth)."""
    keys, seen = [], set()
    for n, option in enumerate(options, start=1):
        kind = option.get("kind")
        if kind in KINDS and kind not in seen:
            seen.add(kind)
            keys.append(keymap.key_for(kind))
        else:
            keys.append(keymap.key_for("pick_option", n) if n <= 9 else "")
    return keys


class PermissionPanel(Widget):
    """Shows the first pending permission request of a room and answers it by key.

    Focusable only once armed (:meth:`arm`) by the deliberate key, and only until it loses the
    focus: neither tab nor a click can land on it by accident.

    Args:
        keymap: where the keys shown on the panel come from (its bindings are the table's;
            an app with other keys rebinds them through ``App.set_keymap``).
    """

    can_focus = True
    BINDINGS = DEFAULT_KEYMAP.bindings(Scope.PERMISSION)

    @dataclass
    class Answered(Message):
        """The user picked ``option_id`` (None = cancelled) for ``request_id``."""

        panel: PermissionPanel
        request_id: Any
        option_id: str | None

    def __init__(self, keymap: Keymap = DEFAULT_KEYMAP, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keymap = keymap
        self.request: Permission | None = None
        self.more = 0
        self._armed = False

    def allow_focus(self) -> bool:
        return self._armed and self.request is not None

    def arm(self) -> None:
        """The deliberate key was pressed: the panel may take the focus (until it loses it)."""
        self._armed = True

    def on_focus(self, event: events.Focus) -> None:
        self.refresh(layout=True)

    def on_blur(self, event: events.Blur) -> None:
        # The terminal losing the focus blurs us too; it gives the focus back on return.
        if self.app.app_focus:
            self._armed = False
        self.refresh(layout=True)

    def set_pending(self, pending: list[Permission]) -> None:
        """Show the head of the FIFO (or hide when nothing is pending)."""
        request = pending[0] if pending else None
        more = max(0, len(pending) - 1)
        if request is self.request and more == self.more:
            return  # unchanged: a layout here would repaint the whole screen
        self.request, self.more = request, more
        self.display = request is not None
        self.refresh(layout=True)

    @property
    def request_id(self) -> Any:
        return self.request.request_id if self.request is not None else None

    @property
    def options(self) -> list[dict[str, Any]]:
        return answerable(self.request.options) if self.request is not None else []

    def render(self) -> Content:
        return self._content(self.size.width)

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return len(self._content(width).wrap(max(1, width)))

    def _content(self, width: int) -> Content:
        """The request, then its options packed into lines so that none is split."""
        request = self.request
        if request is None:
            return Content("")
        title, kind = request.title, request.tool_kind
        detail = content_detail(request.tool_call)
        lines: list[Content] = []
        more = (f"  (+{self.more} more)", "$text-muted") if self.more else ""
        lines.append(
            Content.assemble(("! Permission needed: ", "bold $error"), (one_line(title, 120), "bold"),
                             (f"  [{kind}]" if kind else "", "$text-muted"), more)
        )  # fmt: skip
        if detail:
            lines.append(Content.assemble(("  ", ""), (one_line(detail, 160), "$text-muted")))
        keymap = self.keymap
        chunks: list[Content] = []
        options = self.options
        for option, key in zip(options, option_keys(options, keymap), strict=True):
            if not key:
                continue
            name = as_str(option.get("name")) or option["optionId"]
            chunks.append(
                Content.assemble((f" {spec_display(key)} ", "reverse bold $accent"),
                                 f" {one_line(name, 40)}")
            )  # fmt: skip
        if self.has_focus:
            chunks.append(
                Content.assemble((keymap.display("cancel_request", short=True), "bold"),
                                 (f" {BY_ID['cancel_request'].name}", "$text-muted"))
            )  # fmt: skip
        lines.extend(_pack(chunks, width))
        if not self.has_focus:
            answer = keymap.display("answer_permission")
            lines.append(
                Content.assemble((f" {answer} ", "reverse bold $warning"),
                                 " to answer — until then, what you type stays in the prompt")
            )  # fmt: skip
        return Content("\n").join(lines)

    def _answer(self, option_id: str | None) -> None:
        if self.request is None:
            return
        self.post_message(self.Answered(self, self.request_id, option_id))

    def action_pick(self, n: int) -> None:
        options = self.options
        if 1 <= n <= len(options):
            self._answer(options[n - 1]["optionId"])
        else:
            self.app.bell()

    def action_kind(self, kind: str) -> None:
        for option in self.options:
            if option.get("kind") == kind:
                self._answer(option["optionId"])
                return
        self.app.bell()
        self.notify(f"this request offers no {kind.replace('_', ' ')} option", severity="warning")

    def action_dismiss(self) -> None:
        self._answer(None)


def _pack(chunks: list[Content], width: int, gap: int = 3) -> list[Content]:
    """Chunks side by side, a new line where the next one would not fit whole."""
    lines: list[list[Content]] = []
    used = 0
    for chunk in chunks:
        size = chunk.cell_length
        if lines and used + gap + size <= width:
            lines[-1].append(chunk)
            used += gap + size
        else:
            lines.append([chunk])
            used = size
    return [Content(" " * gap).join(line) for line in lines]
