"""``colonies dev``: a ready-to-use server with colony ``dev`` in one command.

The keys live in the data directory, so running it again resumes the same server, colony and
processes. Keys given in the environment (``COLONIES_SERVER_PRVKEY``, ``COLONIES_COLONY_PRVKEY``,
``COLONIES_PRVKEY``) win over stored ones, so the upstream ``docker-compose.env`` works as is.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlencode

import typer
from rich.markup import escape
from starlette.routing import BaseRoute

from colonies import crypto, jointoken
from colonies.cli.output import err, fail
from colonies.model import Colony, Executor, ExecutorState
from colonies.server.context import ServerConfig
from colonies.server.runner import open_store, serve
from colonies.store.sqlite import SQLiteStore
from colonies.timeutil import format_ns, now_ns
from colonies.web import TUTORIAL, PyodideNotFound, WebBundle, find_pyodide
from colonies.web.dashboard_routes import dashboard_routes
from colonies.web.routes import executor_routes

KEYS_FILE = "keys.json"
WASM_TYPE = "wasm"
TOKEN_TTL = 24 * 3600
ENV_FILE = "dev.env"
DEV_EXECUTOR = "myexecutor"


@dataclass
class DevKeys:
    server_prvkey: str
    colony_prvkey: str
    prvkey: str

    @classmethod
    def load(cls, data_dir: Path) -> DevKeys:
        """Environment first, then the data directory, then fresh keys."""
        stored: dict[str, str] = {}
        path = data_dir / KEYS_FILE
        if path.exists():
            stored = json.loads(path.read_text())

        def pick(env: str, field: str) -> str:
            return os.environ.get(env) or stored.get(field) or crypto.generate_private_key()

        return cls(
            server_prvkey=pick("COLONIES_SERVER_PRVKEY", "server_prvkey"),
            colony_prvkey=pick("COLONIES_COLONY_PRVKEY", "colony_prvkey"),
            prvkey=pick("COLONIES_PRVKEY", "prvkey"),
        )

    def save(self, data_dir: Path) -> None:
        path = data_dir / KEYS_FILE
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        path.chmod(0o600)


async def bootstrap(store: SQLiteStore, keys: DevKeys, colonyname: str, executortype: str) -> None:
    """Server ID, colony and an approved member identity; each step skipped if already done."""
    await store.set_server_id(crypto.id_from_private_key(keys.server_prvkey))
    colonyid = crypto.id_from_private_key(keys.colony_prvkey)
    colony = await store.get_colony(colonyname)
    if colony is not None and colony.colonyid != colonyid:
        raise ValueError(
            f"colony {colonyname} in this data directory has another owner key; "
            "unset COLONIES_COLONY_PRVKEY or use another --data-dir"
        )
    if colony is None:
        await store.add_colony(Colony(colonyid=colonyid, name=colonyname))
    memberid = crypto.id_from_private_key(keys.prvkey)
    member = await store.get_executor(colonyname, DEV_EXECUTOR)
    if member is None or member.executorid != memberid:
        await store.add_executor(
            Executor(
                executorid=memberid,
                executortype=executortype,
                executorname=DEV_EXECUTOR,
                colonyname=colonyname,
                state=ExecutorState.APPROVED,
                commissiontime=format_ns(now_ns()),
            ),
            replace=True,
        )


def env_block(
    keys: DevKeys,
    host: str,
    port: int,
    colonyname: str,
    executortype: str,
    fs_dir: Path | None = None,
) -> str:
    values = {
        "COLONIES_SERVER_HOST": "localhost" if host in ("0.0.0.0", "127.0.0.1") else host,
        "COLONIES_SERVER_PORT": str(port),
        "COLONIES_SERVER_HTTP_PORT": str(port),
        "COLONIES_TLS": "false",
        "COLONIES_SERVER_ID": crypto.id_from_private_key(keys.server_prvkey),
        "COLONIES_SERVER_PRVKEY": keys.server_prvkey,
        "COLONIES_COLONY_NAME": colonyname,
        "COLONIES_COLONY_ID": crypto.id_from_private_key(keys.colony_prvkey),
        "COLONIES_COLONY_PRVKEY": keys.colony_prvkey,
        "COLONIES_ID": crypto.id_from_private_key(keys.prvkey),
        "COLONIES_PRVKEY": keys.prvkey,
        "COLONIES_EXECUTOR_TYPE": executortype,
    }
    if fs_dir is not None:  # ColonyFS: file bytes in a local directory, no S3 server
        values["COLONIES_FS_DIR"] = str(fs_dir)
    return "".join(f'export {k}="{v}"\n' for k, v in values.items())


def read_env_block(text: str) -> dict[str, str]:
    """The variables of an ``env_block`` (what ``dev.env`` holds), e.g. for scripts and tests."""
    env = {}
    for line in text.splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = value.strip('"')
    return env


def dev(
    port: int = typer.Option(
        50080,
        "--port",
        envvar=["COLONIES_SERVER_HTTP_PORT", "COLONIES_SERVER_PORT"],
        help="HTTP port.",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    data_dir: Path = typer.Option(
        Path(".colonies-dev"),
        "--data-dir",
        envvar="COLONIES_DEV_DIR",
        help="Where the database and the dev keys live; reuse it to resume.",
    ),
    colonyname: str = typer.Option("dev", "--colony", envvar="COLONIES_COLONY_NAME"),
    executortype: str = typer.Option("cli", "--executortype", envvar="COLONIES_EXECUTOR_TYPE"),
    modules: list[str] = typer.Option(
        [TUTORIAL],
        "--module",
        "-m",
        help="Python module(s) of functions for the browser executor page (repeatable).",
    ),
    log_level: str = typer.Option("warning", "--log-level"),
) -> None:
    """Start a development server with colony DEV and print the environment for other shells.

    The server also hosts the browser executor at /executor/, pre-filled with a join token.
    """
    store = open_store(data_dir)
    keys = DevKeys.load(data_dir)
    keys.save(data_dir)
    try:
        asyncio.run(bootstrap(store, keys, colonyname, executortype))
    except ValueError as e:
        fail(str(e))
    fs_dir = (data_dir / "fs").resolve()  # ColonyFS objects (``colonies fs``)
    fs_dir.mkdir(parents=True, exist_ok=True)
    block = env_block(keys, host, port, colonyname, executortype, fs_dir)
    (data_dir / ENV_FILE).write_text(block)
    (data_dir / ENV_FILE).chmod(0o600)
    typer.echo(block, nl=False)
    web, problem = browser_executor(keys, colonyname, modules)
    shown = "localhost" if host in ("0.0.0.0", "127.0.0.1") else host
    err.print(
        f"\n[bold green]ColonyOS dev server[/] on http://{host}:{port} "
        f"(colony [bold]{colonyname}[/], data in {data_dir.resolve()})\n"
        f"In another shell: [bold]source {data_dir / ENV_FILE}[/] (or paste the exports above)\n"
        + (
            f"Browser executor: [bold]http://{shown}:{port}/executor/[/] "
            f"(type {WASM_TYPE}, pre-filled with a {TOKEN_TTL // 3600} h join token)"
            if not problem
            else f"[yellow]Browser executor unavailable:[/] {escape(problem)}"
        )
        + "\nStop with Ctrl-C; run again to resume."
    )
    # The dashboard, signed in: the keys ride in the URL fragment, which browsers never send.
    web = [*web, *dashboard_routes()]
    typer.echo(f"Dashboard: {dashboard_link(keys, shown, port, colonyname)}", err=True)
    try:
        config = ServerConfig.from_env()
    except ValueError as e:
        fail(str(e))
    config.host, config.port = host, port
    config.server_id = crypto.id_from_private_key(keys.server_prvkey)
    serve(store, config, web=web, log_level=log_level)


def dashboard_link(keys: DevKeys, host: str, port: int, colonyname: str) -> str:
    """``/dashboard/`` signed in as the dev member (and the server owner, for the colonies view)."""
    fragment = urlencode(
        {"prvkey": keys.prvkey, "colony": colonyname, "serverprvkey": keys.server_prvkey}
    )
    return f"http://{host}:{port}/dashboard/#{fragment}"


def browser_executor(
    keys: DevKeys, colonyname: str, modules: list[str]
) -> tuple[list[BaseRoute], str]:
    """The /executor/ routes, pre-filled with a join token (never the colony key), and what
    is wrong if the page cannot be served."""
    try:
        bundle = WebBundle(
            find_pyodide(),
            modules,
            config={
                "colonyName": colonyname,
                "executorType": WASM_TYPE,
                "joinToken": jointoken.create(keys.colony_prvkey, colonyname, WASM_TYPE, TOKEN_TTL),
            },
        )
    except (PyodideNotFound, ImportError) as e:
        return executor_routes(None, str(e)), str(e)
    return executor_routes(bundle), ""
