"""RFC 3339 timestamps with nanosecond precision (the replay log's ``recorded_at``).

The on-disk format (SPEC §5.1, shared with acp-mux) writes UTC with exactly nine
fractional digits and a ``Z``: ``2026-05-27T17:42:01.234567890Z``. Reading is lenient:
any number of fraction digits, ``Z``/``z`` or a numeric offset, ``T``/``t``/space.
"""

from __future__ import annotations

import calendar
import re
import time

__all__ = ["format_rfc3339", "now_rfc3339", "parse_rfc3339"]

_NS_PER_S = 1_000_000_000

# The date/time part only changes once a second while frames may be recorded at
# hundreds of thousands per second, so the formatted prefix is cached.
_cached_sec: int = -1
_cached_prefix: str = ""


def format_rfc3339(ns: int) -> str:
    """Format nanoseconds since the epoch as UTC RFC 3339 with nine fraction digits."""
    global _cached_sec, _cached_prefix
    sec, frac = divmod(ns, _NS_PER_S)
    if sec != _cached_sec:
        _cached_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        _cached_sec = sec
    return f"{_cached_prefix}.{frac:09d}Z"


def now_rfc3339() -> str:
    """The current UTC time, e.g. ``2026-05-27T17:42:01.234567890Z``."""
    return format_rfc3339(time.time_ns())


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))"
)


def parse_rfc3339(s: str) -> int | None:
    """Parse an RFC 3339 timestamp to nanoseconds since the epoch.

    Lenient on purpose (logs may come from other tools): any number of fraction digits
    (extra digits beyond nine are truncated), ``Z`` or an offset such as ``+00:00``.

    Returns:
        Nanoseconds since the Unix epoch, or ``None`` if ``s`` is not a timestamp.
    """
    if not isinstance(s, str):
        return None
    m = _RFC3339.fullmatch(s.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if not (year >= 1 and 1 <= month <= 12 and hour <= 23 and minute <= 59 and second <= 60):
        return None
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    frac = m.group(7) or ""
    ns = int((frac + "000000000")[:9])
    # timegm accepts a leap second (60) and simply rolls it into the next minute.
    secs = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    if m.group(9):
        if int(m.group(10)) > 23 or int(m.group(11)) > 59:
            return None
        offset = int(m.group(10)) * 3600 + int(m.group(11)) * 60
        secs -= offset if m.group(9) == "+" else -offset
    return secs * _NS_PER_S + ns


def format_local(at: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An RFC 3339 timestamp in local time as ``fmt``, or ``""`` if there is none."""
    ns = parse_rfc3339(at) if at else None
    if ns is None:
        return ""
    return time.strftime(fmt, time.localtime(ns // 1_000_000_000))
