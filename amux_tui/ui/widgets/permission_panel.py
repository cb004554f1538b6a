"""The permission prompt of a room (SPEC §1.4, §4.5): the oldest pending request first.

Keys while it has focus: ``1``–``9`` pick an option by position; ``a`` allow once,
``A`` allow always, ``r`` reject once, ``R`` reject always (the first option of that kind);
``escape`` answers ``cancelled``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widget import Widget

from amux_tui.engine.transcript_blocks import Permission
from amux_tui.text import one_line

KIND_KEYS = {"allow_once": "a", "allow_always": "A", "reject_once": "r", "reject_always": "R"}


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


class PermissionPanel(Widget, can_focus=True):
    """Shows the first pending permission request of a room and answers it by key."""

    BINDINGS = [
        *(Binding(str(n), f"pick({n})", f"option {n}", show=False) for n in range(1, 10)),
        Binding("a", "kind('allow_once')", "allow once"),
        Binding("A,shift+a", "kind('allow_always')", "allow always"),
        Binding("r", "kind('reject_once')", "reject once"),
        Binding("R,shift+r", "kind('reject_always')", "reject always"),
        Binding("escape", "dismiss", "cancel request"),
    ]

    @dataclass
    class Answered(Message):
        """The user picked ``option_id`` (None = cancelled) for ``request_id``."""

        panel: PermissionPanel
        request_id: Any
        option_id: str | None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request: Permission | None = None
        self.more = 0

    def set_pending(self, pending: list[Permission]) -> None:
        """Show the head of the FIFO (or hide when nothing is pending)."""
        self.request = pending[0] if pending else None
        self.more = max(0, len(pending) - 1)
        self.display = self.request is not None
        self.refresh(layout=True)

    @property
    def request_id(self) -> Any:
        return self.request.request_id if self.request is not None else None

    @property
    def options(self) -> list[dict[str, Any]]:
        return answerable(self.request.options) if self.request is not None else []

    def render(self) -> Content:
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
        parts: list[tuple[str, str] | str] = []
        for n, option in enumerate(self.options[:9], start=1):
            name = option.get("name") if isinstance(option.get("name"), str) else option["optionId"]
            key = KIND_KEYS.get(option.get("kind", ""), "")
            parts.append((f" {n} ", "reverse bold $accent"))
            parts.append(f" {one_line(name, 40)}")
            if key:
                parts.append((f" ({key})", "$text-muted"))
            parts.append("   ")
        parts.append(("esc", "bold"))
        parts.append((" cancel", "$text-muted"))
        lines.append(Content.assemble(*parts))
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
