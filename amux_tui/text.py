"""Making untrusted text safe to show: the one sanitizer of amux (imports nothing of amux).

Agent output, room titles and failure reasons end up in a terminal — the TUI, ``amux
show``/``export``/``ls`` — where control characters could recolour, clear or retitle the
screen, write the clipboard (OSC 52) or reorder text (bidi overrides). Everything from
outside passes through one of these before it is drawn:

* :func:`visible` keeps the layout (newlines, tabs) and shows every other control
  character as a visible symbol (ESC → ``␛``), for transcripts and exports;
* :func:`one_line` flattens to a single line with controls shown as ``?``, for labels;
* :func:`plain` drops controls altogether: room titles, notification payloads;
* :func:`json_escaped` writes them as JSON ``\\uXXXX`` escapes, for a raw log shown in
  a terminal (the JSON means the same, the terminal sees only text).
"""

from __future__ import annotations

import re

__all__ = ["TITLE_LIMIT", "json_escaped", "one_line", "plain", "visible"]

TITLE_LIMIT = 120

# C0 controls except \t and \n, DEL, C1 controls (\x9b is a one-byte CSI on some
# terminals), and the bidirectional overrides/isolates that reorder what follows them.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _symbol(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode "control pictures": ESC → ␛, CR → ␍
    if code == 0x7F:
        return "␡"
    if code <= 0x9F:
        return f"\\x{code:02x}"
    return f"<U+{code:04X}>"


def visible(text: str) -> str:
    """``text`` with its layout kept and every other control character made visible.

    ``\\r\\n`` becomes ``\\n``; tabs and newlines stay; ESC shows as ``␛`` so an ANSI
    sequence appears as typed instead of acting on the terminal.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(_symbol, text)


def json_escaped(text: str) -> str:
    """JSON text with each control character above written as a ``\\uXXXX`` escape.

    Inside a JSON string that is the same value; a raw control character can only be
    there in a JSON string (or a line that is not JSON at all), so the JSON keeps its
    meaning while a terminal showing it is never driven by it.
    """
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` on one line: whitespace runs become one space, other controls ``?``.

    Longer than ``limit`` characters → cut with ``…``.
    """
    out = "".join(ch if ch.isprintable() else "?" for ch in " ".join(text.split()))
    if limit is not None and len(out) > limit:
        out = out[: max(0, limit - 1)] + "…"
    return out


def plain(text: str | None, limit: int = TITLE_LIMIT) -> str:
    """One line with no control characters at all (whitespace runs collapsed), at most
    ``limit`` characters; "" when nothing printable is left. What a room title may be."""
    if not text:
        return ""
    text = " ".join(text.split())
    return "".join(ch for ch in text if ch.isprintable())[:limit]
