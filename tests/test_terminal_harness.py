"""The real-terminal harness (tests/terminal.py) proves itself: on the real amux in a pty, and
its byte-level pieces (key encodings, OSC 52, mode scanning, the pyte feed) on synthetic bytes."""

from __future__ import annotations

import base64
import sys

import pytest
from terminal import (
    AmuxTerminal,
    ScreenFeed,
    TerminalTimeout,
    bracketed_paste,
    encode_key,
    osc52_writes,
    parse_osc52,
    scan_modes,
)

PLACEHOLDER = "Message the agent"
REPLY_END = "This is the first prompt of this session."  # the demo reply's last paragraph

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


@posix_only
@pytest.mark.slow
@pytest.mark.parametrize("cols, rows", [(160, 48), (80, 24)], ids=["160x48", "80x24"])
def test_type_send_reply_and_quit_in_a_real_terminal(tmp_path, cols, rows):
    with AmuxTerminal(tmp_path / "amux-home", cols=cols, rows=rows) as term:
        term.wait_ready()
        term.wait_for(PLACEHOLDER)
        lines = term.lines()
        assert len(lines) == rows and max(len(line) for line in lines) <= cols
        assert "ctrl+q quit" in term.line(-1)  # the footer sits on the last row
        x, prompt_row = term.find(PLACEHOLDER)
        assert 0 < x < cols and 0 < prompt_row < rows - 1
        term.wait_for("ready")

        term.type("hello", wait_echo=True)
        term.wait_for(
            lambda t: "hello" in t.line(prompt_row) and PLACEHOLDER not in t.screen_text()
        )

        latency = term.measure_echo("!")  # one more "!" on screen: the prompt shows "hello!"
        assert 0 < latency < 30
        assert "hello!" in term.line(prompt_row)

        mark = term.mark()
        term.press("enter")  # CR: send
        term.wait_for(REPLY_END, since=mark)
        term.wait_for(lambda t: "hello!" not in t.line(prompt_row))  # the prompt was cleared
        if rows >= 48:  # ... and the transcript shows what was sent (80x24: scrolled away)
            assert "hello!" in term.screen_text()
        term.wait_turns_settled(1)  # ctrl+q asks first while a turn runs

        with pytest.raises(TerminalTimeout, match=PLACEHOLDER) as failed:
            term.wait_for("text amux never shows", timeout=0.2)
        assert "did not appear within 0.2s" in str(failed.value)  # ... with the screen in it

        modes = term.modes()
        assert modes.alternate_screen and modes.bracketed_paste and modes.mouse
        term.press("ctrl+q")
        assert term.wait_exit() == 0
        modes = term.modes()  # amux gave the terminal back as it found it
        assert not modes.alternate_screen and not modes.bracketed_paste and not modes.mouse
        assert modes.kitty_flags == 0 and not term.cursor_hidden()
    rooms = term.cli_json("ls", "--json")
    assert [room["title"] for room in rooms] == ["demo"] and rooms[0]["frames"] > 10


@posix_only
@pytest.mark.slow
def test_kitty_keys_paste_resize_and_stability_on_an_idle_amux(tmp_path):
    with AmuxTerminal(tmp_path / "amux-home", cols=80, rows=24) as term:
        term.wait_ready()
        x, prompt_row = term.find(PLACEHOLDER)
        assert term.modes().kitty_flags  # Textual asked for the kitty keyboard protocol
        term.press("h", "i", protocol="kitty")  # CSI 104;;104u CSI 105;;105u with its flags
        term.wait_for(lambda t: "hi" in t.line(prompt_row))
        term.press("ctrl+u")  # clear the prompt
        term.wait_for(PLACEHOLDER)

        term.paste("pasted one\npasted two")  # bracketed: the newline does not send
        term.wait_for(lambda t: t.find("pasted one") and t.find("pasted two"))
        x, row = term.find("pasted one")  # two rows in the prompt
        assert term.find("pasted two") == (x, row + 1)

        term.resize(120, 30)  # SIGWINCH, as a terminal window being resized
        term.wait_for(lambda t: len(t.line(-1)) > 80 and "ctrl+q quit" in t.line(-1))
        assert len(term.lines()) == 30
        term.wait_stable(after="pasted two")  # idle amux keeps drawing (cursor blink)
        assert "pasted one" in term.screen_text()
        term.press("ctrl+q")
        assert term.wait_exit() == 0


@posix_only
def test_wait_for_fails_at_once_when_amux_exits(tmp_path):
    with AmuxTerminal(tmp_path / "amux-home", "no-such-command") as term:
        with pytest.raises(TerminalTimeout, match=r"amux exited \(2\) before 'never'"):
            term.wait_for("never", timeout=60)
        assert term.wait_exit() == 2


# ---------------------------------------------------------------------------- byte level


@pytest.mark.parametrize(
    "key, sent",
    [
        ("enter", b"\r"),
        ("ctrl+j", b"\n"),
        ("alt+x", b"\x1bx"),
        ("alt+1", b"\x1b1"),
        ("alt+enter", b"\x1b\r"),
        ("escape", b"\x1b"),
        ("tab", b"\t"),
        ("shift+tab", b"\x1b[Z"),
        ("backspace", b"\x7f"),
        ("up", b"\x1b[A"),
        ("shift+down", b"\x1b[1;2B"),
        ("ctrl+left", b"\x1b[1;5D"),
        ("pageup", b"\x1b[5~"),
        ("pagedown", b"\x1b[6~"),
        ("ctrl+pageup", b"\x1b[5;5~"),
        ("ctrl+pagedown", b"\x1b[6;5~"),
        ("shift+pageup", b"\x1b[5;2~"),
        ("home", b"\x1b[H"),
        ("end", b"\x1b[F"),
        ("ctrl+home", b"\x1b[1;5H"),
        ("ctrl+end", b"\x1b[1;5F"),
        ("delete", b"\x1b[3~"),
        ("f1", b"\x1bOP"),
        ("f5", b"\x1b[15~"),
        ("ctrl+b", b"\x02"),
        ("ctrl+q", b"\x11"),
        ("ctrl+f", b"\x06"),
        ("ctrl+space", b"\x00"),
        ("A", b"A"),
        ("shift+enter", b"\r"),  # a legacy xterm cannot tell it from enter
    ],
)
def test_xterm_key_bytes(key, sent):
    assert encode_key(key) == sent


def test_application_cursor_keys_use_ss3():
    assert encode_key("up", app_cursor=True) == b"\x1bOA"
    assert encode_key("ctrl+up", app_cursor=True) == b"\x1b[1;5A"


@pytest.mark.parametrize(
    "key, flags, sent",
    [
        ("shift+enter", 1, b"\x1b[13;2u"),
        ("ctrl+enter", 1, b"\x1b[13;5u"),
        ("enter", 1, b"\r"),  # unmodified enter stays legacy unless every key is reported
        ("enter", 8, b"\x1b[13u"),
        ("escape", 1, b"\x1b[27u"),
        ("alt+1", 1, b"\x1b[49;3u"),
        ("ctrl+b", 1, b"\x1b[98;5u"),
        ("a", 1, b"a"),
        ("a", 9, b"\x1b[97u"),
        ("A", 1, b"A"),
        ("A", 8, b"\x1b[97;2u"),
        ("a", 25, b"\x1b[97;;97u"),  # 16: the text it types rides along (Textual pushes 25)
        ("A", 25, b"\x1b[97;2;65u"),
        ("ctrl+a", 25, b"\x1b[97;5u"),
        ("space", 1, b" "),
        ("ctrl+space", 1, b"\x1b[32;5u"),
        ("ctrl+pageup", 1, b"\x1b[5;5~"),
        ("up", 1, b"\x1b[A"),
        ("shift+up", 1, b"\x1b[1;2A"),
    ],
)
def test_kitty_key_bytes(key, flags, sent):
    assert encode_key(key, "kitty", kitty_flags=flags) == sent


def test_modify_other_keys_bytes():
    assert encode_key("shift+enter", "modify_other_keys") == b"\x1b[27;2;13~"
    assert encode_key("ctrl+1", "modify_other_keys") == b"\x1b[27;5;49~"
    assert encode_key("enter", "modify_other_keys") == b"\r"


def test_keys_that_need_another_protocol_are_refused():
    with pytest.raises(ValueError, match="kitty"):
        encode_key("ctrl+1")
    with pytest.raises(ValueError, match="unknown key"):
        encode_key("ctrl+nokey")


def test_bracketed_paste_bytes():
    assert bracketed_paste("a\rb") == b"\x1b[200~a\rb\x1b[201~"


def _osc52(text: str, end: bytes = b"\x07", selection: bytes = b"c") -> bytes:
    return b"\x1b]52;" + selection + b";" + base64.b64encode(text.encode()) + end


def test_osc52_payloads_are_decoded_in_order():
    wrapped = b"\x1bPtmux;" + _osc52("in tmux").replace(b"\x1b", b"\x1b\x1b") + b"\x1b\\"
    data = (
        b"\x1b[1;1Hdrawn text"
        + _osc52("first, BEL ended")
        + b"\x1b[0m"
        + _osc52("second: ST ended — ünïcode ✓", end=b"\x1b\\")
        + b"\x1b]52;c;?\x07"  # a query, not a write
        + wrapped
        + _osc52("primary", selection=b"p")
    )
    assert parse_osc52(data) == [
        "first, BEL ended",
        "second: ST ended — ünïcode ✓",
        "in tmux",
        "primary",
    ]
    writes = osc52_writes(data)
    assert [w.via_tmux for w in writes] == [False, False, True, False]
    assert [w.selection for w in writes] == ["c", "c", "c", "p"]
    assert parse_osc52(b"\x1b]52;c;" + base64.b64encode(b"torn")) == []  # not ended yet


def test_modes_follow_set_and_reset():
    modes = scan_modes(
        b"\x1b[?1049h\x1b[?1000;1006h\x1b[?2004h\x1b[>25u\x1b[>4;2m\x1b[?1000l\x1b[>1u"
    )
    assert modes.alternate_screen and modes.bracketed_paste and modes.mouse == {1006}
    assert modes.kitty_stack == [25, 1] and modes.kitty_flags == 1
    assert modes.modify_other_keys == 2
    modes = scan_modes(b"\x1b[>25u\x1b[>1u\x1b[<2u\x1b[>4;2m\x1b[>4n\x1b[?2004h\x1b[?2004l")
    assert modes.kitty_flags == 0 and modes.modify_other_keys == 0 and not modes.bracketed_paste
    assert scan_modes(b"\x1b[=5;1u").kitty_flags == 5
    assert scan_modes(b"\x1b[>1u\x1b[=4;2u").kitty_flags == 5  # add
    assert scan_modes(b"\x1b[>5u\x1b[=1;3u").kitty_flags == 4  # remove
    assert scan_modes(b"\x1b[>5u\x1b[=8u").kitty_stack == [8]  # replace


def test_screen_feed_skips_what_pyte_misreads_even_when_split():
    data = b"\x1b[>4;1m\x1b[<uplain\x1bPtmux;\x1b\x1b]52;c;eA==\x07\x1b\\ text\x1b[>25u!"
    feed = ScreenFeed(40, 3)
    for i in range(len(data)):  # one byte at a time: every sequence is split
        feed.feed(data[i : i + 1])
    feed.feed(b"")
    assert feed.lines()[0] == "plain text!"
    assert not any(feed.screen.buffer[0][x].underscore for x in range(11))


def test_screen_feed_lines_match_pyte_s_display_as_rows_change():
    """``lines()`` reads again only the rows pyte marked dirty: after every chunk of a
    session that draws, scrolls, erases, writes wide characters and resizes, it shows what
    pyte's own (whole-screen) ``display`` shows."""
    session = (
        b"\x1b[2J\x1b[Hfirst row\r\nsecond \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e row\r\n"
        + b"".join(b"line %d of a scrolling text\r\n" % n for n in range(12))
        + b"\x1b[3;5Hpatched\x1b[K\x1b[6;1H\x1b[2Kcleared\x1b[1;20H\xf0\x9f\x8e\x89 wide end"
        + b"\x1b[8;1H\x1b[J\x1b[?25l\x1b[10;10Hlast"
    )
    feed = ScreenFeed(30, 10)
    for step in (1, 7, 64):
        feed.screen.reset()
        for i in range(0, len(session), step):
            feed.feed(session[i : i + step])
            assert feed.lines() == [row.rstrip() for row in feed.screen.display]
    feed.screen.resize(12, 40)
    feed.feed(b"\x1b[12;1Hafter resize")
    assert feed.lines() == [row.rstrip() for row in feed.screen.display]
    assert feed.lines()[-1] == "after resize"
