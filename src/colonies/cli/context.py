"""Where commands find the server, the colony and the keys, and how SDK errors reach the user.

Flags win; otherwise the Go CLI's variables are read: ``COLONIES_SERVER_HOST`` (default
localhost), ``COLONIES_SERVER_HTTP_PORT`` then ``COLONIES_SERVER_PORT`` (default 50080),
``COLONIES_TLS``, ``COLONIES_COLONY_NAME``, ``COLONIES_PRVKEY`` (a colony member: an executor
or a user), ``COLONIES_COLONY_PRVKEY`` (colony owner), ``COLONIES_SERVER_PRVKEY`` (server owner) and
``COLONIES_EXECUTOR_TYPE``.

Deliberate difference from Go: only ``COLONIES_TLS=true`` means HTTPS; unset (or any other value)
means plain HTTP, where the Go CLI treats unset as HTTPS. The usual setups (docker-compose.env,
``colonies dev``) are plain HTTP, so HTTPS by default would only turn a missing variable into a
confusing TLS error. ``COLONIES_CA_FILE`` names a PEM file of CAs to trust (a TLS server with a
private or self-signed certificate: ``colonies server start --tls-cert … --tls-key …``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Annotated, Any

import typer

from colonies.cli.output import fail
from colonies.client import Client, from_env
from colonies.crypto import InvalidKeyError
from colonies.errors import (
    AccessDeniedError,
    ColoniesError,
    ProtocolError,
    ServerError,
    TransportError,
)

COLONY_NAME_ENV = "COLONIES_COLONY_NAME"
EXECUTOR_TYPE_ENV = "COLONIES_EXECUTOR_TYPE"

# The Go server's wording when a colony is missing (403 from auth checks, 404 from remove).
_UNKNOWN_COLONY = re.compile(r"Colony with name <?([^<>\s]*)>? (?:does not exist|not found)")


@dataclass(frozen=True)
class KeyRole:
    """One of the three keys a command can sign with: its flag, its variable and whose it is."""

    owner: str
    flag: str
    envvar: str

    def option(self) -> Any:
        return typer.Option(
            self.flag,
            envvar=self.envvar,
            help=f"Private key of the {self.owner}.",
            show_default=False,
        )

    def describe(self) -> str:
        return f"the {self.owner} key ({self.envvar} / {self.flag})"


MEMBER = KeyRole("colony member", "--prvkey", "COLONIES_PRVKEY")
COLONY_OWNER = KeyRole("colony owner", "--colonyprvkey", "COLONIES_COLONY_PRVKEY")
SERVER_OWNER = KeyRole("server owner", "--serverprvkey", "COLONIES_SERVER_PRVKEY")

Host = Annotated[
    str | None,
    typer.Option(
        "--host",
        help="Server host (default: $COLONIES_SERVER_HOST, else localhost).",
        show_default=False,
    ),
]
Port = Annotated[
    int | None,
    typer.Option(
        "--port",
        help="Server HTTP port "
        "(default: $COLONIES_SERVER_HTTP_PORT, else $COLONIES_SERVER_PORT, else 50080).",
        show_default=False,
    ),
]
PrvKey = Annotated[str | None, MEMBER.option()]
ColonyPrvKey = Annotated[str | None, COLONY_OWNER.option()]
ServerPrvKey = Annotated[str | None, SERVER_OWNER.option()]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def server_url(host: str | None, port: int | None) -> str:
    """``--host``/``--port`` over the environment; the scheme comes from ``COLONIES_TLS``."""
    try:
        config = from_env()
    except ValueError as e:
        fail(str(e))
    return replace(config, host=host or config.host, port=port or config.port).url


def colony_name(name: str | None = None, flag: str = "") -> str:
    """The colony given by ``flag`` (if the command has one), else ``COLONIES_COLONY_NAME``."""
    name = name or os.environ.get(COLONY_NAME_ENV)
    if not name:
        fail(f"no colony given: {f'pass {flag} or ' if flag else ''}set {COLONY_NAME_ENV}")
    return name


@contextmanager
def connect(
    host: str | None, port: int | None, role: KeyRole | None = None, prvkey: str | None = None
) -> Iterator[Client]:
    """A client signing with ``prvkey`` (the ``role`` key); SDK errors raised inside the block
    end the command with one line on stderr, never a traceback. ``role=None``: unsigned calls.
    """
    url = server_url(host, port)
    if role is not None and not prvkey:
        fail(f"no {role.owner} key: set {role.envvar} or pass {role.flag}")
    try:
        with Client(url, prvkey) as client:
            yield client
    except (ColoniesError, InvalidKeyError) as e:
        fail(describe(e, url, role))


def describe(e: ColoniesError | InvalidKeyError, url: str, role: KeyRole | None) -> str:
    """The one line a user needs: what went wrong and which setting to look at."""
    if isinstance(e, TransportError):
        return f"cannot reach the ColonyOS server at {url}: {e.reason}"
    if isinstance(e, InvalidKeyError):
        return f"{e} (check {role.envvar} / {role.flag})" if role else str(e)
    if isinstance(e, ProtocolError):
        return f"{url} did not answer like a ColonyOS server: {e}"
    if isinstance(e, ServerError):
        if unknown := _UNKNOWN_COLONY.search(e.message):
            return f"colony {unknown[1]} does not exist on {url} (check {COLONY_NAME_ENV})"
        if isinstance(e, AccessDeniedError) and role is not None:
            return f"access denied, signed with {role.describe()}: {e.message}"
        return e.message
    return str(e)
