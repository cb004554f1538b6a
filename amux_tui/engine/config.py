"""The agents config, ``agents.toml`` (SPEC §2.1): which ACP agents a room can run, and keys.

A malformed file never stops amux (SPEC §8): every problem is reported with the file and,
where we can find it, the line, and the agents that could be read are still offered.

The ``[keys]`` table is read here only as data (:class:`KeysConfig`: a prefix, key specs per
command id, each with its line); whether those keys exist and fit together is the UI's
business (the engine does not know the key table)::

    [keys]
    prefix = "ctrl+a"              # the prefix key (default ctrl+b)
    release_queue = "ctrl+t"       # a command's direct keys: a string or a list
    [keys.after_prefix]            # keys pressed after the prefix
    new_room = ["c", "N"]
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath
from typing import Any

import msgspec

from amux_tui.private import UnsafePath, read_private

CONFIG_LIMIT = 4 << 20  # a hand-written agents.toml is a few KiB
RESUME_MODES = ("lazy", "eager")
COMPACTION_MODES = ("hermes",)
TOP_LEVEL_KEYS = frozenset({"default_agent", "resume", "notify", "agents", "keys"})
AGENT_KEYS = frozenset({"command", "args", "env", "compaction", "description"})
# "demo" is built in; "cmd" names `--cmd` rooms, rebuilt from their own meta at restart.
RESERVED_NAMES = frozenset({"demo", "cmd"})


@dataclass(frozen=True)
class AgentSpec:
    """How to launch one ACP agent."""

    name: str
    command: str
    args: tuple[str, ...] = ()
    # Excluded from the hash because a dict is unhashable; equality still compares it.
    env: Mapping[str, str] = field(default_factory=dict, hash=False)
    compaction: str | None = None
    source: str = "config"
    description: str = ""

    def __post_init__(self) -> None:
        # Accept lists/any mapping from callers but keep the stored shape predictable.
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "env", dict(self.env))

    @property
    def argv(self) -> list[str]:
        """The command line to spawn."""
        return [self.command, *self.args]

    @property
    def hermes_compaction(self) -> bool:
        """Whether the Hermes stderr compaction detector is on (SPEC §4.6)."""
        # Wrappers such as `uvx hermes acp` or `npx hermes-agent`: positional args count too.
        words = [self.command, *(arg for arg in self.args if not arg.startswith("-"))]
        return self.compaction == "hermes" or any(_is_hermes(word) for word in words)

    def found(self) -> bool:
        """Whether the command can be spawned (on ``PATH`` or an existing executable)."""
        if os.sep in self.command or (os.altsep and os.altsep in self.command):
            path = Path(self.command)
            return path.is_file() and os.access(path, os.X_OK)
        return shutil.which(self.command) is not None

    def to_meta(self) -> dict[str, Any]:
        """What a room persists about its agent. Env values may be secrets: only keys."""
        return {"name": self.name, "command": self.command, "args": list(self.args),
                "envKeys": sorted(self.env)}  # fmt: skip


def _is_hermes(word: str) -> bool:
    return PurePath(word).name.lower().startswith("hermes")


DEMO_AGENT = AgentSpec(
    "demo", sys.executable, ("-m", "amux_tui.demo_agent"), source="builtin", compaction="hermes",
    description="Built-in demo agent (no network, no API key)",
)  # fmt: skip


def _well_known(name: str, argv: str, description: str) -> AgentSpec:
    command, *args = argv.split()
    hermes = "hermes" if name == "hermes" else None
    return AgentSpec(name, command, tuple(args), {}, hermes, "detected", description)


# Launch commands from reference/agents-and-peers.md.
WELL_KNOWN: list[AgentSpec] = [
    _well_known("hermes", "hermes acp", "Hermes Agent (PyPI hermes-agent[acp])"),
    _well_known("claude", "claude-agent-acp", "Claude Code (npm @zed-industries/claude-agent-acp)"),
    _well_known("codex", "codex-acp", "Codex (npm @zed-industries/codex-acp)"),
    _well_known("gemini", "gemini --experimental-acp", "Gemini CLI (npm @google/gemini-cli)"),
    _well_known("opencode", "opencode acp", "OpenCode (npm opencode-ai)"),
]


class ConfigProblem(msgspec.Struct):
    """One thing wrong with the config file, shown to the user as ``file:line: message``."""

    file: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}: {self.message}"


class KeyOverride(msgspec.Struct, frozen=True):
    """One command's keys from ``[keys]``: direct keys, or keys after the prefix."""

    command: str
    keys: tuple[str, ...]
    after_prefix: bool = False
    line: int | None = None


class KeysConfig(msgspec.Struct):
    """The ``[keys]`` table as written (shapes checked; meaning checked by the UI)."""

    prefix: str | None = None
    prefix_line: int | None = None
    overrides: list[KeyOverride] = msgspec.field(default_factory=list)


class AgentsConfig(msgspec.Struct):
    """The loaded config: configured agents plus app-wide options."""

    agents: dict[str, AgentSpec] = msgspec.field(default_factory=dict)
    default_agent: str = "demo"
    resume: str = "lazy"
    notify: bool = True
    keys: KeysConfig = msgspec.field(default_factory=KeysConfig)
    problems: list[ConfigProblem] = msgspec.field(default_factory=list)
    path: Path = Path("agents.toml")

    def available(self) -> list[AgentSpec]:
        """Agents to offer: demo, configured ones, then well-known ones found on PATH."""
        result = [DEMO_AGENT, *self.agents.values()]
        names = {spec.name for spec in result}
        argvs = {tuple(spec.argv) for spec in result}
        for spec in WELL_KNOWN:
            # Skip a well-known agent the user already configured, under its name or another.
            if spec.name in names or tuple(spec.argv) in argvs or not spec.found():
                continue
            result.append(replace(spec, source="detected"))
            names.add(spec.name)
        return result

    def get(self, name: str) -> AgentSpec | None:
        """Look an agent up by name: demo, configured, or well-known (found or not)."""
        candidates = [DEMO_AGENT, *self.agents.values(), *WELL_KNOWN]  # in order of precedence
        return next((spec for spec in candidates if spec.name == name), None)

    def resolve(self, agent: str | None = None, command: str | None = None) -> AgentSpec:
        """The agent of a new room (``amux new``): a command line, else an agent by name,
        else the default one. Raises ``ValueError`` with a message for the user when it
        is unknown or its command is not found."""
        if command is not None:
            spec = spec_from_command(command)
        else:
            name = agent or self.default_agent
            found = self.get(name)
            if found is None:
                known = ", ".join(s.name for s in self.available())
                raise ValueError(f"unknown agent {name!r} (known: {known})")
            spec = found
        if not spec.found():
            raise ValueError(f"agent command not found: {spec.command!r}")
        return spec


def load_config(path: Path) -> AgentsConfig:
    """Read ``agents.toml``. Never raises for bad content: problems go in ``.problems``."""
    path = Path(path)
    config = AgentsConfig(path=path)
    try:
        # It names the commands amux runs: only a regular file of yours that nobody else
        # may write (a symlink to one is fine), read bounded.
        data = read_private(path, CONFIG_LIMIT, follow_symlinks=True)
    except FileNotFoundError:
        return config  # no config is the normal first-run case
    except UnsafePath as exc:
        config.problems.append(ConfigProblem(path, None, f"config not used: {exc}"))
        return config
    except (OSError, ValueError) as exc:  # permissions, too big…: report, run without it
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        config.problems.append(ConfigProblem(path, None, f"cannot read config: {reason}"))
        return config
    try:
        text = data.decode("utf-8-sig")  # tolerate a BOM left by some editors
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        msg = f"config is not valid UTF-8 (bad byte at offset {exc.start})"
        config.problems.append(ConfigProblem(path, line, msg))
        return config
    doc = _parse(text, path, config.problems)
    _build(doc, _Locator(text), config)
    return config


def spec_from_command(cmdline: str, *, name: str = "cmd") -> AgentSpec:
    """An ad-hoc agent for ``amux new --cmd "CMD ARGS"`` (shell-style quoting)."""
    import shlex  # only for --cmd

    words = shlex.split(cmdline)
    if not words:
        raise ValueError("empty command")
    return AgentSpec(name=name, command=words[0], args=tuple(words[1:]), source="cmd")


def spec_from_meta(meta: dict, config: AgentsConfig) -> AgentSpec | None:
    """Rebuild a room's agent at restart from its meta (``to_meta``); ``None`` if unusable.

    The configured agent of that name wins: meta holds no env values."""
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return None
    name = meta["name"]
    if name in config.agents:
        return config.agents[name]
    if name == DEMO_AGENT.name:
        return DEMO_AGENT
    command, args = meta.get("command"), meta.get("args", [])
    if not (command and isinstance(command, str) and isinstance(args, list)):
        return None
    if not all(isinstance(a, str) for a in args):
        return None
    for spec in WELL_KNOWN:
        # A detected agent keeps its compaction setting and description across restarts.
        if spec.name == name and spec.argv == [command, *args]:
            return spec
    return AgentSpec(name=name, command=command, args=tuple(args), source="cmd")


# --- parsing -------------------------------------------------------------------------------

_ERROR_POS = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_ERROR_END = re.compile(r"\s*\(at end of document\)\s*$")


def _split_error(exc: ValueError, text: str) -> tuple[int, str]:
    """tomllib puts the position in the message; return (line, message without it)."""
    message = str(exc)
    if m := _ERROR_POS.search(message):
        return int(m.group(1)), f"{message[: m.start()]} (column {m.group(2)})"
    if m := _ERROR_END.search(message):
        return max(1, len(text.splitlines())), f"{message[: m.start()]} (at end of input)"
    return 1, message


def _parse(text: str, path: Path, problems: list[ConfigProblem]) -> dict[str, Any]:
    """Parse the whole file; on a syntax error, salvage it section by section."""
    import tomllib  # only when there is a file: most starts have none

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, message = _split_error(exc, text)
        problems.append(ConfigProblem(path, line, f"TOML syntax error: {message}"))
    # One syntax error makes tomllib reject everything; parsing each top-level section on its
    # own keeps the agents in the intact ones ("start with the agents it could read").
    merged: dict[str, Any] = {}
    for start, chunk in _chunks(text):
        found: tuple[int, str] | None = None
        try:
            part = tomllib.loads(chunk)
        except tomllib.TOMLDecodeError as exc:
            rel, message = _split_error(exc, chunk)
            found = (start + rel - 1, f"TOML syntax error: {message}")
        else:
            trial = copy.deepcopy(merged)  # a clashing section must not half-apply
            if (clash := _merge(trial, part)) is None:
                merged = trial
            elif not any(p.line == start for p in problems):
                found = (start, f"{clash} is defined more than once; section ignored")
        # The whole-file error and the failing section's error are usually the same report.
        if found and not any((p.line, p.message) == found for p in problems):
            problems.append(ConfigProblem(path, *found))
    return merged


def _chunks(text: str) -> list[tuple[int, str]]:
    """Split into (first line, text) pairs at lines starting with ``[`` (table headers).

    Only column 0 counts: indented multi-line array items are not headers; ``[agents.x`` is."""
    chunks: list[tuple[int, list[str]]] = [(1, [])]
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        if line.startswith("["):
            chunks.append((number, []))
        chunks[-1][1].append(line)
    return [(start, "".join(lines)) for start, lines in chunks if lines]


def _merge(dst: dict[str, Any], src: dict[str, Any], prefix: str = "") -> str | None:
    """Deep-merge ``src`` into ``dst``; return the dotted key of a clash, if any."""
    for key, value in src.items():
        dotted = f"{prefix}{key}"
        if key not in dst:
            dst[key] = value
        elif isinstance(dst[key], dict) and isinstance(value, dict):
            if (clash := _merge(dst[key], value, f"{dotted}.")) is not None:
                return clash
        elif isinstance(dst[key], list) and isinstance(value, list):
            dst[key].extend(value)  # arrays of tables ([[x]]) continue across sections
        else:
            return dotted
    return None


# --- validation ----------------------------------------------------------------------------


def _key_re(key: str) -> str:
    k = re.escape(key)
    return rf"(?:{k}|\"{k}\"|'{k}')"  # bare or quoted key


class _Locator:
    """Finds the line of a key or table header in the raw text, for problem messages."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def _find(self, pattern: str, start: int = 0, stop: int | None = None) -> int | None:
        """1-based number of the first line in ``[start, stop)`` matching ``pattern``."""
        regex = re.compile(pattern)
        stop = len(self.lines) if stop is None else stop
        return next((i + 1 for i in range(start, stop) if regex.match(self.lines[i])), None)

    def _header(self, *keys: str) -> int | None:
        dotted = r"\s*\.\s*".join(_key_re(k) for k in keys)
        return self._find(rf"\s*\[\s*{dotted}\s*\]\s*(?:#.*)?$")

    def key(self, key: str, table: int | None = 0) -> int | None:
        """Line of ``key = ...`` in the table whose header is on line ``table`` (0: top level)."""
        if table is None:
            return None
        end = self._find(r"\s*\[", table)
        return self._find(rf"\s*{_key_re(key)}\s*[=.]", table, None if end is None else end - 1)

    def top(self, key: str) -> int | None:
        """Line of a top-level key, or of its ``[key]`` header."""
        return self.key(key) or self._header(key)

    def agent(self, name: str) -> int | None:
        """Line of ``[agents.NAME]``, ``agents.NAME = ...`` or ``NAME = ...`` in ``[agents]``."""
        dotted = self._find(rf"\s*agents\s*\.\s*{_key_re(name)}\s*[=.]")
        return self._header("agents", name) or dotted or self.key(name, self._header("agents"))

    def table_key(self, table: tuple[str, ...], key: str) -> int | None:
        """Line of ``key`` in the table ``[a.b]`` (``table=("a", "b")``), else the header's."""
        header = self._header(*table)
        return self.key(key, header) if header is not None else None

    def agent_key(self, name: str, key: str) -> int | None:
        """Line of one key of an agent's table, else the agent's own line."""
        in_table = self.key(key, self._header("agents", name))
        return in_table or self._header("agents", name, key) or self.agent(name)


def _build(doc: dict[str, Any], loc: _Locator, config: AgentsConfig) -> None:
    """Validate the parsed document into ``config``, recording every problem."""

    def problem(line: int | None, message: str) -> None:
        config.problems.append(ConfigProblem(config.path, line, message))

    known = ", ".join(sorted(TOP_LEVEL_KEYS))
    for key in (key for key in doc if key not in TOP_LEVEL_KEYS):
        problem(loc.top(key), f"unknown setting {key!r} ignored (known: {known})")
    if (resume := doc.get("resume", "lazy")) in RESUME_MODES:
        config.resume = resume
    else:
        problem(loc.top("resume"), f'resume must be "lazy" or "eager", not {resume!r}')
    if isinstance(notify := doc.get("notify", True), bool):
        config.notify = notify
    else:
        problem(loc.top("notify"), f"notify must be true or false, not {notify!r}")

    config.keys = _keys(doc.get("keys", {}), loc, problem)

    agents = doc.get("agents", {})
    if not isinstance(agents, dict):
        problem(loc.top("agents"), "agents must be a table ([agents.NAME] sections)")
        agents = {}
    for name, table in agents.items():
        if spec := _agent(name, table, loc, problem):
            config.agents[name] = spec

    default = doc.get("default_agent", "demo")
    if not isinstance(default, str) or config.get(default) is None:
        known = ", ".join(s.name for s in config.available())
        problem(
            loc.top("default_agent"),
            f"default_agent {default!r} is not a known agent (known: {known}); using demo",
        )
        default = "demo"
    config.default_agent = default


def _agent(
    name: str, table: Any, loc: _Locator, problem: Callable[[int | None, str], None]
) -> AgentSpec | None:
    """Validate one ``[agents.NAME]`` table; ``None`` (after reporting) if unusable."""
    where = loc.agent(name)
    if name in RESERVED_NAMES:
        problem(where, f"agent name {name!r} is reserved; [agents.{name}] ignored")
        return None
    if not name or any(not ch.isprintable() for ch in name):
        problem(where, f"agent name {name!r} must be non-empty printable text; ignored")
        return None
    if not isinstance(table, dict):
        problem(where, f"agent {name!r} must be a table with at least `command`; ignored")
        return None
    errors: list[tuple[int | None, str]] = []

    def bad(key: str, message: str) -> None:
        errors.append((loc.agent_key(name, key), f"agent {name!r}: {message}"))

    command = table.get("command")
    if not isinstance(command, str) or not command.strip():
        bad("command", "`command` must be a non-empty string")
    args = table.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        bad("args", "`args` must be a list of strings")
    env = table.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        bad("env", '`env` must be a table of strings, e.g. env = { KEY = "value" }')
    elif any(not k or "=" in k or "\0" in k for k in env):
        bad("env", "`env` names must be non-empty and contain no '=' or NUL")
    compaction = table.get("compaction")
    if compaction is not None and compaction not in COMPACTION_MODES:
        bad("compaction", f'`compaction` must be "hermes", not {compaction!r}')
    description = table.get("description", "")
    if not isinstance(description, str):
        bad("description", "`description` must be a string")
    for key in table:
        if key not in AGENT_KEYS:
            # Not fatal: other tools' options (e.g. Zed's) may share the table.
            problem(loc.agent_key(name, key), f"agent {name!r}: unknown key {key!r} ignored")
    for line, message in errors:
        problem(line, f"{message}; agent ignored")  # a half-specified agent cannot start
    if errors or not isinstance(command, str):
        return None
    command = os.path.expanduser(command)  # subprocess does not expand "~"; users write it
    return AgentSpec(name, command, tuple(args), env, compaction, "config", description)


def _keys(table: Any, loc: _Locator, problem: Callable[[int | None, str], None]) -> KeysConfig:
    """Shapes of the ``[keys]`` table: a prefix string, and a key or keys per command."""
    keys = KeysConfig()
    if not isinstance(table, dict):
        problem(loc.top("keys"), 'keys must be a table ([keys] with `command = "key"` lines)')
        return keys

    def specs(value: Any) -> tuple[str, ...] | None:
        items = [value] if isinstance(value, str) else value
        if isinstance(items, list) and all(isinstance(k, str) and k.strip() for k in items):
            return tuple(k.strip() for k in items)
        return None

    for name, value in table.items():
        line = loc.table_key(("keys",), name)
        if name == "prefix":
            if isinstance(value, str) and value.strip():
                keys.prefix, keys.prefix_line = value.strip(), line
            else:
                problem(line, f'[keys] prefix must be one key such as "ctrl+a", not {value!r}')
        elif name == "after_prefix":
            if not isinstance(value, dict):
                problem(line, '[keys] after_prefix must be a table of `command = "key"`')
                continue
            for command, after in value.items():
                where = loc.table_key(("keys", "after_prefix"), command) or line
                found = specs(after)
                if found is None:
                    problem(where, f"[keys.after_prefix] {command}: a key or a list of keys, "
                                   f"not {after!r}")  # fmt: skip
                else:
                    keys.overrides.append(KeyOverride(command, found, True, where))
        else:
            found = specs(value)
            if found is None:
                problem(line, f"[keys] {name}: a key or a list of keys, not {value!r}")
            else:
                keys.overrides.append(KeyOverride(name, found, False, line))
    return keys
