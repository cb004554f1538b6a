"""The key table resolved at app start: default keys, plus overrides, checked for clashes.

:class:`Keymap` is the only reader of the table's key specs. It gives every consumer the
keys in the form it needs:

* Textual :class:`~textual.binding.Binding` lists for the app (main screen) and the widgets
  whose scope is theirs (permission prompt, transcript). Each binding carries the command id
  as its Textual binding id, so :meth:`Keymap.textual_keymap` can rebind it at run time
  with Textual's own ``App.set_keymap``;
* the prompt's own keys (handled before the text area types them);
* the prefix commands;
* how each command's keys read in the footer, the help screen and the palette.

Class-level ``BINDINGS`` are generated from :data:`DEFAULT_KEYMAP`; an app started with
another keymap applies the difference through ``App.set_keymap``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

import msgspec
from textual.binding import Binding, BindingType
from textual.keys import Keys, key_to_character

from amux_tui.engine.config import AgentsConfig, ConfigProblem, KeyOverride
from amux_tui.ui.keys import BY_ID, COMMANDS, PREFIX, Command, Scope

_T = TypeVar("_T")
_FAMILY = re.compile(r"\{(\d)-(\d)\}")
_SHORT = {"escape": "esc"}


class KeymapError(ValueError):
    """A key spec that cannot be bound, or two commands on the same key."""


class BoundKey(msgspec.Struct, frozen=True):
    """One key of a command, after expanding its spec."""

    key: str  # a Textual key name, or the character typed
    args: tuple[int, ...] = ()  # the digit of a key family (``alt+{1-9}``)
    twice: bool = False  # pressed twice within a second (``escape escape``)


def expand(spec: str) -> list[BoundKey]:
    """The keys a spec stands for: ``ctrl+r``, ``,``, ``alt+{1-9}`` or ``escape escape``."""
    parts = spec.split()
    if len(parts) == 2 and parts[0] == parts[1]:
        if _FAMILY.search(parts[0]):
            raise KeymapError(f"{spec!r}: a key family cannot be pressed twice")
        return [BoundKey(parts[0], twice=True)]
    if len(parts) != 1:
        raise KeymapError(f"{spec!r}: one key, a family like alt+{{1-9}}, or a key twice")
    match = _FAMILY.search(spec)
    if match is None:
        return [BoundKey(spec)]
    low, high = int(match[1]), int(match[2])
    if low > high:
        raise KeymapError(f"{spec!r}: the range runs backwards")
    head, tail = spec[: match.start()], spec[match.end() :]
    return [BoundKey(f"{head}{n}{tail}", (n,)) for n in range(low, high + 1)]


def spec_display(spec: str, *, short: bool = False) -> str:
    """How a spec reads: ``alt+1 … alt+9``, ``0–9``, ``escape escape`` (``esc esc`` short)."""
    parts = spec.split()
    if len(parts) == 2:
        one = _SHORT.get(parts[0], parts[0]) if short else parts[0]
        return f"{one} {one}"
    match = _FAMILY.search(spec)
    if match is None:
        return _SHORT.get(spec, spec) if short else spec
    head, tail = spec[: match.start()], spec[match.end() :]
    if not head and not tail:
        return f"{match[1]}–{match[2]}"
    return f"{head}{match[1]}{tail} … {head}{match[2]}{tail}"


class Keymap:
    """Every command's keys: the table's defaults with ``keys`` / ``prefix_keys`` overrides.

    Args:
        prefix: the prefix key (``ctrl+b``).
        keys: command id → direct key specs that replace the table's.
        prefix_keys: command id → keys after the prefix that replace the table's.

    Overrides keep a command's shape: a key family stays a family of the same digits, a
    double press stays a double press. Keys may not clash within a scope, nor with the
    main screen's priority keys; Textual's own focus keys (tab) are not rebound.

    Raises:
        KeymapError: an unknown command, a malformed spec, or two commands on one key.
    """

    def __init__(
        self,
        prefix: str = PREFIX,
        keys: Mapping[str, Sequence[str]] | None = None,
        prefix_keys: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        keys, prefix_keys = dict(keys or {}), dict(prefix_keys or {})
        for command_id in (*keys, *prefix_keys):
            if command_id not in BY_ID:
                raise KeymapError(f"no such command: {command_id!r}")
        for command_id, specs in keys.items():
            _check_override(BY_ID[command_id], specs)
        if [BoundKey(prefix)] != expand(prefix):
            raise KeymapError(f"the prefix must be a single key, not {prefix!r}")
        for spec in (prefix, *(s for specs in (*keys.values(), *prefix_keys.values())
                               for s in specs)):  # fmt: skip
            for bound in expand(spec):
                if not valid_key(bound.key):
                    raise KeymapError(f"{bound.key!r} is not a key name (examples: ctrl+a, "
                                      "alt+enter, shift+tab, f5, pageup, a, A, ?)")  # fmt: skip
        self.prefix = prefix
        self._keys = {c.id: tuple(keys.get(c.id, c.keys)) for c in COMMANDS}
        self._prefix_keys = {c.id: tuple(prefix_keys.get(c.id, c.prefix)) for c in COMMANDS}
        self._expanded = {cid: _expand_all(specs) for cid, specs in self._keys.items()}
        self._expanded_prefix = {cid: _expand_all(s) for cid, s in self._prefix_keys.items()}
        self.priority_keys = frozenset(
            bound.key
            for command in COMMANDS
            if command.scope is Scope.MAIN and not command.builtin
            for bound in self._expanded[command.id]
            if not bound.twice
        )
        """Keys the app binds with priority (they work whatever has focus)."""
        self._check_clashes()
        # Looked up on every key press: indexed once.
        self._after_prefix = {
            b.key: (c, b.args) for c in COMMANDS for b in self._expanded_prefix[c.id]
        }
        self._main = {
            b.key: c
            for c in COMMANDS
            if c.scope is Scope.MAIN and not c.builtin
            for b in self._expanded[c.id]
        }

    # ---- looking keys up -----------------------------------------------------------------------
    def prefix_command(
        self, key: str, character: str | None
    ) -> tuple[Command, tuple[int, ...]] | None:
        """The command (and its arguments) for the key pressed after the prefix."""
        return lookup(self._after_prefix, key, character)

    def main_command(self, key: str, character: str | None) -> Command | None:
        """The app command a direct key on the main screen runs (None: not one of ours)."""
        return lookup(self._main, key, character)

    def is_prefix(self, key: str, character: str | None) -> bool:
        return lookup({self.prefix: True}, key, character) is not None

    def keys_of(self, command_id: str) -> tuple[str, ...]:
        """The command's direct key specs."""
        return self._keys[command_id]

    def prefix_keys_of(self, command_id: str) -> tuple[str, ...]:
        """The command's key specs after the prefix."""
        return self._prefix_keys[command_id]

    def key_for(self, command_id: str, arg: int | None = None) -> str:
        """The first direct key of a command (of a family: the member for ``arg``)."""
        for bound in self._expanded[command_id]:
            if arg is None or bound.args == (arg,):
                return bound.key
        return ""

    # ---- what Textual and the widgets bind -----------------------------------------------------
    def bindings(self, scope: Scope) -> list[BindingType]:
        """Textual bindings for the direct keys of ``scope`` (not the prompt: it owns its keys).

        Main-screen keys are priority bindings (they work whatever has focus), except a key
        pressed twice, which yields to a focused widget using that key (escape in the
        permission prompt).
        """
        out: list[BindingType] = []
        for command in COMMANDS:
            if command.scope is not scope or command.builtin:
                continue
            for bound in self._expanded[command.id]:
                out.append(
                    Binding(
                        bound.key,
                        self._action(command, bound),
                        command.name,
                        show=False,
                        priority=scope is Scope.MAIN and not bound.twice,
                        id=_binding_id(command, bound),
                    )
                )
        return out

    def scope_actions(self, scope: Scope) -> dict[str, str]:
        """Key → action of the commands of ``scope`` (the prompt handles these keys itself)."""
        return {
            bound.key: self._action(command, bound)
            for command in COMMANDS
            if command.scope is scope
            for bound in self._expanded[command.id]
        }

    def textual_keymap(self) -> dict[str, str]:
        """Binding id → keys, for ``App.set_keymap``: what differs from the default bindings."""
        out: dict[str, list[str]] = {}
        for command in COMMANDS:
            if command.builtin or command.scope is Scope.PROMPT:
                continue
            if self._keys[command.id] != command.keys:
                for bound in self._expanded[command.id]:
                    out.setdefault(_binding_id(command, bound), []).append(bound.key)
        return {binding_id: ",".join(keys) for binding_id, keys in out.items()}

    @staticmethod
    def _action(command: Command, bound: BoundKey) -> str:
        if command.action is None:
            args = "".join(f", {a}" for a in bound.args)
            runner = "twice" if bound.twice else "command"
            return f"{runner}('{command.id}'{args})"
        return command.action.format(n=bound.args[0]) if bound.args else command.action

    # ---- how keys read -------------------------------------------------------------------------
    def display(self, command_id: str, *, short: bool = False) -> str:
        """The command's direct keys as people read them: ``shift+enter, ctrl+j``."""
        return ", ".join(spec_display(s, short=short) for s in self._keys[command_id])

    def prefix_display(self, command_id: str, *, first: bool = False) -> str:
        """The command's prefix keys: ``ctrl+b e, end`` (``first``: ``ctrl+b e``)."""
        specs = self._prefix_keys[command_id]
        specs = specs[:1] if first else specs
        keys = ", ".join(spec_display(s) for s in specs)
        return f"{self.prefix} {keys}" if keys else ""

    # ---- checks --------------------------------------------------------------------------------
    def _check_clashes(self) -> None:
        owner: dict[tuple[str, str], str] = {}
        for command in COMMANDS:
            for where, keys in (
                ("prefix", self._expanded_prefix[command.id]),
                (command.scope.value, self._expanded[command.id]),
            ):
                for bound in keys:
                    other = owner.setdefault((where, bound.key), command.id)
                    if other != command.id:
                        raise KeymapError(f"{bound.key!r} is bound to both {other!r} and "
                                          f"{command.id!r}")  # fmt: skip
        for command in COMMANDS:
            if command.scope not in (Scope.MAIN, Scope.PROMPT):
                continue
            for bound in self._expanded[command.id]:
                if types_text(bound.key):
                    raise KeymapError(f"{bound.key!r} of {command.id!r} types text: where "
                                      "text is typed, a command needs a modifier (ctrl+, alt+)")  # fmt: skip
        if types_text(self.prefix):
            raise KeymapError(f"the prefix {self.prefix!r} types text: use a ctrl+ key")
        for reserved in (self.prefix, "escape"):
            if ("prefix", reserved) in owner:
                raise KeymapError(f"{reserved!r} after the prefix cancels it: not a command key")
        if self.prefix in self.priority_keys:
            raise KeymapError(f"the prefix {self.prefix!r} is also bound to a command")
        for (where, key), command_id in owner.items():
            if where not in ("prefix", Scope.MAIN.value) and key in self.priority_keys:
                raise KeymapError(f"{key!r} of {command_id!r} is taken by a main-screen key")


_MODIFIERS = frozenset({"ctrl", "alt", "shift", "super", "meta", "hyper"})
_NAMED_KEYS = frozenset(
    k.value for k in Keys if "+" not in k.value and not k.value.startswith("<")
) | {f"f{n}" for n in range(1, 25)}


def valid_key(key: str) -> bool:
    """Whether ``key`` names a key Textual can report: ``ctrl+a``, ``alt+enter``, ``f5``, ``,``."""
    if key.endswith("++"):  # ctrl++
        mods, base = key[:-2].split("+"), "+"
    elif len(key) == 1:
        mods, base = [], key
    else:
        *mods, base = key.split("+")
    if not base or not all(m in _MODIFIERS for m in mods) or len(set(mods)) != len(mods):
        return False
    if len(base) == 1:
        return base.isprintable() and base != " "
    return base in _NAMED_KEYS or key_to_character(base) is not None


def types_text(key: str) -> bool:
    """Whether ``key`` is one a text field types (``a``, ``A``, ``shift+a``, ``space``, ``/``)."""
    if key.startswith("shift+"):
        key = key[len("shift+") :]
    return key == "space" or (len(key) == 1 and key.isprintable())


def lookup(index: Mapping[str, _T], key: str, character: str | None) -> _T | None:
    """By Textual key name, else by the character typed (specs may be either: ``,``)."""
    found = index.get(key)
    if found is None and character is not None and len(character) == 1:
        found = index.get(character)
    return found


def _expand_all(specs: Iterable[str]) -> list[BoundKey]:
    return [bound for spec in specs for bound in expand(spec)]


def _check_override(command: Command, specs: Sequence[str]) -> None:
    if command.builtin:
        raise KeymapError(f"{command.id!r} is Textual's own key and cannot be rebound")
    if command.keys and not specs:
        raise KeymapError(f"{command.id!r} needs at least one key")

    # A family's digit is the command's argument, and a double press is its own action:
    # rebinding keeps both (``alt+{1-9}`` may become ``ctrl+{1-9}``, not ``f1``).
    def shape(keys: Sequence[str]) -> list[tuple[tuple[int, ...], bool]]:
        return sorted((b.args, b.twice) for b in _expand_all(keys) if b.args or b.twice)

    if shape(specs) != shape(command.keys):
        raise KeymapError(f"{command.id!r}: {list(specs)} must keep the shape of "
                          f"{list(command.keys)}")  # fmt: skip


def _binding_id(command: Command, bound: BoundKey) -> str:
    # Family members need ids of their own: Textual rebinds every binding sharing an id.
    return f"{command.id}.{bound.args[0]}" if bound.args else command.id


def keymap_from_config(config: AgentsConfig) -> tuple[Keymap, list[ConfigProblem]]:
    """The keys of ``agents.toml``'s ``[keys]`` table, checked against the key table.

    Each entry that cannot work (an unknown command, a malformed key, a clash) is reported
    at its line and left out; the others apply. An entry refused only because of another one
    is tried again once every other entry is in (``prefix = "ctrl+r"`` with ``ctrl+r`` moved
    away from ``release_queue`` further down).
    """
    table = config.keys
    entries: list[KeyOverride | str] = list(table.overrides)
    if table.prefix is not None:
        entries.insert(0, table.prefix)
    accepted: set[int] = set()
    failed: dict[int, str] = {}

    def build(indices: set[int]) -> Keymap:
        prefix, keys, after = PREFIX, {}, {}
        for index in sorted(indices):
            entry = entries[index]
            if isinstance(entry, str):
                prefix = entry
            else:
                (after if entry.after_prefix else keys)[entry.command] = entry.keys
        return Keymap(prefix, keys, after)

    for _pass in range(2):
        for index in range(len(entries)):
            if index in accepted:
                continue
            try:
                build(accepted | {index})
            except KeymapError as exc:
                failed[index] = str(exc)
            else:
                accepted.add(index)
                failed.pop(index, None)
    problems = []
    for index, message in sorted(failed.items()):
        entry = entries[index]
        if isinstance(entry, str):
            label, line = "[keys] prefix", table.prefix_line
        elif entry.after_prefix:
            label, line = f"[keys.after_prefix] {entry.command}", entry.line
        else:
            label, line = f"[keys] {entry.command}", entry.line
        problems.append(ConfigProblem(config.path, line, f"{label}: {message}; the default stays"))
    return build(accepted), problems


DEFAULT_KEYMAP = Keymap()
"""The table's own keys (class-level ``BINDINGS`` are generated from these)."""
