"""Tests for ``agents.toml`` loading (SPEC §2.1, §8) and agent specs."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from amux_tui.engine import config as config_module
from amux_tui.engine.config import (
    DEMO_AGENT,
    WELL_KNOWN,
    AgentsConfig,
    AgentSpec,
    ConfigProblem,
    load_config,
    spec_from_command,
    spec_from_meta,
)

Toml = Callable[[str], Path]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agents.toml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """1-based line of the first line containing ``needle`` (so tests state intent)."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in file")


def only_problem(config: AgentsConfig) -> ConfigProblem:
    assert len(config.problems) == 1, [str(p) for p in config.problems]
    return config.problems[0]


@pytest.fixture
def toml(tmp_path: Path) -> Toml:
    """Write ``agents.toml`` in tmp_path from a dedented literal."""
    return lambda text: write(tmp_path, text)


def fake_executable(directory: Path, name: str) -> Path:
    exe = directory / name
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    return exe


def test_valid_config_round_trip(toml: Toml) -> None:
    path = toml("""
        default_agent = "hermes"
        resume = "eager"
        notify = false

        [agents.hermes]
        command = "hermes"
        args = ["acp"]
        env = { HERMES_HOME = "/home/me/.hermes" }
        compaction = "hermes"
        description = "my hermes"

        [agents.claude]
        command = "npx"
        args = ["-y", "@zed-industries/claude-agent-acp"]

        [agents.wrapped]
        command = "wrapper"
        compaction = "hermes"
    """)
    config = load_config(path)
    assert config.problems == [] and config.path == path
    assert list(config.agents) == ["hermes", "claude", "wrapped"]  # file order
    assert (config.default_agent, config.resume, config.notify) == ("hermes", "eager", False)
    hermes = config.agents["hermes"]
    assert hermes == AgentSpec(
        "hermes", "hermes", ("acp",), {"HERMES_HOME": "/home/me/.hermes"}, "hermes", "config",
        "my hermes",
    )  # fmt: skip
    assert hermes.argv == ["hermes", "acp"]
    claude = config.agents["claude"]
    assert claude.argv == ["npx", "-y", "@zed-industries/claude-agent-acp"]
    assert claude.env == {} and claude.compaction is None and claude.source == "config"
    assert hermes.hermes_compaction and config.agents["wrapped"].hermes_compaction
    assert not claude.hermes_compaction


def test_defaults_when_options_absent(toml: Toml) -> None:
    config = load_config(toml('[agents.a]\ncommand = "a"\n'))
    assert (config.default_agent, config.resume, config.notify) == ("demo", "lazy", True)
    assert config.agents["a"].args == ()
    config = load_config(toml('default_agent = "codex"\n'))  # well-known, even if not found
    assert config.problems == [] and config.default_agent == "codex"


def test_missing_file_is_fine(tmp_path: Path) -> None:
    config = load_config(tmp_path / "nope" / "agents.toml")
    assert config.problems == [] and config.agents == {}
    assert config.default_agent == "demo"
    assert config.available()[0] is DEMO_AGENT


def test_tilde_in_command_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    config = load_config(write(tmp_path, '[agents.a]\ncommand = "~/bin/agent"\n'))
    assert config.agents["a"].command == str(tmp_path / "bin" / "agent")


@pytest.mark.parametrize(
    ("command", "args", "mode", "hermes"),
    [
        ("hermes", ("acp",), None, True),
        ("/opt/bin/hermes-agent", (), None, True),
        ("Hermes", (), None, True),
        ("uvx", ("--from", "hermes-agent[acp]", "hermes", "acp"), None, True),
        ("my-wrapper", (), "hermes", True),
        ("claude-agent-acp", (), None, False),
        ("npx", ("-y", "@zed-industries/claude-agent-acp"), None, False),
        ("agent", ("--config=/etc/hermes.toml",), None, False),  # options are not commands
    ],
)
def test_hermes_compaction(command: str, args: tuple, mode: str | None, hermes: bool) -> None:
    assert AgentSpec("x", command, args, compaction=mode).hermes_compaction is hermes


def test_syntax_error_keeps_the_other_sections(toml: Toml) -> None:
    path = toml("""
        default_agent = "y"

        [agents.x]
        args = ["a"]
        command = "oops
        [agents.y]
        command = "why"
        args = ["1", "2"]
    """)
    config = load_config(path)
    problem = only_problem(config)
    assert problem.line == line_of(path, '"oops')
    assert "syntax" in problem.message.lower()
    assert str(problem).startswith(f"{path}:{problem.line}: ")
    assert list(config.agents) == ["y"] and config.agents["y"].argv == ["why", "1", "2"]
    assert config.default_agent == "y"  # the top-level section survived too


@pytest.mark.parametrize(
    ("text", "line", "kept"),
    [
        ('resume = "eager"\nnotify = = true\n[agents.a]\ncommand = "a"\n', 2, ["a"]),
        ('[agents.a]\ncommand = "a"\n[agents.b]\nargs = [\n', 4, ["a"]),  # end of section
        ('[agents.a]\ncommand = "a"\n[agents.b\ncommand = "b"\n', 3, ["a"]),  # broken header
        ('[agents.a]\ncommand = "a"\n[agents.b]\ncommand = "b"\n[x]\ny = z\n', 6, ["a", "b"]),
    ],
)
def test_syntax_error_lines(tmp_path: Path, text: str, line: int, kept: list[str]) -> None:
    config = load_config(write(tmp_path, text))
    assert only_problem(config).line == line
    assert list(config.agents) == kept


def test_duplicate_table_after_syntax_error(toml: Toml) -> None:
    path = toml("""
        oops =
        [agents.a]
        command = "first"
        [agents.a]
        command = "second"
    """)
    config = load_config(path)
    assert config.agents["a"].command == "first"
    assert sorted(p.line for p in config.problems) == [1, 4]
    assert "more than once" in config.problems[-1].message


GOOD = '\n[agents.good]\ncommand = "good-agent"\n'


@pytest.mark.parametrize(
    ("body", "needle", "words"),
    [
        ('[agents.bad]\nargs = ["x"]\n', "[agents.bad]", "command"),
        ('[agents.bad]\ncommand = ""\n', 'command = ""', "command"),
        ("[agents.bad]\ncommand = 42\n", "command = 42", "command"),
        ('[agents.bad]\ncommand = "c"\nargs = "x y"\n', 'args = "x y"', "args"),
        ('[agents.bad]\ncommand = "c"\nargs = ["x", 1]\n', 'args = ["x", 1]', "args"),
        ('[agents.bad]\ncommand = "c"\nenv = "A=1"\n', 'env = "A=1"', "env"),
        ('[agents.bad]\ncommand = "c"\nenv = { PORT = 80 }\n', "PORT = 80", "env"),
        ('[agents.bad]\ncommand = "c"\n[agents.bad.env]\nN = 1\n', "[agents.bad.env]", "env"),
        ('[agents.bad]\ncommand = "c"\ncompaction = "zed"\n', 'compaction = "zed"', "compaction"),
        ('[agents.bad]\ncommand = "c"\ncompaction = true\n', "compaction = true", "compaction"),
        ('agents.bad = "c"\n', "agents.bad", "table"),
        ("[agents]\nbad = { command = 1 }\n", "bad = {", "command"),
        ('[agents."bad one"]\ncommand = 1\n', "command = 1", "command"),
        ('[agents.demo]\ncommand = "c"\n', "[agents.demo]", "reserved"),
    ],
)
def test_bad_agent_is_skipped_with_its_line(
    tmp_path: Path, body: str, needle: str, words: str
) -> None:
    path = write(tmp_path, body + GOOD)
    config = load_config(path)
    problem = only_problem(config)
    assert problem.file == path
    assert problem.line == line_of(path, needle)
    assert words in problem.message
    assert list(config.agents) == ["good"]
    assert config.agents["good"].command == "good-agent"
    assert str(problem) == f"{path}:{problem.line}: {problem.message}"


@pytest.mark.parametrize(
    ("text", "line", "word", "kept"),
    [
        (
            '[agents.a]\ncommand = "a"\ndefault_mode = "x"\n' + GOOD,
            3,
            "default_mode",
            ["a", "good"],
        ),
        ('resume = "eager"\nagents = ["a", "b"]\n', 2, "table", []),
        ('default-agent = "x"\n' + GOOD, 1, "default-agent", ["good"]),
    ],
)
def test_reported_but_not_fatal(
    tmp_path: Path, text: str, line: int, word: str, kept: list[str]
) -> None:
    """Unknown keys, and `agents` not being a table: one problem, the rest still loads."""
    config = load_config(write(tmp_path, text))
    problem = only_problem(config)
    assert problem.line == line and word in problem.message
    assert list(config.agents) == kept


@pytest.mark.parametrize(
    ("text", "field", "fallback"),
    [
        ('default_agent = "nobody"\n', "default_agent", "demo"),
        ("default_agent = 3\n", "default_agent", "demo"),
        ('default_agent = "broken"\n[agents.broken]\nargs = []\n', "default_agent", "demo"),
        ('resume = "sometimes"\n', "resume", "lazy"),
        ('notify = "yes"\n', "notify", True),
    ],
)
def test_bad_options_fall_back(tmp_path: Path, text: str, field: str, fallback: object) -> None:
    config = load_config(write(tmp_path, "# comment\n" + text))
    assert getattr(config, field) == fallback
    problems = [p for p in config.problems if field in p.message]
    assert len(problems) == 1 and problems[0].line == 2


def test_directory_instead_of_file(tmp_path: Path) -> None:
    path = tmp_path / "agents.toml"
    path.mkdir()
    config = load_config(path)
    assert str(only_problem(config)).startswith(f"{path}: ")  # no line number
    assert config.agents == {}


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "agents.toml"
    path.write_bytes(b'[agents.a]\ncommand = "a"\ndescription = "\xff\xfe"\n')
    config = load_config(path)
    problem = only_problem(config)
    assert problem.line == 3 and "UTF-8" in problem.message
    assert config.agents == {}


def test_read_error_is_one_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulated: a real chmod 000 file is still readable when tests run as root.
    path = write(tmp_path, '[agents.a]\ncommand = "a"\n')

    def denied(path: Path, limit: int, **kw: object) -> bytes:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(config_module, "read_private", denied)
    config = load_config(path)
    assert str(only_problem(config)) == f"{path}: cannot read config: Permission denied"
    assert config.agents == {}


def test_bom_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "agents.toml"
    path.write_bytes(b'\xef\xbb\xbf[agents.a]\ncommand = "a"\n')
    assert list(load_config(path).agents) == ["a"]


def test_available_order_and_detection(
    tmp_path: Path, toml: Toml, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_executable(bin_dir, "codex-acp")
    fake_executable(bin_dir, "hermes")
    fake_executable(bin_dir, "opencode")
    monkeypatch.setenv("PATH", str(bin_dir))
    config = load_config(
        toml("""
        [agents.zeta]
        command = "zeta"
        [agents.hermes]
        command = "hermes"
        args = ["acp", "--verbose"]
        [agents.mine]  # well-known opencode under another name: not offered twice
        command = "opencode"
        args = ["acp"]
    """)
    )
    available = config.available()
    assert [s.name for s in available] == ["demo", "zeta", "hermes", "mine", "codex"]
    assert [s.source for s in available] == ["builtin", "config", "config", "config", "detected"]
    assert available[2].args == ("acp", "--verbose")  # the configured one, not well-known
    assert available[4].argv == ["codex-acp"] and available[4].found()
    # Not on PATH: offered by get() (for --agent), but not in available().
    gemini = config.get("gemini")
    assert gemini is not None and not gemini.found()
    assert config.get("demo") is DEMO_AGENT
    assert config.get("zeta") is config.agents["zeta"]
    assert config.get("hermes") is config.agents["hermes"]
    assert config.get("nobody") is None


def test_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    exe = fake_executable(tmp_path, "agent")
    assert AgentSpec("a", str(exe)).found()
    assert not AgentSpec("a", "agent").found()
    assert not AgentSpec("a", str(tmp_path / "missing")).found()
    (tmp_path / "plain").write_text("")
    assert not AgentSpec("a", str(tmp_path / "plain")).found()  # not executable
    assert DEMO_AGENT.found()


def test_demo_and_well_known_shapes() -> None:
    assert DEMO_AGENT.argv == [sys.executable, "-m", "amux_tui.demo_agent"]
    assert DEMO_AGENT.source == "builtin"
    assert {s.name: s.argv for s in WELL_KNOWN} == {
        "hermes": ["hermes", "acp"], "claude": ["claude-agent-acp"], "codex": ["codex-acp"],
        "gemini": ["gemini", "--experimental-acp"], "opencode": ["opencode", "acp"],
    }  # fmt: skip
    assert all(s.description for s in WELL_KNOWN)


def test_spec_from_command_quoting() -> None:
    spec = spec_from_command("python3 'my agent.py' --flag \"a b\" c\\ d")
    assert spec.argv == ["python3", "my agent.py", "--flag", "a b", "c d"]
    assert spec.name == "cmd" and spec.source == "cmd" and spec.env == {}
    assert spec_from_command("x", name="custom").name == "custom"
    for empty in ("", "   ", "\n\t"):
        with pytest.raises(ValueError, match="empty command"):
            spec_from_command(empty)


def test_to_meta_never_contains_env_values() -> None:
    spec = AgentSpec("a", "agent", ("--x",), {"API_KEY": "sk-secret-123", "B": "bee"})
    meta = spec.to_meta()
    assert meta == {"name": "a", "command": "agent", "args": ["--x"], "envKeys": ["API_KEY", "B"]}
    assert "sk-secret-123" not in repr(meta) and "bee" not in repr(meta)


def test_spec_from_meta_prefers_config(toml: Toml) -> None:
    config = load_config(
        toml("""
        [agents.a]
        command = "new-agent"
        env = { TOKEN = "fresh" }
    """)
    )
    old = {"name": "a", "command": "old-agent", "args": [], "envKeys": ["TOKEN"]}
    assert spec_from_meta(old, config) is config.agents["a"]
    assert spec_from_meta({"name": "demo", "command": "x"}, config) is DEMO_AGENT
    gone = spec_from_meta({"name": "gone", "command": "g", "args": ["1"]}, config)
    assert gone is not None and gone.argv == ["g", "1"] and gone.env == {}
    rebuilt = spec_from_command("tool --acp")
    assert spec_from_meta(rebuilt.to_meta(), config) == rebuilt
    detected = spec_from_meta(WELL_KNOWN[0].to_meta(), config)
    assert detected is not None and detected.compaction == "hermes"


@pytest.mark.parametrize(
    "meta",
    [None, [], {}, {"name": 1}, {"name": "x"}, {"name": "x", "command": ""},
     {"name": "x", "command": "c", "args": "a"}, {"name": "x", "command": "c", "args": [1]}],
)  # fmt: skip
def test_spec_from_meta_rejects_damaged_meta(meta: object) -> None:
    assert spec_from_meta(meta, AgentsConfig()) is None  # type: ignore[arg-type]


def test_agent_spec_normalises_and_hashes() -> None:
    spec = AgentSpec("a", "c", ["x"], {"K": "v"})  # type: ignore[arg-type]
    assert spec.args == ("x",)
    assert hash(spec) == hash(AgentSpec("a", "c", ("x",), {"K": "v"}))


# ---- [keys]: read here as data (lines kept); checked against the key table by the UI ---------


def test_keys_table_is_read_with_lines(toml: Toml) -> None:
    path = toml("""
        [agents.x]
        command = "x"

        [keys]
        prefix = "ctrl+a"
        release_queue = "ctrl+t"
        next_room = ["ctrl+pagedown", "alt+n"]
        [keys.after_prefix]
        new_room = "N"
    """)
    config = load_config(path)
    assert config.problems == []
    keys = config.keys
    assert keys.prefix == "ctrl+a" and keys.prefix_line == line_of(path, "prefix =")
    by_command = {(o.command, o.after_prefix): o for o in keys.overrides}
    assert by_command["release_queue", False].keys == ("ctrl+t",)
    assert by_command["release_queue", False].line == line_of(path, "release_queue")
    assert by_command["next_room", False].keys == ("ctrl+pagedown", "alt+n")
    assert by_command["new_room", True].keys == ("N",)
    assert by_command["new_room", True].line == line_of(path, "new_room")


@pytest.mark.parametrize(
    ("text", "needle", "message"),
    [
        ("[keys]\nprefix = 3\n", "prefix", "prefix must be one key"),
        ("[keys]\nquit = 3\n", "quit", "quit: a key or a list of keys"),
        ("[keys]\nquit = ['ctrl+q', 4]\n", "quit", "quit: a key or a list of keys"),
        ("[keys]\nafter_prefix = 'x'\n", "after_prefix", "after_prefix must be a table"),
        ("[keys.after_prefix]\nhelp = ''\n", "help", "[keys.after_prefix] help: a key"),
        ("keys = 'ctrl+a'\n", "keys", "keys must be a table"),
    ],
)
def test_bad_keys_entries_are_reported_at_their_line(
    tmp_path: Path, text: str, needle: str, message: str
) -> None:
    path = write(tmp_path, text)
    config = load_config(path)
    problem = only_problem(config)
    assert problem.line == line_of(path, needle) and message in problem.message
    assert config.keys.overrides == []


def test_keymap_from_config_keeps_what_works_and_reports_the_rest(toml: Toml) -> None:
    from amux_tui.ui.keymap import keymap_from_config

    path = toml("""
        [keys]
        prefix = "ctrl+r"            # ctrl+r is release_queue's, until it moves (below)
        quit = "ctrl+shfit+q"        # not a key
        steer = "S"                  # would type text in the prompt
        no_such = "ctrl+y"
        release_queue = "ctrl+t"
        [keys.after_prefix]
        new_room = "N"
        help = "c"                   # c is new_room's ... no longer: N took it
    """)
    config = load_config(path)
    keymap, problems = keymap_from_config(config)
    assert keymap.prefix == "ctrl+r"
    assert keymap.keys_of("release_queue") == ("ctrl+t",)
    assert keymap.prefix_keys_of("new_room") == ("N",) and keymap.prefix_keys_of("help") == ("c",)
    assert keymap.keys_of("quit") == ("ctrl+q",) and keymap.keys_of("steer") == ("ctrl+s",)
    reported = {p.line: p.message for p in problems}
    assert set(reported) == {line_of(path, "quit ="), line_of(path, "steer ="),
                             line_of(path, "no_such")}  # fmt: skip
    assert "not a key name" in reported[line_of(path, "quit =")]
    assert "types text" in reported[line_of(path, "steer =")]
    assert "no such command" in reported[line_of(path, "no_such")]
    assert all(str(p).startswith(f"{path}:") for p in problems)
