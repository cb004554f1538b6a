"""The base of amux's dialogs."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from textual.app import App
from textual.css.query import NoMatches
from textual.screen import ModalScreen, Screen

ResultT = TypeVar("ResultT")


class Dialog(ModalScreen[ResultT]):
    """A modal screen that closes at most once.

    Keys typed ahead (a second enter, an escape) can reach a dialog after it already
    dismissed itself; dismissing again would pop the main screen.
    """

    AUTO_FOCUS = "*"  # the app itself auto-focuses nothing; dialogs focus their first field
    TYPING_TARGET: str | None = None
    """The field text goes to when it is typed on a button or a list (None: nowhere)."""

    def close(self, result: ResultT) -> None:
        if self.is_current:
            self.dismiss(result)


async def open_dialog(
    app: App[Any], screen: Screen[Any], callback: Callable[[Any], Any] | None = None
) -> None:
    """Push a dialog and give its first field focus *now*.

    Keys typed ahead (``ctrl+b c`` then at once the directory) must land in the dialog:
    ``Widget.focus()`` is deferred behind those already-queued keys, so the mount is
    awaited and focus set synchronously.
    """
    await app.push_screen(screen, callback)
    selector = screen.AUTO_FOCUS
    if selector:
        with contextlib.suppress(NoMatches):
            screen.set_focus(screen.query_one(selector))
