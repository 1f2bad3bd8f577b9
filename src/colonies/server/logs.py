"""The server's logs: plain text or one JSON object per line (``--log-format json``).

Every answered RPC is one line on the ``colonies.access`` logger at INFO (message type, signer,
status, duration), so ``--log-level info`` shows the traffic; the line is only built when INFO
is on, which keeps the default (``warning``) free of per-request work.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

ACCESS = logging.getLogger("colonies.access")
FORMATS = ("text", "json")
# ``extra`` fields of an access line, in the order a reader wants them.
ACCESS_FIELDS = ("msgtype", "signer", "status", "duration_ms")
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, RFC 3339), level, logger, message, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(level: str, fmt: str) -> dict[str, Any]:
    """Set up the root logger; returns uvicorn's ``log_config`` for the same format."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's loggers pass their records to the root handler: one format for every line.
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": level.upper()}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def log_request(msgtype: str, signer: str, status: int, seconds: float) -> None:
    """One access line (call only when ``ACCESS.isEnabledFor(logging.INFO)``)."""
    duration_ms = round(seconds * 1000, 3)
    ACCESS.info(
        "%s %s %d %.3fms",
        msgtype,
        signer[:16] or "-",
        status,
        duration_ms,
        extra={"msgtype": msgtype, "signer": signer, "status": status, "duration_ms": duration_ms},
    )
