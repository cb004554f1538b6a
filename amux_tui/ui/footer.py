"""The footer's hints, generated from the key table for the current state (SPEC §1.1).

While the prefix is armed: every prefix command with a ``prefix_hint``. Otherwise: the
prefix, then the table's :data:`~amux_tui.ui.keys.FOOTER_ORDER` filtered by each command's
``hint_when`` (or ``when``), each shown with a key that works where the focus is.
"""

from __future__ import annotations

from amux_tui.ui.keymap import Keymap, expand, spec_display
from amux_tui.ui.keys import BY_ID, COMMANDS, FOOTER_ORDER, FOOTER_TAIL, Command, KeyState, Scope

Hint = tuple[str, str]


def usable_key(keymap: Keymap, command: Command, focus: Scope) -> str:
    """A key for ``command`` that works with ``focus``: a direct key, else the prefix key."""
    specs = keymap.keys_of(command.id)
    if specs and command.scope in (focus, Scope.MAIN):
        bound = expand(specs[0])[0]
        # A double press yields to the focused widget's own use of the key.
        if not (bound.twice and bound.key in keymap.scope_actions(focus)):
            return spec_display(specs[0], short=True)
    return keymap.prefix_display(command.id, first=True)


def footer_hints(keymap: Keymap, state: KeyState) -> tuple[list[Hint], list[Hint]]:
    """(hints, tail): the footer while the prefix is not armed."""
    hints: list[Hint] = [(keymap.prefix, "prefix")]
    tail: list[Hint] = []
    shown = dict(state.shown)
    for ids, out in ((FOOTER_ORDER, hints), (FOOTER_TAIL, tail)):
        for command_id in ids:
            command = BY_ID[command_id]
            if command.shows_hint(state):
                key = usable_key(keymap, command, state.focus)
                if command_id in shown and command.scope in (state.focus, Scope.MAIN):
                    key = shown[command_id]  # the key this terminal was seen to report
                if key:
                    out.append((key, command.hint_label(state)))
    return hints, tail


def prefix_hints(keymap: Keymap) -> tuple[list[Hint], list[Hint]]:
    """(hints, tail): the footer while the prefix is armed."""
    hints = [
        (spec_display(keymap.prefix_keys_of(c.id)[0]), c.prefix_hint)
        for c in COMMANDS
        if c.prefix_hint and keymap.prefix_keys_of(c.id)
    ]
    return hints, [(spec_display("escape", short=True), "cancel")]
