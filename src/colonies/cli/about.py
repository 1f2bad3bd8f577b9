"""``colonies version`` and ``colonies config``: what this CLI is, and what it would use.

``version`` shows this CLI's version and the server's (``versionmsg``, unsigned). ``config``
shows the effective settings from the ``COLONIES_*`` variables (and ``--host``/``--port``) with
every private key replaced by the ID it stands for: enough to see which identity a command
would sign as, nothing that could leak a key.
"""

from __future__ import annotations

import os
from typing import Any

from rich.text import Text

from colonies import __version__, crypto
from colonies.cli.context import (
    COLONY_NAME_ENV,
    COLONY_OWNER,
    EXECUTOR_TYPE_ENV,
    MEMBER,
    SERVER_OWNER,
    Host,
    Json,
    Port,
    connect,
    server_url,
)
from colonies.cli.output import fields, print_json, print_table
from colonies.client import from_env

EXECUTOR_NAME_ENV = "COLONIES_EXECUTOR_NAME"
# The IDs the Go setup exports beside each key (docker-compose.env): checked against the key.
_ID_ENV = {
    MEMBER.envvar: "COLONIES_ID",
    COLONY_OWNER.envvar: "COLONIES_COLONY_ID",
    SERVER_OWNER.envvar: "COLONIES_SERVER_ID",
}


def version(host: Host = None, port: Port = None, as_json: Json = False) -> None:
    """Show this CLI's version and the server's."""
    with connect(host, port) as client:
        url = client.url
        server = client.version()
    cli = {"version": __version__}
    reply = {
        "buildversion": str(server.get("buildversion", "")),
        "buildtime": str(server.get("buildtime", "")),
    }
    if as_json:
        print_json({"cli": cli, "server": {"url": url, **reply}})
        return
    print_table(
        fields(
            [
                ("CLI version", __version__),
                ("Server", url),
                ("Server version", reply["buildversion"]),
                ("Server build time", reply["buildtime"]),
            ]
        )
    )


def _key(envvar: str) -> dict[str, Any]:
    """What a key variable holds, without the key: set or not, its ID, and whether the ID
    variable exported beside it (if any) agrees."""
    prvkey = os.environ.get(envvar, "")
    if not prvkey:
        return {"set": False}
    try:
        identity = crypto.id_from_private_key(prvkey)
    except crypto.InvalidKeyError as e:
        return {"set": True, "error": f"invalid key: {e}"}
    described: dict[str, Any] = {"set": True, "id": identity}
    exported = os.environ.get(_ID_ENV[envvar], "")
    if exported and exported != identity:
        described["error"] = f"{_ID_ENV[envvar]} is not this key's ID"
    return described


def _value(text: str) -> Text | str:
    return text or Text("not set", style="dim")


def _describe(key: dict[str, Any]) -> Text:
    if not key["set"]:
        return Text("not set", style="dim")
    if "id" not in key:
        return Text(key["error"], style="red")
    text = Text(f"set, ID {key['id']}")
    if "error" in key:
        text.append(f" ({key['error']})", style="red")
    return text


def config(host: Host = None, port: Port = None, as_json: Json = False) -> None:
    """Show the configuration commands use: server, colony, executor defaults and, for each
    key, the ID it signs as (private keys are never printed)."""
    url = server_url(host, port)
    colonyname = os.environ.get(COLONY_NAME_ENV, "")
    executortype = os.environ.get(EXECUTOR_TYPE_ENV, "")
    executorname = os.environ.get(EXECUTOR_NAME_ENV, "")
    settings = {
        "server": url,
        "tls": from_env().tls,
        "colonyname": colonyname,
        "executortype": executortype,
        "executorname": executorname,
        "keys": {role.envvar: _key(role.envvar) for role in (MEMBER, COLONY_OWNER, SERVER_OWNER)},
    }
    if as_json:
        print_json(settings)
        return
    rows: list[tuple[str, Text | str]] = [
        ("Server", url),
        ("TLS", str(settings["tls"]).lower()),
        (f"Colony ({COLONY_NAME_ENV})", _value(colonyname)),
        (f"Executor type ({EXECUTOR_TYPE_ENV})", _value(executortype)),
        (f"Executor name ({EXECUTOR_NAME_ENV})", _value(executorname)),
    ]
    for role in (MEMBER, COLONY_OWNER, SERVER_OWNER):
        label = f"{role.owner.capitalize()} key ({role.envvar})"
        rows.append((label, _describe(_key(role.envvar))))
    print_table(fields(rows))
