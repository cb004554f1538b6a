"""The footer: the keys that matter right now, and ``PREFIX`` while ``ctrl+b`` is armed."""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget


class KeyBar(Widget):
    """One line of ``key description`` pairs with an optional mode badge in front."""

    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; background: $panel; color: $text-muted; }
    KeyBar.-prefix { background: $warning 30%; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.badge: str | None = None
        self.hints: list[tuple[str, str]] = []

    def set_hints(self, hints: list[tuple[str, str]], badge: str | None = None) -> None:
        if hints == self.hints and badge == self.badge:
            return
        self.hints, self.badge = hints, badge
        self.set_class(badge == "PREFIX", "-prefix")
        self.refresh()

    @property
    def plain(self) -> str:
        return self.render().plain

    def render(self) -> Content:
        parts: list[tuple[str, str] | str] = []
        if self.badge:
            parts.append((f" {self.badge} ", "bold reverse $warning"))
            parts.append(" ")
        for key, description in self.hints:
            parts.append((f" {key}", "bold $accent"))
            parts.append(f" {description} ")
        return Content.assemble(*parts)
