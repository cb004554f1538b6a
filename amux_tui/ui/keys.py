"""The one key table: every command amux has, its name, its default keys and its footer hint.

Everything keyboard-facing is generated from :data:`COMMANDS` (through
:class:`~amux_tui.ui.keymap.Keymap`, which resolves the keys at app start): the Textual
bindings of the app and the widgets, the prompt's own keys, the prefix commands, the footer
hints (:mod:`~amux_tui.ui.footer`), the help screen and the command palette. Nothing else
spells a key.

Key specs are Textual key names (``ctrl+pageup``, ``shift+enter``) or the character typed
(``,``, ``&``, ``A``). Two forms are amux's own: ``alt+{1-9}`` is a family of keys whose
digit becomes the command's argument, and ``escape escape`` is the same key pressed twice
within a second.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING

import msgspec

from amux_tui.engine.lifecycle import Lifecycle

if TYPE_CHECKING:
    from amux_tui.engine.room import Room

PREFIX = "ctrl+b"
"""The default prefix: pressed first, the next key is a command (tmux style)."""


class Scope(StrEnum):
    """Where a command's direct keys apply (its prefix keys work anywhere on the main screen)."""

    MAIN = "main"  # the main screen, whatever has focus: app bindings and the prefix
    PROMPT = "prompt"  # the prompt has focus: keys the prompt handles before typing them
    PERMISSION = "permission"  # the permission prompt has focus
    TRANSCRIPT = "transcript"  # the transcript has focus
    FIND = "find"  # the find bar has focus
    COPY = "copy"  # copy mode (its status bar has focus)


class KeyState(msgspec.Struct, frozen=True):
    """What decides whether a command applies right now (and what its hint says)."""

    room: Room | None  # the focused room
    focus: Scope = Scope.MAIN  # the scope of the focused widget
    following: bool = True  # the focused room's transcript follows new output
    tiled: bool = False
    shown: tuple[tuple[str, str], ...] = ()  # command id → the key hints name (what works here)


Condition = Callable[[KeyState], bool]
Label = str | Callable[[KeyState], str]


# ---- conditions: when a command applies, or when its footer hint shows -------------------------
def always(state: KeyState) -> bool:
    return True


def has_room(state: KeyState) -> bool:
    return state.room is not None


def turn_running(state: KeyState) -> bool:
    return state.room is not None and state.room.busy


def queue_held(state: KeyState) -> bool:
    return state.room is not None and state.room.queue_held


def queue_not_empty(state: KeyState) -> bool:
    return state.room is not None and bool(state.room.public_queue)


def restartable(state: KeyState) -> bool:
    return state.room is not None and state.room.status not in (
        Lifecycle.STARTING,
        Lifecycle.BUSY,
    )


def agent_stopped(state: KeyState) -> bool:
    return state.room is not None and state.room.stopped


def not_following(state: KeyState) -> bool:
    return state.room is not None and not state.following


def permission_waiting(state: KeyState) -> bool:
    """A permission request of the focused room waits for an answer."""
    return state.room is not None and bool(state.room.pending_permissions)


def permission_waiting_elsewhere(state: KeyState) -> bool:
    """A permission request waits and the permission prompt does not have the focus."""
    return permission_waiting(state) and state.focus is not Scope.PERMISSION


def held_label(state: KeyState) -> str:
    held = sum(1 for q in state.room.queue if q.held) if state.room is not None else 0
    return f"release {held} held" if held else "release queue"


class Command(msgspec.Struct, frozen=True):
    """One entry of the key table.

    Attributes:
        id: stable identifier (what a config file will name to rebind it); for app commands
            also the name the app's command runner knows it by.
        name: what help and the command palette call it (the same words in both).
        description: one line of detail after the name.
        scope: where the direct ``keys`` apply.
        keys: default direct keys.
        keys_note: when the direct keys work, as help shows it next to them.
        prefix: default keys after the prefix (main screen, any focus).
        action: the Textual action the keys run in their scope. None: the app's command
            runner (``command('<id>')``; ``twice('<id>')`` for a double press). Arguments
            may use ``{n}``, the digit of a key family.
        builtin: the keys are Textual's own (focus movement): listed, not bound by amux.
        when: the command applies only then (otherwise hidden from footer and palette, and
            its keys do nothing but say ``unavailable``).
        unavailable: why it does not apply (``{status}`` is the room's state); "" = a bell.
        hint: footer label while the prefix is not armed ("" = not in that footer).
        hint_when: the hint shows only then (default: ``when``).
        prefix_hint: footer label while the prefix is armed ("" = not shown).
        palette: offered in the command palette (app commands only).
    """

    id: str
    name: str
    description: str = ""
    scope: Scope = Scope.MAIN
    keys: tuple[str, ...] = ()
    keys_note: str = ""
    prefix: tuple[str, ...] = ()
    action: str | None = None
    builtin: bool = False
    when: Condition = always
    unavailable: str = ""
    hint: Label = ""
    hint_when: Condition | None = None
    prefix_hint: str = ""
    palette: bool = True

    def hint_label(self, state: KeyState) -> str:
        return self.hint(state) if callable(self.hint) else self.hint

    def shows_hint(self, state: KeyState) -> bool:
        condition = self.hint_when or self.when
        return bool(self.hint) and condition(state)

    @property
    def title(self) -> str:
        """The name as a palette entry: capitalised."""
        return self.name[:1].upper() + self.name[1:]


COMMANDS: tuple[Command, ...] = (
    # ---- rooms (prefix commands, in the order help lists them) --------------------------------
    Command("new_room", "new room", "agent, directory, title",
            prefix=("c",), hint="new room", prefix_hint="new"),
    Command("next_room", "next room",
            keys=("ctrl+pagedown",), prefix=("n", "o", "tab"), prefix_hint="next"),
    Command("prev_room", "previous room",
            keys=("ctrl+pageup",), prefix=("p",), prefix_hint="prev"),
    Command("jump", "jump to room", "by number; 0 is the 10th",
            keys=("alt+{1-9}",), prefix=("{0-9}",), prefix_hint="room N", palette=False),
    Command("last_room", "last room", "the previously focused one",
            prefix=("l",), prefix_hint="last"),
    Command("pick_room", "pick room", "fuzzy filter",
            prefix=("w",), hint="rooms", prefix_hint="pick"),
    Command("attention", "next room that needs you", "else the next unread",
            prefix=("a",), prefix_hint="needs you"),
    Command("rename_room", "rename room", prefix=(",",), when=has_room, prefix_hint="rename"),
    Command("close_room", "close room", "its log is archived",
            prefix=("&",), when=has_room, prefix_hint="close"),
    Command("toggle_layout", "toggle layout", "single / tiled", prefix=("z",),
            hint=lambda s: "single" if s.tiled else "tiled", prefix_hint="layout"),
    Command("restart_room", "restart agent", "and resume its session (sending a prompt does too)",
            prefix=("r",),
            when=restartable, unavailable="the agent is {status}; cancel first or use force stop",
            hint="restart", hint_when=agent_stopped, prefix_hint="restart"),
    Command("inspect", "inspect room", "inspector: snapshot, stderr, log",
            prefix=("i",), when=has_room, prefix_hint="inspect"),
    Command("toggle_thoughts", "toggle thoughts", "show or hide agent thoughts",
            prefix=("t",), when=has_room),
    Command("jump_to_end", "jump to end", "and follow new output",
            scope=Scope.TRANSCRIPT, keys=("end",), prefix=("e", "end"), action="jump_to_end",
            when=has_room, hint="↓ new output: follow", hint_when=not_following),
    Command("unqueue_last", "remove last queued prompt", prefix=("q",),
            when=queue_not_empty, unavailable="the queue is empty"),
    Command("force_stop", "force stop agent", "when it ignores cancel",
            prefix=("k",), when=turn_running, unavailable="no turn is running"),
    Command("help", "help", "every key", prefix=("?",), hint="help", prefix_hint="help"),
    # ---- find and copy ----------------------------------------------------------------------
    Command("find", "find in room", "highlight as you type; enter / shift+enter walk the hits",
            keys=("ctrl+f",), prefix=("/",), when=has_room, prefix_hint="find"),
    Command("find_rooms", "find in every room", "open and closed rooms; enter opens the hit",
            prefix=("f",), prefix_hint="find all"),
    Command("copy_mode", "copy mode", "move a cursor, select, y copies",
            prefix=("[",), when=has_room, prefix_hint="copy"),
    Command("copy_reply", "copy last reply", "the agent's last message, as text",
            prefix=("y",), when=has_room, prefix_hint="copy reply"),
    Command("copy_code", "copy last code block", "in copy mode: c, the one under the cursor",
            prefix=("Y",), when=has_room),
    # ---- anywhere on the main screen ------------------------------------------------------------
    Command("release_queue", "release held queue", "prompts held after a restart",
            keys=("ctrl+r",), when=queue_held, unavailable="nothing is held in this room's queue",
            hint=held_label),
    Command("answer_permission", "answer permission",
            "focus the permission prompt; only then do its keys answer",
            keys=("ctrl+g",), when=permission_waiting,
            unavailable="no permission request is waiting in this room",
            hint="answer permission", hint_when=permission_waiting_elsewhere),
    Command("cancel_turn", "cancel turn", "if ignored, again to force stop",
            keys=("escape escape",), when=turn_running,
            hint=lambda s: "force stop" if s.room and s.room.force_stop_available else "cancel"),
    Command("focus_next", "next field", "queue, transcript",
            keys=("tab",), builtin=True, palette=False),
    Command("focus_previous", "previous field", keys=("shift+tab",), builtin=True, palette=False),
    Command("command_palette", "command palette", "every room action by name",
            keys=("ctrl+p",), action="command_palette", palette=False, hint="commands"),
    Command("quit", "quit", "asks first when a room is busy",
            keys=("ctrl+q",), hint="quit"),
    # ---- the prompt (handled by the prompt before it types the key) ---------------------------
    Command("send", "send", "queued while the agent is busy", scope=Scope.PROMPT,
            keys=("enter",), action="submit", palette=False,
            hint=lambda s: "queue" if s.room and s.room.busy else "send", hint_when=has_room),
    Command("newline", "newline", "shift+enter where the terminal reports it",
            scope=Scope.PROMPT, keys=("ctrl+j", "alt+enter", "shift+enter"),
            action="newline", palette=False, hint="newline", hint_when=has_room),
    Command("complete", "complete command", "the agent's slash commands, after /",
            scope=Scope.PROMPT, keys=("tab",), action="complete", palette=False),
    Command("history_back", "history back", "on the first line",
            scope=Scope.PROMPT, keys=("up",), action="history(-1)", palette=False),
    Command("history_forward", "history forward", "on the last line",
            scope=Scope.PROMPT, keys=("down",), action="history(1)", palette=False),
    Command("steer", "steer", "the running turn with this text",
            scope=Scope.PROMPT, keys=("ctrl+s",), action="steer", palette=False,
            hint="steer", hint_when=turn_running),
    Command("transcript_page_up", "scroll transcript up", "a page; the prompt keeps the focus",
            scope=Scope.PROMPT, keys=("pageup", "shift+pageup"), action="transcript_page(-1)",
            palette=False),
    Command("transcript_page_down", "scroll transcript down", "a page",
            scope=Scope.PROMPT, keys=("pagedown", "shift+pagedown"),
            action="transcript_page(1)", palette=False),
    Command("transcript_top", "transcript start", scope=Scope.PROMPT, keys=("ctrl+home",),
            action="transcript_home", palette=False),
    Command("transcript_end", "transcript end", "and follow new output", scope=Scope.PROMPT,
            keys=("ctrl+end",), action="transcript_end", palette=False),
    # ---- the permission prompt ------------------------------------------------------------------
    Command("pick_option", "pick option", "by its position", scope=Scope.PERMISSION,
            keys=("{1-9}",), action="pick({n})", palette=False, hint="pick"),
    Command("allow_once", "allow once", scope=Scope.PERMISSION, keys=("a",),
            action="kind('allow_once')", palette=False, hint="allow"),
    Command("allow_always", "allow always", scope=Scope.PERMISSION, keys=("A", "shift+a"),
            action="kind('allow_always')", palette=False, hint="always"),
    Command("reject_once", "reject once", scope=Scope.PERMISSION, keys=("r",),
            action="kind('reject_once')", palette=False, hint="reject"),
    Command("reject_always", "reject always", scope=Scope.PERMISSION, keys=("R", "shift+r"),
            action="kind('reject_always')", palette=False, hint="never"),
    Command("cancel_request", "cancel request",
            'answers "cancelled": most agents then end the turn', scope=Scope.PERMISSION,
            keys=("escape",), action="dismiss", palette=False, hint="cancel request"),
    # ---- the transcript -------------------------------------------------------------------------
    Command("scroll_up", "scroll up", scope=Scope.TRANSCRIPT, keys=("up",),
            action="scroll_lines(-1)", palette=False),
    Command("scroll_down", "scroll down", scope=Scope.TRANSCRIPT, keys=("down",),
            action="scroll_lines(1)", palette=False),
    Command("page_up", "page up", scope=Scope.TRANSCRIPT, keys=("pageup",),
            action="scroll_pages(-1)", palette=False),
    Command("page_down", "page down", scope=Scope.TRANSCRIPT, keys=("pagedown",),
            action="scroll_pages(1)", palette=False),
    Command("scroll_top", "scroll to top", scope=Scope.TRANSCRIPT, keys=("home",),
            action="scroll_home", palette=False),
    Command("fold", "fold / unfold", "block under the mouse, or the last",
            scope=Scope.TRANSCRIPT, keys=("enter",), action="toggle_here",
            palette=False),
    Command("hit_next", "next hit", "after a search (tab from the find bar)",
            scope=Scope.TRANSCRIPT, keys=("n",), action="find_step(1)", palette=False),
    Command("hit_previous", "previous hit", "after a search", scope=Scope.TRANSCRIPT,
            keys=("N", "shift+n"), action="find_step(-1)", palette=False),
    # ---- the find bar -------------------------------------------------------------------------
    Command("find_next", "next hit", scope=Scope.FIND, keys=("enter", "down"),
            action="step(1)", palette=False, hint="next"),
    Command("find_previous", "previous hit", scope=Scope.FIND, keys=("shift+enter", "up"),
            action="step(-1)", palette=False, hint="previous"),
    Command("find_done", "stay here", "close the bar at the hit; n / N walk on",
            scope=Scope.FIND, keys=("tab",), action="done", palette=False, hint="stay"),
    Command("find_cancel", "back", "close the bar, back to where you were",
            scope=Scope.FIND, keys=("escape",), action="cancel", palette=False, hint="back"),
    Command("find_regex", "regex on / off", scope=Scope.FIND, keys=("alt+r",),
            action="toggle_regex", palette=False, hint="regex"),
    # ---- copy mode ----------------------------------------------------------------------------
    Command("copy_left", "left", scope=Scope.COPY, keys=("h", "left"), action="move(0, -1)",
            palette=False),
    Command("copy_down", "down", scope=Scope.COPY, keys=("j", "down"), action="move(1, 0)",
            palette=False),
    Command("copy_up", "up", scope=Scope.COPY, keys=("k", "up"), action="move(-1, 0)",
            palette=False),
    Command("copy_right", "right", scope=Scope.COPY, keys=("l", "right"), action="move(0, 1)",
            palette=False),
    Command("copy_word", "next word", scope=Scope.COPY, keys=("w",), action="word(1)",
            palette=False),
    Command("copy_word_back", "previous word", scope=Scope.COPY, keys=("b",),
            action="word(-1)", palette=False),
    Command("copy_line_start", "line start", scope=Scope.COPY, keys=("0", "home"),
            action="line_edge(0)", palette=False),
    Command("copy_line_end", "line end", scope=Scope.COPY, keys=("$", "end"),
            action="line_edge(1)", palette=False),
    Command("copy_top", "top", scope=Scope.COPY, keys=("g",), action="edge(0)", palette=False),
    Command("copy_bottom", "bottom", scope=Scope.COPY, keys=("G", "shift+g"), action="edge(1)",
            palette=False),
    Command("copy_page_up", "page up", scope=Scope.COPY, keys=("pageup", "ctrl+u"),
            action="page(-1)", palette=False),
    Command("copy_page_down", "page down", scope=Scope.COPY, keys=("pagedown", "ctrl+d"),
            action="page(1)", palette=False),
    Command("copy_select", "select", "characters from the cursor", scope=Scope.COPY,
            keys=("v", "space"), action="select(False)", palette=False, hint="select"),
    Command("copy_select_lines", "select lines", scope=Scope.COPY, keys=("V", "shift+v"),
            action="select(True)", palette=False, hint="lines"),
    Command("copy_yank", "copy", "the selection (or the line) to the clipboard",
            scope=Scope.COPY, keys=("y", "enter"), action="yank", palette=False, hint="copy"),
    Command("copy_code_here", "copy code block", "the one under the cursor", scope=Scope.COPY,
            keys=("c",), action="copy_code", palette=False, hint="code"),
    Command("copy_find", "find", "search, then n / N", scope=Scope.COPY, keys=("/",),
            action="find", palette=False, hint="find"),
    Command("copy_hit_next", "next hit", scope=Scope.COPY, keys=("n",), action="hit(1)",
            palette=False),
    Command("copy_hit_previous", "previous hit", scope=Scope.COPY, keys=("N", "shift+n"),
            action="hit(-1)", palette=False),
    Command("copy_quit", "leave copy mode", scope=Scope.COPY, keys=("escape", "q"),
            action="leave", palette=False, hint="leave"),
)  # fmt: skip
"""Every command, in the order help lists them."""

FOOTER_ORDER: tuple[str, ...] = (
    "jump_to_end", "restart_room", "answer_permission", "release_queue", "send", "newline",
    "steer", "cancel_turn", "cancel_request", "pick_option", "allow_once", "allow_always",
    "reject_once", "reject_always", "find_next", "find_previous", "find_done", "find_cancel",
    "find_regex", "copy_select", "copy_select_lines", "copy_yank", "copy_code_here",
    "copy_find", "copy_quit", "help", "pick_room", "toggle_layout", "new_room",
    "command_palette",
)  # fmt: skip
"""Footer hints, most important first (what does not fit is dropped from the end)."""

FOOTER_TAIL: tuple[str, ...] = ("quit",)
"""Hints that always show, at the right edge of the footer."""

HELP_SECTIONS: tuple[tuple[str, Scope], ...] = (
    ("Anywhere", Scope.MAIN),
    ("Prompt", Scope.PROMPT),
    ("Permission prompt (when it has focus)", Scope.PERMISSION),
    ("Transcript (when it has focus)", Scope.TRANSCRIPT),
    ("Find bar", Scope.FIND),
    ("Copy mode", Scope.COPY),
)
"""Help sections of direct keys, after the prefix commands."""

BY_ID: dict[str, Command] = {command.id: command for command in COMMANDS}
