"""Resource quantities in function specs and assign requests: ``"1000m"`` CPU, ``"10Gi"`` memory.

Parsed the way the Go server stores them (spec §5.2, §6.1): CPU in millicores, memory in bytes,
empty meaning "not asked for" (0 in a spec, unlimited in an assign request). Stdlib only.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal

UNLIMITED = 2**63 - 1  # also the largest quantity: Go parses them into int64

_MEM_UNITS = {
    "": 1,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
    "t": 10**12,
    "p": 10**15,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "pb": 10**15,
    "ki": 2**10,
    "mi": 2**20,
    "gi": 2**30,
    "ti": 2**40,
    "pi": 2**50,
}
_QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$")
_MAX_LENGTH = 64  # digits and point: int64 has 19 digits, so longer ones are refused unparsed
_EXACT = Context(prec=2 * _MAX_LENGTH)  # no rounding before the truncation to an int


def _scaled(text: str, number: str, scale: int) -> int:
    """``number * scale`` truncated to an int, or ``ValueError`` beyond int64 (as Go refuses)."""
    if len(number) > _MAX_LENGTH:
        raise ValueError(f"invalid quantity {text!r:.60}: more than {_MAX_LENGTH} digits")
    value = int(_EXACT.multiply(Decimal(number), scale))
    if value > UNLIMITED:
        raise ValueError(f"quantity {text!r:.60} is out of range (at most {UNLIMITED})")
    return value


def parse_cpu(text: str) -> int:
    """Millicores: ``"500m"`` -> 500, ``"2"`` -> 2000, ``""`` -> 0."""
    if not text:
        return 0
    match = _QUANTITY.match(text)
    if not match or match.group(2) not in ("", "m"):
        raise ValueError(f"invalid CPU quantity {text!r:.60}, expected e.g. '500m' or '2'")
    return _scaled(text, match.group(1), 1 if match.group(2) == "m" else 1000)


def parse_memory(text: str) -> int:
    """Bytes: ``"10Gi"`` -> 10737418240, ``"500MB"`` -> 500000000, ``""`` -> 0."""
    if not text:
        return 0
    match = _QUANTITY.match(text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _MEM_UNITS:
        raise ValueError(f"invalid memory quantity {text!r:.60}, expected e.g. '512Mi' or '10Gi'")
    return _scaled(text, match.group(1), _MEM_UNITS[unit])
