"""The footer: the keys that matter right now, and ``PREFIX`` while ``ctrl+b`` is armed."""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget

Hint = tuple[str, str]


class KeyBar(Widget):
    """One line of ``key description`` pairs, most important first, with an optional badge.

    Hints that do not fit are dropped from the end; ``tail`` hints (quit) always show, at
    the right edge.
    """

    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; background: $panel; color: $text-muted; }
    KeyBar.-prefix { background: $warning 30%; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.badge: str | None = None
        self.hints: list[Hint] = []
        self.tail: list[Hint] = []

    def set_hints(
        self, hints: list[Hint], badge: str | None = None, tail: list[Hint] | None = None
    ) -> None:
        tail = tail or []
        if hints == self.hints and badge == self.badge and tail == self.tail:
            return
        self.hints, self.badge, self.tail = hints, badge, tail
        self.set_class(badge == "PREFIX", "-prefix")
        self.refresh()

    @property
    def plain(self) -> str:
        return self.render().plain

    @staticmethod
    def _pieces(hints: list[Hint]) -> list[Content]:
        return [
            Content.assemble((f" {key}", "bold $accent"), f" {description} ")
            for key, description in hints
        ]

    def render(self) -> Content:
        width = self.size.width or 10_000
        head: list[Content] = []
        if self.badge:
            head.append(Content.assemble((f" {self.badge} ", "bold reverse $warning"), " "))
        tail = self._pieces(self.tail)
        room = width - sum(len(p) for p in head) - sum(len(p) for p in tail)
        body: list[Content] = []
        for piece in self._pieces(self.hints):
            if len(piece) > room:
                break
            body.append(piece)
            room -= len(piece)
        gap = Content(" " * max(0, room)) if tail else Content("")
        return Content("").join([*head, *body, gap, *tail])
