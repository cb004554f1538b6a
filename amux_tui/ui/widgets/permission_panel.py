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

from amux_tui.text import one_line

KIND_KEYS = {"allow_once": "a", "allow_always": "A", "reject_once": "r", "reject_always": "R"}


def options_of(params: Any) -> list[dict[str, Any]]:
    """The request's options that have an id (anything else cannot be answered)."""
    options = params.get("options") if isinstance(params, dict) else None
    if not isinstance(options, list):
        return []
    return [o for o in options if isinstance(o, dict) and isinstance(o.get("optionId"), str)]


def tool_summary(params: Any) -> tuple[str, str | None, str | None]:
    """(title, kind, first line of text content) of the tool call asking permission."""
    call = params.get("toolCall") if isinstance(params, dict) else None
    call = call if isinstance(call, dict) else {}
    title = call.get("title") if isinstance(call.get("title"), str) else "a tool call"
    kind = call.get("kind") if isinstance(call.get("kind"), str) else None
    detail = None
    content = call.get("content")
    if isinstance(content, list):
        for item in content:
            inner = item.get("content") if isinstance(item, dict) else None
            if isinstance(inner, dict) and isinstance(inner.get("text"), str):
                detail = inner["text"].strip().splitlines()[0] if inner["text"].strip() else None
                break
            if (
                isinstance(item, dict)
                and item.get("type") == "diff"
                and isinstance(item.get("path"), str)
            ):
                detail = f"edit {item['path']}"
                break
    return title, kind, detail


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
        self.request_id: Any = None
        self.params: Any = None
        self.more = 0

    def set_pending(self, pending: list[Any]) -> None:
        """Show the head of the FIFO (or hide when nothing is pending)."""
        head = pending[0] if pending else None
        self.request_id = head.request_id if head else None
        self.params = head.params if head else None
        self.more = max(0, len(pending) - 1)
        self.display = head is not None
        self.refresh(layout=True)

    @property
    def options(self) -> list[dict[str, Any]]:
        return options_of(self.params)

    def render(self) -> Content:
        if self.params is None:
            return Content("")
        title, kind, detail = tool_summary(self.params)
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
        if self.params is None:
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
