"""Keys first, whatever the agents are doing (issue 13), in a real terminal.

amux runs in a pseudo-terminal (``tests/terminal.py``) while two of its rooms' demo agents
flood at full speed; what is typed in the same write as a room switch must land in the
room switched to. Nothing here is timed: every step waits for what the screen shows.
"""

from __future__ import annotations

import random
import re
import sys

import pytest
from terminal import AmuxTerminal, Condition
from test_terminal_keys import header, make_rooms

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal"),
    pytest.mark.slow,
]

TITLES = ("alpha", "bravo", "charlie")
FLOOD = "/flood 3000000"  # far more than the test lasts: the agents stream throughout


def prompt_shows(text: str) -> re.Pattern[str]:
    """The focused prompt holding exactly ``text`` (the cursor block right after it)."""
    return re.compile(rf"▊ {re.escape(text)}(?!\S)")


@pytest.mark.parametrize("tiled", [False, True], ids=["single", "tiled"])
def test_keys_typed_with_a_room_switch_land_in_the_room_switched_to(tmp_path, tiled):
    home = tmp_path / "home"
    make_rooms(home, *TITLES)
    rng = random.Random(13)
    with AmuxTerminal(home) as term:
        term.wait_ready()
        term.wait_for(header(term, "alpha"))
        term.wait_for("ready", 60)
        for key, title in (("alt+1", "alpha"), ("alt+2", "bravo")):
            term.press(key)
            term.wait_for(header(term, title))
            term.type(FLOOD + "\r")
            term.wait_for(re.compile(r"chunk \d+"), 60, what=f"{title} flooding")
        if tiled:  # every pane on screen, two of them streaming
            term.press("ctrl+b", "z")
            term.wait_for("ctrl+b z single", 30)
        typed = {title: "" for title in TITLES}

        def focused(title: str) -> Condition:
            """``title``'s prompt has the cursor and holds exactly what was typed there
            (in a single layout, its pane is the one shown)."""
            shows = prompt_shows(typed[title])
            if tiled:
                return shows
            named = header(term, title)
            return lambda t: bool(named.search(t.screen_text()) and shows.search(t.screen_text()))

        at = 1  # bravo is focused
        prefix = term.key_bytes("ctrl+b")
        for n in range(24):
            how = rng.choice(("next", "previous", "digit"))
            if how == "next":
                at, keys = (at + 1) % 3, prefix + b"n"
            elif how == "previous":
                at, keys = (at - 1) % 3, prefix + b"p"
            else:
                at = rng.randrange(3)
                keys = term.key_bytes(f"alt+{at + 1}")
            title = TITLES[at]
            word = f" {title[0]}{n}" if typed[title] else f"{title[0]}{n}"
            typed[title] += word
            term.send(keys + word.encode())  # the switch and the text in one write
            term.wait_for(
                focused(title), 60, what=f"{word!r} in {title}'s prompt: {typed[title]!r}"
            )
        # Every room's prompt holds exactly what was typed while it was focused.
        for key, title in zip(("alt+1", "alt+2", "alt+3"), TITLES, strict=True):
            term.press(key)
            term.wait_for(focused(title), 60, what=f"{title}'s prompt holding {typed[title]!r}")
