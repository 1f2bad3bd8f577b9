"""Nanosecond timestamps and their RFC3339Nano text, as the Go server writes them.

The server keeps times as integer nanoseconds since the epoch (0 = Go's zero time) and formats them
only at the wire. Stdlib only (runs in Pyodide).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from colonies.model import ZERO_TIME

NS = 1_000_000_000
_DAY = 86_400

_RFC3339 = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[Tt ]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.(?P<frac>\d+))?"
    r"(?P<zone>[Zz]|(?P<sign>[+-])(?P<oh>\d{2}):(?P<om>\d{2})(?::(?P<os>\d{2}))?)?"
)


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date, any year (H. Hinnant's algorithm:
    ``datetime`` stops at year 1, and Go writes its zero time east of UTC's as year 0 or 1)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


# Go's zero time is 0001-01-01T00:00:00Z. In a zone it is written with that zone's offset, and
# for zones whose offset was local mean time in year 1 Go drops the offset's seconds: Stockholm
# writes it as 0001-01-01T01:12:12+01:12, which read back is 12 s past the zero instant. Offsets
# are under a day, so anything before this instant is the zero time, however it was written.
_ZERO_LIMIT = _days_from_civil(1, 1, 2) * _DAY


def now_ns() -> int:
    return time.time_ns()


# Whole-second prefixes already formatted: a process's times are mostly a few recent seconds,
# and each reply formats five of them (strftime is ~2 µs, a lookup ~0.1 µs).
_PREFIXES: dict[int, str] = {}
_PREFIXES_MAX = 256


def format_ns(ns: int) -> str:
    """RFC3339Nano in UTC with trailing zeros trimmed, like Go's ``time.RFC3339Nano``."""
    if ns <= 0:
        return ZERO_TIME
    seconds, frac = divmod(ns, NS)
    text = _PREFIXES.get(seconds)
    if text is None:
        if len(_PREFIXES) >= _PREFIXES_MAX:
            _PREFIXES.clear()
        text = _PREFIXES[seconds] = datetime.fromtimestamp(seconds, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S"
        )
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


def parse_ns(text: str) -> int:
    """Nanoseconds since the epoch of any RFC3339 time; 0 for Go's zero time (or "").

    Any offset is accepted, also the pre-1900 local-mean-time ones Go writes (``+01:12``) and
    offsets with seconds (``+01:12:12``); no offset means UTC; fraction digits beyond nine are
    cut. Raises
    ``ValueError`` for text that is not an RFC3339 time.
    """
    if not text:
        return 0
    match = _RFC3339.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an RFC3339 time: {text!r}")
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
        raise ValueError(f"not an RFC3339 time: {text!r}")
    offset = 0
    if match["sign"]:
        offset = int(match["oh"]) * 3600 + int(match["om"]) * 60 + int(match["os"] or 0)
        if match["sign"] == "-":
            offset = -offset
    seconds = _days_from_civil(year, month, day) * _DAY + hour * 3600 + minute * 60 + second
    seconds -= offset
    if seconds < _ZERO_LIMIT:
        return 0
    frac = int(((match["frac"] or "") + "000000000")[:9])
    return seconds * NS + frac
