"""The base of amux's dialogs."""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen

ResultT = TypeVar("ResultT")


class Dialog(ModalScreen[ResultT]):
    """A modal screen that closes at most once.

    Keys typed ahead (a second enter, an escape) can reach a dialog after it already
    dismissed itself; dismissing again would pop the main screen.
    """

    AUTO_FOCUS = "*"  # the app itself auto-focuses nothing; dialogs focus their first field

    def close(self, result: ResultT) -> None:
        if self.is_current:
            self.dismiss(result)
