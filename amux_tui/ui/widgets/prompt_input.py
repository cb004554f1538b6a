"""The prompt input: a multi-line ``TextArea`` where enter sends (SPEC §1.4).

Its keys are the key table's prompt commands (defaults below), handled in ``_on_key``
before the text area would type them:

* ``enter`` sends; ``ctrl+j`` and ``alt+enter`` insert a newline, and ``shift+enter`` does
  where the terminal reports it (kitty keyboard protocol, modifyOtherKeys);
* ``up`` on the first line / ``down`` on the last line walk the room's prompt history
  (the text being written is kept and comes back after the newest entry);
* ``ctrl+s`` steers the active turn instead of queueing;
* ``pageup`` / ``pagedown``, ``ctrl+home`` / ``ctrl+end`` scroll the room's transcript while
  the focus stays here;
* after a ``/``, the agent's slash commands are offered (:class:`CommandMenu`): ``tab`` (or
  ``enter``) completes the highlighted one, ``up`` / ``down`` move through them.

No bare letter is a command here: what is typed is text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from textual import events
from textual.actions import SkipAction
from textual.message import Message
from textual.widgets import TextArea

from amux_tui.ui.keymap import DEFAULT_KEYMAP, lookup
from amux_tui.ui.keys import Scope
from amux_tui.ui.widgets.command_menu import CommandMenu

_COMPLETE = "complete"  # the action that only applies while the command menu is open


class PromptInput(TextArea):
    """Multi-line prompt with send, steer and per-room history.

    Args:
        keys: key → action of the prompt's own keys (default: the key table's).
        menu: the slash-command menu this prompt completes from (None: no completion).
    """

    @dataclass
    class Submitted(Message):
        """Enter pressed: send (or queue) the text."""

        prompt: PromptInput
        text: str

    @dataclass
    class Steered(Message):
        """``ctrl+s``: steer the active turn with the text."""

        prompt: PromptInput
        text: str

    @dataclass
    class ScrollTranscript(Message):
        """Scroll the room's transcript (a :class:`TranscriptView` action); focus stays here."""

        prompt: PromptInput
        action: str

    def __init__(
        self,
        text: str = "",
        *,
        history: Callable[[], list[str]] | None = None,
        keys: Mapping[str, str] | None = None,
        menu: CommandMenu | None = None,
        id: str | None = None,
        classes: str | None = None,
        placeholder: str = "",
    ) -> None:
        super().__init__(
            text, id=id, classes=classes, soft_wrap=True, show_line_numbers=False, tab_behavior="focus",
            placeholder=placeholder,
        )  # fmt: skip
        self._history = history or (lambda: [])
        self._history_index: int | None = None  # None = editing the live text
        self._stash = ""  # the live text while browsing history
        self._keys = dict(keys if keys is not None else DEFAULT_KEYMAP.scope_actions(Scope.PROMPT))
        self.menu = menu

    @property
    def completing(self) -> bool:
        """The slash-command menu is open for the text as it is now: tab, enter, up and down
        work it."""
        if self.menu is None:
            return False
        self.menu.sync(self.text)
        return self.menu.open

    def owns_key(self, key: str, character: str | None) -> bool:
        """Whether ``_on_key`` may handle the key (the app must deliver it here, in order)."""
        action = self._action_for(key, character)
        return action is not None and (action != _COMPLETE or self.completing)

    def _action_for(self, key: str, character: str | None) -> str | None:
        return lookup(self._keys, key, character)

    async def _on_key(self, event: events.Key) -> None:
        if not self.owns_key(event.key, event.character):
            return
        action = self._action_for(event.key, event.character)
        # An action that does not apply (SkipAction) leaves the key to the text area.
        if action is not None and await self.app.run_action(action, self):
            event.prevent_default()
            event.stop()

    # ---- the prompt's commands (actions of the key table) ----------------------------------
    def action_submit(self) -> None:
        if self.completing and self._complete():
            return
        self.post_message(self.Submitted(self, self._take()))

    def action_newline(self) -> None:
        self.insert("\n")

    def action_complete(self) -> None:
        if not self._complete():
            raise SkipAction()

    def action_history(self, step: int) -> None:
        """Walk the history from the first line (back) or the last line (forward); in the
        command menu, move its highlight."""
        if self.menu is not None and self.completing:
            self.menu.move(step)
            return
        row, last = self.cursor_location[0], self.document.line_count - 1
        if row != (0 if step < 0 else last) or not self._history_step(step):
            raise SkipAction()

    def action_steer(self) -> None:
        self.post_message(self.Steered(self, self._take()))

    def action_transcript_page(self, pages: int) -> None:
        self.post_message(self.ScrollTranscript(self, f"scroll_pages({pages})"))

    def action_transcript_home(self) -> None:
        self.post_message(self.ScrollTranscript(self, "scroll_home"))

    def action_transcript_end(self) -> None:
        self.post_message(self.ScrollTranscript(self, "jump_to_end"))

    def _complete(self) -> bool:
        """Put the highlighted slash command in the prompt; False when that changes nothing."""
        text = self.menu.chosen if self.menu is not None else None
        if text is None or self.text == text:
            return False  # nothing to complete, or already complete: enter sends it
        self.load_text(text)
        self.move_cursor(self.document.end)
        return True

    def _take(self) -> str:
        """The text to send, leaving the prompt empty *now*: keys typed right after enter
        belong to the next prompt (the app handles the message later)."""
        text = self.text
        if text.strip():
            self.clear()
            self.reset_history()
        return text

    def give_back(self, text: str) -> None:
        """The send was refused: put the text back in front of anything typed since."""
        rest = self.text
        self.load_text(text + ("\n" + rest if rest else ""))
        self.move_cursor(self.document.end)

    # ---- history ---------------------------------------------------------------------------
    def _history_step(self, step: int) -> bool:
        """Move through history; False when there is nowhere to go (let the cursor move)."""
        history = self._history()
        if not history:
            return False
        if self._history_index is None:
            if step > 0:
                return False
            self._stash = self.text
            index = len(history) - 1
        else:
            index = self._history_index + step
            if index < 0:
                return True  # oldest entry: stay, swallow the key
            if index >= len(history):
                self._history_index = None
                self._load(self._stash, at_end=True)
                return True
        self._history_index = index
        self._load(history[index], at_end=step > 0)
        return True

    def _load(self, text: str, *, at_end: bool) -> None:
        self.load_text(text)
        if at_end:
            self.move_cursor(self.document.end)
        else:
            # Going back: cursor on the first line so another `up` keeps walking.
            self.move_cursor((0, len(self.document.get_line(0))))

    def reset_history(self) -> None:
        """After sending: the next ``up`` starts from the newest entry again."""
        self._history_index = None
        self._stash = ""
