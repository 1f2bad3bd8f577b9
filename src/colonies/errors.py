"""The exceptions the SDK raises.

    ColoniesError
     ├── TransportError          the server could not be reached (refused, reset, DNS, TLS)
     ├── ProtocolError           the server answered with something that is not a ColonyOS reply
     ├── WaitTimeout             wait() gave up after the caller's own deadline
     ├── MissingKeyError         a signed call without a private key (also a ValueError)
     └── ServerError             the server answered with an error envelope: .status, .message
          ├── BadRequestError        400
          ├── AccessDeniedError      403 (bad signature, wrong role, unknown message type)
          ├── NotFoundError          404
          │    └── NoProcessAvailable  404 from assign: the long-poll ended with no work
          └── AssignmentsPaused      408/503 from assign: the colony owner paused assignments

Executors treat ``NoProcessAvailable`` and ``AssignmentsPaused`` as "poll again" and
``TransportError`` as "back off and reconnect"; everything else is a real failure. Stdlib only
(runs in Pyodide).
"""

from __future__ import annotations

NO_PROCESS_MESSAGE = "No process available for assignment"


class ColoniesError(Exception):
    """Base of every error raised by this package's client side."""


class TransportError(ColoniesError):
    """The request never got a reply: connection refused, reset, timeout or DNS failure.

    ``reason`` is the short cause for people ("connection refused"), without the URL.
    """

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


class ProtocolError(ColoniesError):
    """The reply was not a ColonyOS envelope (e.g. a proxy's HTML error page)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class WaitTimeout(ColoniesError, TimeoutError):
    """``wait()`` reached the deadline the caller gave it."""


class MissingKeyError(ColoniesError, ValueError):
    """A call that must be signed was made without a private key."""


class ServerError(ColoniesError):
    """The server refused the request; ``status`` is the HTTP status, ``message`` its reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{message} (HTTP {status})")
        self.status = status
        self.message = message

    @staticmethod
    def create(status: int, message: str) -> ServerError:
        """The most specific subclass for a failure envelope."""
        if status == 404 and message.startswith(NO_PROCESS_MESSAGE):
            return NoProcessAvailable(status, message)
        if status in (408, 503) and "paused" in message:
            return AssignmentsPaused(status, message)
        cls = {400: BadRequestError, 403: AccessDeniedError, 404: NotFoundError}.get(
            status, ServerError
        )
        return cls(status, message)


class BadRequestError(ServerError):
    """HTTP 400: the request was malformed or broke a rule (e.g. priority out of range)."""


class AccessDeniedError(ServerError):
    """HTTP 403: the signer lacks the role the message needs, or the signature is bad."""


class NotFoundError(ServerError):
    """HTTP 404: the object does not exist."""


class NoProcessAvailable(NotFoundError):
    """An assign long-poll ended without work; not a failure."""


class AssignmentsPaused(ServerError):
    """Assign refused because the colony's assignments are paused; not a failure."""
