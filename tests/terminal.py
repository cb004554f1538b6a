"""Real-terminal harness: the real ``amux`` in a pseudo-terminal, read through a terminal emulator.

Pilot hands the app ready-made key events; a terminal sends bytes. This module starts
``python -m amux_tui`` in a pty, writes the exact bytes a terminal writes for each key, and feeds
everything amux draws to a pyte screen, so tests read what a user sees. The raw output is kept
too, for the escape sequences amux emitted (OSC 52 clipboard writes, terminal modes).

Example (in pytest ``tests/`` is importable; a script puts it on ``sys.path`` first)::

    from terminal import AmuxTerminal

    with AmuxTerminal(home, cols=80, rows=24) as term:  # or (home, "new", "--title", "x")
        term.wait_ready()                    # raw mode and the footer: keys now reach amux
        term.type("hello", wait_echo=True)
        mark = term.mark()
        term.press("enter")                  # CR, as a terminal sends Enter
        term.wait_for("Demo reply", since=mark)
        latency = term.measure_echo("x")     # seconds from key to screen
        term.press("ctrl+q")
        assert term.wait_exit() == 0
    rooms = term.cli_json("ls", "--json")    # the CLI on the same home

``AmuxTerminal(home=None, *args, cols=160, rows=48, env=None, cwd=None, controlling_tty=True,
entry=("-m", "amux_tui"))`` starts ``python ENTRY ARGS`` (a wrapper script may stand in) at once, in its own session and process group, the pty as controlling terminal (so
closing it sends SIGHUP; ``controlling_tty=False``: no SIGHUP, as under the old tests).
Environment (``terminal_env``): TERM=xterm-256color, ``AMUX_HOME=home`` (None: a temporary home,
removed on close), ``AMUX_DEMO_CHUNK_DELAY`` as conftest sets it, variables naming another
terminal or multiplexer (TMUX, TERM_PROGRAM, …) removed, then ``env``, e.g.
``env={"TMUX": "/tmp/tmux-1000/default,1,0"}``. A daemon thread reads the pty all the time and
another feeds what it read to the screen (so a read's time is when the bytes arrived, not when
pyte, about 1 MB/s, got to them);
methods are safe to call meanwhile. Leaving the ``with`` block (``close()``) kills amux's
process group and every descendant. Attributes: ``proc``, ``pid``, ``home``, ``env``, ``screen``.

Screen (pyte; the alternate screen is not emulated, the last frame stays after exit):
  ``screen_text()`` rows joined by newlines · ``lines()`` rows, right-stripped · ``line(n)`` one
  row, negative from the bottom · ``find(text)`` (x, y) or None · ``cursor()`` (x, y) of the
  terminal cursor · ``cursor_hidden()`` · ``char(x, y)`` pyte ``Char`` (colours, reverse…) ·
  ``mark()`` a point to wait "since" · ``describe()`` screen and state, as failures show them.
Raw output: ``raw`` every byte · ``output_since(mark)`` · ``osc52_payloads(since=0)`` decoded
  clipboard texts (also inside tmux passthrough) · ``modes()`` what amux left enabled:
  ``.private`` DEC modes, ``.bracketed_paste``, ``.mouse``, ``.focus_events``,
  ``.alternate_screen``, ``.kitty_flags``, ``.modify_other_keys`` · ``raw_mode()`` tty raw?
Input, as xterm sends it: ``send(bytes | str)`` as is · ``press(*keys, protocol="xterm")`` one
  write per named key: "enter" CR, "ctrl+j" LF, "alt+1" ESC 1, "alt+enter" ESC CR, "escape",
  "tab", "shift+tab" CSI Z, "up", "ctrl+pageup" CSI 5;5~, "ctrl+home" CSI 1;5H, "ctrl+b" 0x02,
  "f5"…; ``protocol="kitty"`` (CSI code;mods u, e.g. shift+enter CSI 13;2u, with the flags amux
  pushed) or ``"modify_other_keys"`` (CSI 27;mods;code~) · ``type(text, per_key_pause=None,
  wait_echo=False)`` one character per write, optionally waiting for each echo ·
  ``paste(text)`` bracketed (CSI 200~ … CSI 201~) when amux enabled it, LF sent as CR ·
  ``resize(cols, rows)``.
Waiting, on events (every output read re-checks; timeouts only bound a failure):
  ``wait_for(text | regex | predicate, timeout=30, since=mark, poll=None)`` until the screen shows
  it (``since``: more times than at the mark); returns the perf_counter time of the read that
  did it; raises ``TerminalTimeout`` (an AssertionError) with the screen, at once if amux exits.
  A predicate may read ``t.last_read_at``, the perf_counter time of the read being checked.
  ``poll=s`` also re-checks every s seconds, for conditions on files (logs) · ``wait_ready()`` ·
  ``wait_stable(after=None, reads=3)`` text and cursor unchanged over ``reads`` consecutive reads
  after ``after`` (idle amux still draws its blinking cursor) · ``wait_exit(timeout)`` exit code
  · ``hangup()`` closes the terminal under a running amux · ``wait_turns_settled(n)`` the
  logs hold n turns, all ended (``turn_counts()``): wait for it before ctrl+q, which asks first
  while a turn runs.
Benchmarks: ``measure_echo(key="x", expect=None)`` seconds (perf_counter) from writing the key to
  the read that shows it (default: one more ``key`` character on screen). From a shell:
  ``python tests/terminal.py [KEYS] [COLSxROWS]`` prints the median, min and max.
CLI: ``run_cli(*args)`` ``python -m amux_tui ARGS`` on the same home, a CompletedProcess ·
  ``cli_json(*args)`` its stdout as JSON.
Module level: ``encode_key(name, protocol, kitty_flags=, app_cursor=)`` · ``bracketed_paste`` ·
  ``parse_osc52(data)`` / ``osc52_writes(data)`` · ``scan_modes(data)`` · ``ScreenFeed(cols,
  rows).feed(raw)`` a pyte screen from raw output · ``run_cli(home, *args)`` · ``terminal_env``.
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import errno
import fcntl
import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pyte
from wcwidth import wcswidth, wcwidth

from amux_tui.engine import frames as F

ESC = "\x1b"
CSI = ESC + "["
READY_TEXT = "ctrl+q quit"  # amux's footer: the UI is up
DEFAULT_CHUNK_DELAY = "0.001"  # as tests/conftest.py: a quick demo agent

# Variables by which a program recognises the terminal (or multiplexer) it runs in. The
# harness is an xterm-256color, so they are removed; a test passes e.g. TMUX to simulate tmux.
FOREIGN_TERMINAL_VARS = (
    "TMUX", "TMUX_PANE", "STY", "ZELLIJ", "ZELLIJ_SESSION_NAME", "TERM_PROGRAM",
    "TERM_PROGRAM_VERSION", "COLORTERM", "KITTY_WINDOW_ID", "KITTY_PID", "WEZTERM_PANE",
    "WEZTERM_EXECUTABLE", "VTE_VERSION", "ALACRITTY_WINDOW_ID", "ALACRITTY_SOCKET", "WT_SESSION",
    "KONSOLE_VERSION", "ITERM_SESSION_ID", "LC_TERMINAL", "LC_TERMINAL_VERSION",
    "GHOSTTY_RESOURCES_DIR", "TERMINAL_EMULATOR",
)  # fmt: skip


# --------------------------------------------------------------------------- key encodings

_MODIFIERS = {"shift": 1, "alt": 2, "meta": 2, "option": 2, "ctrl": 4, "control": 4, "super": 8}
_ALIASES = {
    "return": "enter", "esc": "escape", "pgup": "pageup", "page_up": "pageup", "pgdn": "pagedown",
    "page_down": "pagedown", "del": "delete", "ins": "insert", "bs": "backspace",
    "backtab": "shift+tab",
}  # fmt: skip
# Keys xterm sends as CSI [1;mods] <letter> (F1-F4 as SS3 <letter> when unmodified).
_CSI_LETTER = {"up": "A", "down": "B", "right": "C", "left": "D", "home": "H", "end": "F",
               "f1": "P", "f2": "Q", "f3": "R", "f4": "S"}  # fmt: skip
# Keys xterm sends as CSI number [;mods] ~.
_CSI_TILDE = {"insert": 2, "delete": 3, "pageup": 5, "pagedown": 6, "f5": 15, "f6": 17, "f7": 18,
              "f8": 19, "f9": 20, "f10": 21, "f11": 23, "f12": 24}  # fmt: skip
# Keys with a C0 byte in legacy mode, and their code in the kitty protocol.
_C0_KEYS = {"enter": (b"\r", 13), "tab": (b"\t", 9), "backspace": (b"\x7f", 127),
            "escape": (b"\x1b", 27), "space": (b" ", 32)}  # fmt: skip
_CTRL_PUNCT = {"@": 0, " ": 0, "[": 0x1B, "\\": 0x1C, "]": 0x1D, "^": 0x1E, "_": 0x1F, "?": 0x7F}


def _parse_key(name: str) -> tuple[int, str]:
    """``"ctrl+shift+pageup"`` -> (modifier bits, ``"pageup"``); ``"A"`` is shift+a."""
    name = _ALIASES.get(name, name)
    if len(name) == 1:
        mods, base = [], name
    elif name.endswith("++"):  # "ctrl++"
        mods, base = name[:-2].split("+"), "+"
    else:
        *mods, base = name.split("+")
    bits = 0
    for mod in mods:
        if mod.lower() not in _MODIFIERS:
            raise ValueError(f"unknown modifier {mod!r} in key {name!r}")
        bits |= _MODIFIERS[mod.lower()]
    if len(base) > 1:
        base = _ALIASES.get(base.lower(), base.lower())
        if "+" in base:  # an alias with modifiers (backtab)
            more, base = _parse_key(base)
            bits |= more
        if base not in _CSI_LETTER and base not in _CSI_TILDE and base not in _C0_KEYS:
            raise ValueError(f"unknown key {name!r}")
    elif base.isalpha() and base.isupper():
        bits |= _MODIFIERS["shift"]
        base = base.lower()
    elif base == " ":
        base = "space"
    return bits, base


def _xterm_key(bits: int, base: str, app_cursor: bool) -> bytes:
    shift, alt, ctrl = bits & 1, bits & 2, bits & 4
    alt_prefix = b"\x1b" if alt else b""
    if base in _CSI_LETTER:
        letter = _CSI_LETTER[base]
        if bits:
            return f"{CSI}1;{bits + 1}{letter}".encode()
        if base.startswith("f") or app_cursor:
            return f"{ESC}O{letter}".encode()
        return f"{CSI}{letter}".encode()
    if base in _CSI_TILDE:
        number = _CSI_TILDE[base]
        return f"{CSI}{number};{bits + 1}~".encode() if bits else f"{CSI}{number}~".encode()
    if base == "tab" and shift:
        return alt_prefix + f"{CSI}Z".encode()
    if base == "space" and ctrl:
        return alt_prefix + b"\x00"
    if base == "backspace" and ctrl:
        return alt_prefix + b"\x08"
    if base in _C0_KEYS:  # xterm drops shift/ctrl here: shift+enter is CR, as on a real xterm
        return alt_prefix + _C0_KEYS[base][0]
    char = base
    if shift:
        if not char.isalpha():
            raise ValueError(f"shift+{char!r}: send the shifted character itself")
        char = char.upper()
    if ctrl:
        if char.isalpha() and char.isascii():
            return alt_prefix + bytes([ord(char.lower()) & 0x1F])
        if char in _CTRL_PUNCT:
            return alt_prefix + bytes([_CTRL_PUNCT[char]])
        raise ValueError(f"ctrl+{char!r} has no legacy encoding; use protocol='kitty'")
    return alt_prefix + char.encode()


def _kitty_key(bits: int, base: str, kitty_flags: int) -> bytes:
    mods = f";{bits + 1}" if bits else ""
    if base in _CSI_LETTER:
        letter = _CSI_LETTER[base]
        return f"{CSI}1{mods}{letter}".encode() if bits else f"{CSI}{letter}".encode()
    if base in _CSI_TILDE:
        return f"{CSI}{_CSI_TILDE[base]}{mods}~".encode()
    report_all = bool(kitty_flags & 8)
    char = " " if base == "space" else base if len(base) == 1 else ""
    text = ""  # what the key types: shift alone keeps it text, other modifiers do not
    if char and bits in (0, 1) and (not bits or char.isalpha()):
        text = char.upper() if bits else char
    if base in _C0_KEYS and base != "space":
        legacy, code = _C0_KEYS[base]
        if not bits and not report_all and base != "escape":  # enter, tab, backspace stay legacy
            return legacy
        return f"{CSI}{code}{mods}u".encode()
    if not report_all and bits in (0, 1):  # text stays text unless "report all keys" is on
        if not text:
            raise ValueError(f"shift+{char!r}: send the shifted character itself")
        return text.encode()
    if text and kitty_flags & 16:  # "report associated text": CSI code ; mods ; text u
        return f"{CSI}{ord(char)};{bits + 1 if bits else ''};{ord(text)}u".encode()
    return f"{CSI}{ord(char)}{mods}u".encode()


def encode_key(
    name: str, protocol: str = "xterm", *, kitty_flags: int = 1, app_cursor: bool = False
) -> bytes:
    """The bytes a terminal sends for key ``name`` ("ctrl+pageup", "alt+1", "A", "f5", "enter").

    ``protocol``: ``"xterm"`` (legacy: alt = ESC prefix, ctrl+letter = C0 byte, shift+enter = CR,
    ``app_cursor`` for DECCKM arrows), ``"kitty"`` (``kitty_flags`` as the app pushed them:
    1 disambiguate, 8 report every key as an escape code) or ``"modify_other_keys"`` (xterm's
    ``CSI 27;mods;code~`` for modified keys with no distinct legacy form).
    """
    bits, base = _parse_key(name)
    if protocol == "xterm":
        return _xterm_key(bits, base, app_cursor)
    if protocol == "kitty":
        return _kitty_key(bits, base, kitty_flags)
    if protocol == "modify_other_keys":
        printable_shift = bits == 1 and len(base) == 1  # shift+a is still "A"
        if bits and not printable_shift and base not in _CSI_LETTER and base not in _CSI_TILDE:
            code = _C0_KEYS[base][1] if base in _C0_KEYS else ord(base)
            return f"{CSI}27;{bits + 1};{code}~".encode()
        return _xterm_key(bits, base, app_cursor)
    raise ValueError(f"unknown protocol {protocol!r}")


def bracketed_paste(text: str) -> bytes:
    """``text`` wrapped as a terminal pastes it in bracketed-paste mode."""
    return f"{CSI}200~{text}{CSI}201~".encode()


# --------------------------------------------------------------------------- output scanning

_TMUX_PASSTHROUGH = rb"\x1bPtmux;((?:[^\x1b]|\x1b\x1b)*)\x1b\\"
_OSC52 = rb"\x1b\]52;([^;\x07\x1b]*);([^\x07\x1b]*)(?:\x07|\x1b\\)"
_OSC52_RE = re.compile(_OSC52)
_OSC52_OR_TMUX = re.compile(_TMUX_PASSTHROUGH + b"|" + _OSC52)


class Osc52(NamedTuple):
    """One OSC 52 clipboard write: selection (``c``, ``p``…), decoded text, tmux-wrapped."""

    selection: str
    text: str
    via_tmux: bool


def _osc52_write(selection: bytes, payload: bytes, via_tmux: bool) -> Osc52 | None:
    if payload == b"?":  # a query, not a write
        return None
    try:
        text = base64.b64decode(payload, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        text = ""
    return Osc52(selection.decode(), text, via_tmux)


def osc52_writes(data: bytes) -> list[Osc52]:
    """Every OSC 52 clipboard write in ``data``, in order: BEL or ST ended, and inside tmux
    passthrough (``ESC P tmux; …ESC ESC ] 52…ESC \\``) too."""
    writes = []
    for m in _OSC52_OR_TMUX.finditer(data):
        if m.group(1) is not None:
            inner = m.group(1).replace(b"\x1b\x1b", b"\x1b")
            found = [_osc52_write(w[1], w[2], True) for w in _OSC52_RE.finditer(inner)]
        else:
            found = [_osc52_write(m.group(2), m.group(3), False)]
        writes += [w for w in found if w is not None]
    return writes


def parse_osc52(data: bytes) -> list[str]:
    """The decoded texts of every OSC 52 clipboard write in ``data``, in order."""
    return [write.text for write in osc52_writes(data)]


_MODE_SEQUENCE = re.compile(
    rb"(?P<dec>\x1b\[\?[\d;]*[hl])"  # DEC private modes set (h) / reset (l)
    rb"|(?P<push>\x1b\[>\d*u)|(?P<pop>\x1b\[<\d*u)|(?P<set>\x1b\[=[\d;]*u)"  # kitty keyboard
    rb"|(?P<mok>\x1b\[>4(?:;\d*)?m)|(?P<mok_off>\x1b\[>4n)"  # xterm modifyOtherKeys
)
MOUSE_MODES = {9, 1000, 1001, 1002, 1003, 1005, 1006, 1015, 1016}


@dataclass
class Modes:
    """Terminal modes an output stream left on (later sequences win)."""

    private: dict[int, bool] = field(default_factory=dict)
    kitty_stack: list[int] = field(default_factory=list)
    modify_other_keys: int = 0

    def enabled(self, mode: int) -> bool:
        return self.private.get(mode, False)

    @property
    def bracketed_paste(self) -> bool:
        return self.enabled(2004)

    @property
    def focus_events(self) -> bool:
        return self.enabled(1004)

    @property
    def alternate_screen(self) -> bool:
        return self.enabled(1049) or self.enabled(1047) or self.enabled(47)

    @property
    def application_cursor(self) -> bool:
        return self.enabled(1)

    @property
    def mouse(self) -> set[int]:
        return {mode for mode in MOUSE_MODES if self.enabled(mode)}

    @property
    def kitty_flags(self) -> int:
        return self.kitty_stack[-1] if self.kitty_stack else 0


def scan_modes(data: bytes) -> Modes:
    """The modes ``data`` enabled: DEC private modes, kitty keyboard stack, modifyOtherKeys."""
    modes = Modes()
    for m in _MODE_SEQUENCE.finditer(data):
        kind, text = m.lastgroup, m.group(0)
        numbers = [int(n) for n in re.findall(rb"\d+", text[3:])] if kind != "dec" else []
        if kind == "dec":
            for param in re.findall(rb"\d+", text):
                modes.private[int(param)] = text.endswith(b"h")
        elif kind == "push":
            modes.kitty_stack.append(numbers[0] if numbers else 0)
        elif kind == "pop":
            del modes.kitty_stack[max(0, len(modes.kitty_stack) - (numbers or [1])[0]) :]
        elif kind == "set":  # CSI = flags ; how u: 1 replace, 2 add, 3 remove
            flags = numbers[0] if numbers else 0
            how = numbers[1] if len(numbers) > 1 else 1
            top = modes.kitty_flags
            new = flags if how == 1 else top | flags if how == 2 else top & ~flags
            modes.kitty_stack[-1:] = [new]
        elif kind == "mok":  # CSI > 4 ; level m
            modes.modify_other_keys = numbers[1] if len(numbers) > 1 else 0
        else:  # CSI > 4 n
            modes.modify_other_keys = 0
    return modes


# Sequences pyte misreads (it ignores the ``<``/``=``/``>`` marker: ``CSI > 4;1 m`` would set
# underline, ``CSI < u`` would draw a "u"), and DCS/APC/PM/SOS strings (drawn as text by pyte).
_NOT_FOR_PYTE = re.compile(rb"\x1b\[[<=>][0-?]*[ -/]*[@-~]|\x1b[P_^X](?:[^\x1b]|\x1b\x1b)*\x1b\\")
_INCOMPLETE = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*|[P_^X](?:[^\x1b]|\x1b\x1b)*\x1b?)?\Z")


class ScreenFeed:
    """A pyte screen fed with raw terminal output, in chunks split anywhere.

    Sequences pyte would misread are dropped first (a sequence split across chunks waits for
    its end). Also useful alone: ``ScreenFeed(160, 48).feed(term.raw)`` replays a session.
    """

    def __init__(self, cols: int, rows: int, answer: Callable[[str], None] | None = None) -> None:
        self.screen = pyte.Screen(cols, rows)
        if answer is not None:  # a terminal answers DA/DSR queries
            self.screen.write_process_input = answer
        self._stream = pyte.ByteStream(self.screen)
        self._pending = b""
        self._rows: list[str] = []  # the screen's rows as text, as of the last lines()

    def feed(self, data: bytes) -> ScreenFeed:
        """Draw ``data``; ``b""`` (end of output) flushes a held incomplete sequence."""
        chunk, self._pending = self._pending + data, b""
        if data and (incomplete := _INCOMPLETE.search(chunk)):
            chunk, self._pending = chunk[: incomplete.start()], chunk[incomplete.start() :]
        self._stream.feed(_NOT_FOR_PYTE.sub(b"", chunk))
        return self

    def lines(self) -> list[str]:
        """Every row, trailing blanks removed. Only the rows pyte marked dirty since the
        last call are read again (the whole screen, ~7,700 cells, after every read of a
        busy amux was most of the harness's CPU, which competes with amux for the cores)."""
        screen = self.screen
        if len(self._rows) != screen.lines:
            self._rows = [""] * screen.lines
            dirty: Iterable[int] = range(screen.lines)
        else:
            dirty = screen.dirty
        for y in dirty:
            if y < screen.lines:
                self._rows[y] = self._row(y)
        screen.dirty.clear()
        return list(self._rows)

    def _row(self, y: int) -> str:
        """Row ``y`` as pyte's ``display`` shows it (a wide character's stub cell skipped)."""
        line, cells, stub = self.screen.buffer[y], [], False
        for x in range(self.screen.columns):
            if stub:
                stub = False
                continue
            data = line[x].data
            stub = bool(data) and wcwidth(data[0]) == 2
            cells.append(data)
        return "".join(cells).rstrip()


# --------------------------------------------------------------------------- the terminal


class TerminalTimeout(AssertionError):
    """A wait ran out (or amux exited first); the message holds the screen."""


class Mark(NamedTuple):
    """A point in the output: its raw offset and the screen text then."""

    offset: int
    screen: str


Condition = str | re.Pattern[str] | Callable[["AmuxTerminal"], Any]


class _Watcher:
    """A condition re-checked by the reader thread after every output read."""

    def __init__(self, check: Callable[[], Any]) -> None:
        self.check = check
        self.done = threading.Event()
        self.value: Any = None
        self.at = 0.0
        self.error: BaseException | None = None

    def evaluate(self, at: float) -> bool:
        if self.done.is_set():
            return True
        try:
            value = self.check()
        except Exception as exc:  # raised in the waiting thread
            self.error = exc
            self.done.set()
            return True
        if value:
            self.value, self.at = value, at
            self.done.set()
        return bool(value)


# Make the pty the controlling terminal (as a terminal emulator does), then become amux.
_EXEC_WITH_CTTY = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


class AmuxTerminal:
    """amux running in a pseudo-terminal of ``cols`` x ``rows``; see the module docstring."""

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *args: str,
        cols: int = 160,
        rows: int = 48,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        controlling_tty: bool = True,
        entry: tuple[str, ...] = ("-m", "amux_tui"),
    ) -> None:
        self._own_home = home is None
        self.home = Path(tempfile.mkdtemp(prefix="amux-pty-")) if home is None else Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.cols, self.rows = cols, rows
        self.controlling_tty = controlling_tty
        self.env = terminal_env(self.home, env)
        self._raw = bytearray()
        self._view = ScreenFeed(cols, rows, answer=self._answer)
        self.screen = self._view.screen
        self._lock = threading.RLock()
        self._watchers: list[_Watcher] = []
        self._reads = 0
        self.last_read_at = 0.0  # perf_counter time of the latest output read
        self._eof = threading.Event()
        self._reader_error: BaseException | None = None
        self._closed = False
        self._master_open = False

        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        attrs = termios.tcgetattr(slave)
        attrs[0] |= getattr(termios, "IUTF8", 0)  # as terminal emulators set it
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        argv = [sys.executable, *entry, *args]
        if controlling_tty:
            argv = [sys.executable, "-c", _EXEC_WITH_CTTY, *argv]
        try:
            self.proc = subprocess.Popen(
                argv, stdin=slave, stdout=slave, stderr=slave, env=self.env,
                cwd=str(cwd if cwd is not None else self.home), start_new_session=True,
                close_fds=True,
            )  # fmt: skip
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self.pgid = self.proc.pid  # start_new_session: amux leads its own session and group
        self.master = master
        self._master_open = True
        os.set_blocking(master, False)
        self._wake_r, self._wake_w = os.pipe()
        self._reader_stopped = False
        # Reading and emulating are two threads: the time of each read is when the bytes
        # reached the terminal, however long pyte (about 1 MB/s) takes to parse what came
        # before; a real terminal parses them in microseconds.
        self._incoming: collections.deque[tuple[bytes, float]] = collections.deque()
        self._arrived = threading.Condition(threading.Lock())
        self._reader = threading.Thread(target=self._read_loop, name="amux-pty-reader", daemon=True)
        self._parser = threading.Thread(
            target=self._parse_loop, name="amux-pty-parser", daemon=True
        )
        self._reader.start()
        self._parser.start()

    # ------------------------------------------------------------------ context and lifetime

    def __enter__(self) -> AmuxTerminal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """Kill amux's process group and descendants (if still there); release the pty."""
        if self._closed:
            return
        self._closed = True
        try:
            self._kill_everything()
        finally:
            self.hangup()
            if self._own_home:
                shutil.rmtree(self.home, ignore_errors=True)

    def _kill_everything(self) -> None:
        if self.proc.poll() is None:
            descendants = _descendants(self.proc.pid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pgid, signal.SIGKILL)
            for pid in descendants:  # agents run in their own process groups
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            self.proc.wait()
        else:
            for pid in _group_members(self.pgid):  # stragglers left in amux's group
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

    def hangup(self) -> None:
        """Close the terminal under amux (its window is gone): stop reading, close the master."""
        if not self._reader_stopped:
            self._reader_stopped = True
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")
            self._reader.join(timeout=10)
            self._parser.join(timeout=10)
            for fd in (self._wake_r, self._wake_w):
                os.close(fd)
        if self._master_open:
            self._master_open = False
            os.close(self.master)

    def wait_exit(self, timeout: float = 30.0) -> int:
        """Wait for amux to exit and for its last output; return the exit code."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TerminalTimeout(
                f"amux did not exit within {timeout:g}s\n{self.describe()}"
            ) from None
        self._eof.wait(timeout=10)  # everything it drew is on the screen
        return code

    # ------------------------------------------------------------------ reading

    def _read_loop(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master, self._wake_r], [], [])
            except (OSError, ValueError):
                break
            if self._wake_r in ready:
                break
            try:
                data = os.read(self.master, 65536)
            except BlockingIOError:
                continue
            except OSError as exc:  # EIO: every process holding the pty closed it
                if exc.errno not in (errno.EIO, errno.EBADF):
                    self._reader_error = exc
                data = b""
            self._hand_over(data, time.perf_counter())
            if not data:
                return
        self._hand_over(b"", time.perf_counter())  # stopped: the parser ends too

    def _hand_over(self, data: bytes, at: float) -> None:
        with self._arrived:
            self._incoming.append((data, at))
            self._arrived.notify()

    def _parse_loop(self) -> None:
        """Feed each read to the screen in order, checking the watchers with its read time."""
        while True:
            with self._arrived:
                while not self._incoming:
                    self._arrived.wait()
                data, at = self._incoming.popleft()
            if not data:
                break
            with self._lock:
                self.last_read_at = at
                try:
                    self._feed(data)
                except Exception as exc:  # shown by describe(); waiters fail at once
                    self._reader_error = exc
                    break
                for watcher in self._watchers:
                    watcher.evaluate(at)
        self._eof.set()
        with self._lock:  # wake every waiter: no more output will come
            for watcher in self._watchers:
                watcher.done.set()

    def _feed(self, data: bytes) -> None:
        self._raw += data
        self._reads += 1
        self._view.feed(data)

    def _answer(self, text: str) -> None:
        with contextlib.suppress(OSError):
            os.write(self.master, text.encode())

    # ------------------------------------------------------------------ the screen

    def lines(self) -> list[str]:
        """Every row of the screen, trailing blanks removed."""
        with self._lock:
            return self._view.lines()

    def line(self, n: int) -> str:
        """Row ``n`` (0 at the top; negative counts from the bottom), trailing blanks removed."""
        return self.lines()[n]

    def screen_text(self) -> str:
        """The whole screen as text, rows joined by newlines."""
        return "\n".join(self.lines())

    def cursor(self) -> tuple[int, int]:
        """The terminal cursor's (x, y), 0-based (amux hides it and draws its own)."""
        with self._lock:
            return self.screen.cursor.x, self.screen.cursor.y

    def cursor_hidden(self) -> bool:
        with self._lock:
            return self.screen.cursor.hidden

    def char(self, x: int, y: int) -> Any:
        """The pyte ``Char`` at column ``x``, row ``y``: ``data``, ``fg``, ``bg``, ``reverse``…"""
        with self._lock:
            return self.screen.buffer[y][x]

    def find(self, text: str) -> tuple[int, int] | None:
        """(column, row) of the first occurrence of ``text`` on the screen, else None."""
        for y, row in enumerate(self.lines()):
            index = row.find(text)
            if index >= 0:
                return max(0, wcswidth(row[:index])), y
        return None

    def mark(self) -> Mark:
        """The current point: wait for things shown after it with ``wait_for(..., since=mark)``."""
        with self._lock:
            return Mark(len(self._raw), self.screen_text())

    @property
    def raw(self) -> bytes:
        """Every byte amux wrote to the terminal so far."""
        with self._lock:
            return bytes(self._raw)

    def output_since(self, mark: Mark | int = 0) -> bytes:
        """The bytes amux wrote after ``mark`` (a ``Mark`` or a raw offset)."""
        offset = mark.offset if isinstance(mark, Mark) else mark
        with self._lock:
            return bytes(self._raw[offset:])

    def osc52_payloads(self, since: Mark | int = 0) -> list[str]:
        """Decoded texts amux wrote to the clipboard with OSC 52 (since ``since``)."""
        return parse_osc52(self.output_since(since))

    def modes(self) -> Modes:
        """The terminal modes amux's output has left enabled (so far)."""
        return scan_modes(self.output_since(0))

    def raw_mode(self) -> bool:
        """True once amux put the tty in raw mode (no echo, no line editing)."""
        try:
            lflag = termios.tcgetattr(self.master)[3]
        except termios.error:
            return False
        return not lflag & (termios.ICANON | termios.ECHO)

    def describe(self) -> str:
        """The screen, cursor, process state and last output bytes, for failure messages."""
        rows = self.lines()
        while rows and not rows[-1]:
            rows.pop()
        state = "running" if self.alive() else f"exited with {self.proc.returncode}"
        with self._lock:
            tail = bytes(self._raw[-300:])
        border = "-" * min(self.cols, 100)
        error = (
            f"\nthe harness failed to read: {self._reader_error!r}" if self._reader_error else ""
        )
        return (
            f"amux {state}; screen {self.cols}x{self.rows}, cursor {self.cursor()}:\n"
            f"{border}\n" + "\n".join(rows) + f"\n{border}\nlast output bytes: {tail!r}{error}"
        )

    # ------------------------------------------------------------------ input

    def send(self, data: bytes | str, timeout: float = 30.0) -> None:
        """Write ``data`` (text is UTF-8 encoded) to the terminal as it is."""
        if isinstance(data, str):
            data = data.encode()
        deadline = time.monotonic() + timeout
        while data:
            try:
                written = os.write(self.master, data)
            except BlockingIOError:
                written = 0
            data = data[written:]
            if data:
                if time.monotonic() > deadline:
                    raise TerminalTimeout(f"amux stopped reading its input\n{self.describe()}")
                select.select([], [self.master], [], 0.1)

    def key_bytes(self, key: str, protocol: str = "xterm") -> bytes:
        """``encode_key`` with what amux enabled (kitty flags, application cursor keys)."""
        modes = self.modes()
        return encode_key(
            key, protocol, kitty_flags=modes.kitty_flags or 1, app_cursor=modes.application_cursor
        )

    def press(self, *keys: str, protocol: str = "xterm") -> None:
        """Send each named key as the terminal would, one write per key."""
        for key in keys:
            self.send(self.key_bytes(key, protocol))

    def type(
        self,
        text: str,
        per_key_pause: float | None = None,
        *,
        wait_echo: bool = False,
        timeout: float = 30.0,
    ) -> None:
        """Write ``text`` one character (one key) per write, as a person types.

        ``per_key_pause``: seconds between keys (a typing rate; output is read meanwhile).
        ``wait_echo``: after each printable key, wait for a redraw after it that shows the
        text typed so far (since the last CR/LF) on one row. Characters go as they are:
        "\\r" is Enter, "\\n" is ctrl+j.
        """
        line = ""
        for ch in text:
            line = "" if ch in "\r\n" else line + ch
            with self._lock:
                reads = self._reads
            self.send(ch)
            if wait_echo and ch.isprintable():
                self.wait_for(
                    lambda t, typed=line, reads=reads: (
                        t._reads > reads and typed in t.screen_text()
                    ),
                    timeout,
                    what=f"the echo of {line!r}",
                )
            if per_key_pause:
                time.sleep(per_key_pause)

    def paste(self, text: str, bracketed: bool | None = None) -> None:
        """Paste ``text`` as a terminal does: LF becomes CR; bracketed if amux enabled it."""
        text = text.replace("\r\n", "\r").replace("\n", "\r")
        if bracketed is None:
            bracketed = self.modes().bracketed_paste
        self.send(bracketed_paste(text) if bracketed else text.encode())

    def resize(self, cols: int, rows: int) -> None:
        """Resize the terminal (amux gets SIGWINCH) and the emulated screen."""
        with self._lock:
            self.cols, self.rows = cols, rows
            self.screen.resize(rows, cols)
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        if not self.controlling_tty:  # the kernel signals only a terminal's own session
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGWINCH)

    # ------------------------------------------------------------------ waiting

    def _check(self, cond: Condition, since: Mark | None) -> Callable[[], Any]:
        if isinstance(cond, str):
            before = since.screen.count(cond) if since is not None else 0
            if since is None:
                return lambda: cond in self.screen_text()
            return lambda: self.screen_text().count(cond) > before
        if isinstance(cond, re.Pattern):
            before = len(cond.findall(since.screen)) if since is not None else 0
            return lambda: len(cond.findall(self.screen_text())) > before
        return lambda: cond(self)

    def wait_for(
        self,
        cond: Condition,
        timeout: float = 30.0,
        *,
        since: Mark | None = None,
        poll: float | None = None,
        what: str | None = None,
    ) -> float:
        """Block until ``cond`` holds on the screen; return the perf_counter time it first did.

        ``cond``: text on the screen, a regex searched in ``screen_text()``, or a predicate
        ``f(term) -> truthy``. It is re-checked after every read of output (and every ``poll``
        seconds when given, for conditions on files). ``since``: a text or regex must be shown
        more times than at that mark. Fails with ``TerminalTimeout`` showing the screen.
        """
        if what is None:
            what = repr(cond) if isinstance(cond, str | re.Pattern) else "the condition"
        return self._await(self._watch(self._check(cond, since)), timeout, poll, what)

    def _watch(self, check: Callable[[], Any]) -> _Watcher:
        """Start re-checking ``check`` after every read (and once now)."""
        watcher = _Watcher(check)
        with self._lock:
            if not watcher.evaluate(time.perf_counter()):
                self._watchers.append(watcher)
        return watcher

    def _await(self, watcher: _Watcher, timeout: float, poll: float | None, what: str) -> float:
        deadline = time.monotonic() + timeout
        try:
            while not watcher.done.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TerminalTimeout(
                        f"{what} did not appear within {timeout:g}s\n{self.describe()}"
                    )
                if watcher.done.wait(min(left, poll or 0.5)):
                    break
                with self._lock:
                    if poll and watcher.evaluate(time.perf_counter()):
                        break
                if self._eof.is_set() or not self.alive():
                    self._eof.wait(timeout=5)  # its last output
                    with self._lock:
                        watcher.evaluate(time.perf_counter())
                    break
        finally:
            with self._lock:
                if watcher in self._watchers:
                    self._watchers.remove(watcher)
        if watcher.error is not None:
            raise watcher.error
        if not watcher.value:  # the output ended with the condition still false
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)  # the pty closes just before the process is reaped
            state = "closed the pty" if self.alive() else f"exited ({self.proc.returncode})"
            raise TerminalTimeout(f"amux {state} before {what} appeared\n{self.describe()}")
        return watcher.at

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Wait until amux owns the keyboard (raw mode) and its footer is drawn."""
        return self.wait_for(
            lambda t: READY_TEXT in t.screen_text() and t.raw_mode(),
            timeout,
            what=f"raw mode and {READY_TEXT!r}",
        )

    def wait_stable(
        self, after: Condition | None = None, reads: int = 3, timeout: float = 30.0
    ) -> float:
        """After ``after`` holds, wait until ``reads`` consecutive output reads change neither
        the screen text nor the cursor. amux draws even when idle (its cursor blinks), so this
        ends by events; it times out on a terminal that draws nothing at all."""
        if after is not None:
            self.wait_for(after, timeout)
        state: dict[str, Any] = {"seen": -1, "last": None, "same": 0}

        def settled(t: AmuxTerminal) -> bool:
            if t._reads == state["seen"]:
                return False  # no new read since the last check
            state["seen"] = t._reads
            now = (t.screen_text(), t.cursor())
            state["same"] = state["same"] + 1 if now == state["last"] else 0
            state["last"] = now
            return state["same"] >= reads

        return self.wait_for(settled, timeout, what=f"{reads} reads without a change")

    def measure_echo(
        self, key: str = "x", expect: Condition | None = None, timeout: float = 30.0
    ) -> float:
        """Send ``key`` (a character, or a key name as for ``press``); return the seconds from
        the write until the output read that put ``expect`` on the screen (default: one more
        ``key`` character than before). Clock: ``time.perf_counter``."""
        data = key.encode() if len(key) == 1 else self.key_bytes(key)
        if expect is None:
            if len(key) != 1:
                raise ValueError("a named key needs `expect`")
            expect = key
        with self._lock:
            watcher = self._watch(self._check(expect, self.mark()))
            if watcher.done.is_set():
                raise ValueError(f"{expect!r} already holds before the key is sent")
            start = time.perf_counter()
        self.send(data)
        return self._await(watcher, timeout, None, f"the echo of {key!r}") - start

    # ------------------------------------------------------------------ the logs and the CLI

    def turn_counts(self) -> tuple[int, int]:
        """(turns started, turns ended) over every room log of the home; a line still being
        written is skipped."""
        begun = ended = 0
        for path in (self.home / "rooms").glob("*.jsonl"):
            for line in path.read_text().splitlines():
                try:
                    method = json.loads(line)["frame"].get("method")
                except ValueError:
                    continue
                begun += method == F.TURN_STARTED
                ended += method in (F.TURN_COMPLETE, F.TURN_INTERRUPTED)
        return begun, ended

    def wait_turns_settled(self, started: int, timeout: float = 30.0) -> None:
        """Wait until the logs hold ``started`` turns and every one of them has ended.

        The screen alone cannot say it: a quick turn may never paint "busy" at all.
        """
        counts = (0, 0)

        def settled(t: AmuxTerminal) -> bool:
            nonlocal counts
            counts = t.turn_counts()
            return counts[0] >= started and counts[1] == counts[0]

        try:
            self.wait_for(settled, timeout, poll=0.05, what=f"{started} settled turns")
        except TerminalTimeout as exc:
            raise TerminalTimeout(
                f"turns did not settle: {counts[0]} started, {counts[1]} ended\n{exc}"
            ) from None

    def run_cli(
        self, *args: str, check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """``run_cli(self.home, *args)`` with this terminal's environment."""
        return run_cli(self.home, *args, env=self.env, check=check, timeout=timeout)

    def cli_json(self, *args: str) -> Any:
        """``run_cli(*args)``'s standard output parsed as JSON (pass ``--json`` yourself)."""
        return json.loads(self.run_cli(*args).stdout)


def terminal_env(
    home: str | os.PathLike[str], extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment amux gets: ours without other terminals' variables, the home,
    TERM=xterm-256color, the test chunk delay, then ``extra``.

    COLUMNS and LINES are removed, not set: Textual would take them over the pty's size and
    never follow a resize.
    """
    dropped = {*FOREIGN_TERMINAL_VARS, "COLUMNS", "LINES"}
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("TEXTUAL")}
    env.update(
        AMUX_HOME=str(home),
        AMUX_DEMO_STATE=str(Path(home) / "demo-agent"),
        AMUX_DEMO_CHUNK_DELAY=os.environ.get(
            "AMUX_DEMO_CHUNK_DELAY",
            os.environ.get("AMUX_TEST_CHUNK_DELAY", DEFAULT_CHUNK_DELAY),
        ),
        TERM="xterm-256color",
    )
    env.update(extra or {})
    return env


def run_cli(
    home: str | os.PathLike[str],
    *args: str,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m amux_tui ARGS`` on ``home`` without a terminal; output as text."""
    return subprocess.run(
        [sys.executable, "-m", "amux_tui", *args], env=dict(env or terminal_env(home)),
        cwd=str(home), capture_output=True, text=True, timeout=timeout, check=check,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


# --------------------------------------------------------------------------- processes


def _proc_stat(pid: str) -> tuple[int, int] | None:
    """(ppid, pgrp) of a process from /proc, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[2])


def _all_processes() -> dict[int, tuple[int, int]]:
    table = {}
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (info := _proc_stat(entry)) is not None:
                table[int(entry)] = info
    return table


def _descendants(root: int) -> list[int]:
    """Every process below ``root`` (Linux /proc; elsewhere ``pgrep -P``)."""
    table = _all_processes()
    if not table:
        found, todo = [], [root]
        while todo:
            out = subprocess.run(["pgrep", "-P", str(todo.pop())], capture_output=True, text=True)
            children = [int(pid) for pid in out.stdout.split()]
            found += children
            todo += children
        return found
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _group_members(pgid: int) -> list[int]:
    return [pid for pid, (_, pgrp) in _all_processes().items() if pgrp == pgid and pid != pgid]


def _main() -> None:
    """``python tests/terminal.py [KEYS] [COLSxROWS]``: key-echo latency of a fresh amux."""
    import statistics

    keys = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    cols, rows = map(int, (sys.argv[2] if len(sys.argv) > 2 else "160x48").split("x"))
    with AmuxTerminal(cols=cols, rows=rows) as term:
        term.wait_ready()
        term.wait_for("ready")
        figures = [term.measure_echo("x") for _ in range(keys)]
        term.press("ctrl+q")
        term.wait_exit()
    ms = sorted(f * 1000 for f in figures)
    print(f"key echo over {keys} keys at {cols}x{rows}: median {statistics.median(ms):.2f} ms, "
          f"min {ms[0]:.2f} ms, max {ms[-1]:.2f} ms")  # fmt: skip


if __name__ == "__main__":
    _main()
