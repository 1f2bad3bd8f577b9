"""RPC handlers, one module per domain, registered by payload type.

A handler gets the decoded message and the recovered signer ID, checks authorization, acts on the
store and returns the reply object (``None`` for the empty ``{}`` reply). Refusals are
``RPCError``s carrying the HTTP status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from colonies.model import INT64_MAX, INT64_MIN, Wire, WireError
from colonies.rpc import RPCError
from colonies.server.context import ServerContext

W = TypeVar("W", bound=Wire)


class Msg:
    """A request message with typed, validated field access (names match case-insensitively)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = {k.lower(): v for k, v in raw.items()}

    def _get(self, key: str, types: tuple[type, ...], default: Any, what: str) -> Any:
        value = self.raw.get(key)
        if value is None:
            return default
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise RPCError(400, f"Failed to parse message: field {key} must be {what}")
        return value

    def text(self, key: str) -> str:
        return str(self._get(key, (str,), "", "a string"))

    def integer(self, key: str, default: int = 0) -> int:
        """An int64, like the Go field it stands for (out of range: 400, as Go refuses it)."""
        value = self._get(key, (int, float), default, "an integer")
        if isinstance(value, float) and not value.is_integer():
            raise RPCError(400, f"Failed to parse message: field {key} must be an integer")
        if not INT64_MIN <= value <= INT64_MAX:
            raise RPCError(400, f"Failed to parse message: field {key} is out of int64 range")
        return int(value)

    def flag(self, key: str) -> bool:
        return bool(self._get(key, (bool,), False, "a boolean"))

    def array(self, key: str) -> list[Any]:
        return list(self._get(key, (list,), [], "a list"))

    def strings(self, key: str) -> list[str]:
        values = self.array(key)
        if not all(isinstance(v, str) for v in values):
            raise RPCError(400, f"Failed to parse message: field {key} must be a list of strings")
        return values

    def obj(self, key: str, cls: type[W]) -> W:
        value = self.raw.get(key)
        if value is None:
            raise RPCError(400, f"Failed to parse message: field {key} is missing")
        try:
            return cls.from_dict(value)
        except WireError as e:
            raise RPCError(400, f"Failed to parse message: {e}") from None


Handler = Callable[[ServerContext, Msg, str], Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    handler: Handler
    reply_type: str


HANDLERS: dict[str, Route] = {}


def handles(msgtype: str, *, reply_type: str = "") -> Callable[[Handler], Handler]:
    """Register a handler for ``msgtype``; the reply carries ``reply_type`` (default: the same)."""

    def register(fn: Handler) -> Handler:
        HANDLERS[msgtype] = Route(fn, reply_type or msgtype)
        return fn

    return register


def load() -> dict[str, Route]:
    """Import every handler module so that their registrations run."""
    from colonies.server.handlers import (  # noqa: F401
        blueprints,
        channels,
        colonies,
        crons,
        executors,
        files,
        functions,
        generators,
        processes,
        security,
        server,
        users,
        workflows,
    )

    return HANDLERS
