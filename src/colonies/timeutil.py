"""Nanosecond timestamps and their RFC3339Nano text, as the Go server writes them.

The server keeps times as integer nanoseconds since the epoch (0 = Go's zero time) and formats them
only at the wire. Stdlib only (runs in Pyodide).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from colonies.model import ZERO_TIME

NS = 1_000_000_000


def now_ns() -> int:
    return time.time_ns()


def format_ns(ns: int) -> str:
    """RFC3339Nano in UTC with trailing zeros trimmed, like Go's ``time.RFC3339Nano``."""
    if ns <= 0:
        return ZERO_TIME
    seconds, frac = divmod(ns, NS)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


def parse_ns(text: str) -> int:
    """Inverse of ``format_ns`` for any RFC3339 time (offsets and 0-9 fraction digits)."""
    if not text or text.startswith("0001-01-01T00:00:00"):
        return 0
    main, frac, zone = text, "", ""
    for sep in ("Z", "+", "-"):
        idx = main.rfind(sep)
        if idx > 10:
            main, zone = main[:idx], main[idx:]
            break
    if "." in main:
        main, frac = main.split(".", 1)
    offset = "+00:00" if zone in ("", "Z") else zone
    dt = datetime.fromisoformat(main + offset)
    return int(dt.timestamp()) * NS + int((frac + "000000000")[:9])
