"""Checks on the IDs that commands send (``--userid``, ``--executorid``, ``--colonyid`` …).

An ID is the lowercase hex SHA3-256 of a public key (``colonies security id`` prints it). The Go
CLI checks only the length; a wrong ID given to ``chid`` would lock its owner out for good, so
the whole form is checked before anything is sent.
"""

from __future__ import annotations

import re

from colonies.cli.output import fail

_ID = re.compile(r"^[0-9a-f]{64}$")


def require_id(value: str, flag: str) -> str:
    if not _ID.match(value):
        fail(
            f"invalid ID for {flag}: an ID is 64 lowercase hex characters "
            "(colonies security id --prvkey <key> prints a key's ID)"
        )
    return value
