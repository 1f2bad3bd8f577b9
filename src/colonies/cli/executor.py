"""``colonies executor``: register (``add``, or ``create`` with a new key), list, inspect,
approve, reject and remove executors; ``chid`` moves an executor to a new key.

Changing an executor needs the colony owner's key; reading needs a member's; ``chid`` is signed
by the executor itself. The colony is ``COLONIES_COLONY_NAME``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from colonies import crypto
from colonies.cli import executor_run, executor_token
from colonies.cli.context import (
    COLONY_OWNER,
    EXECUTOR_TYPE_ENV,
    MEMBER,
    ColonyPrvKey,
    Host,
    Json,
    Port,
    PrvKey,
    colony_name,
    connect,
)
from colonies.cli.ids import require_id
from colonies.cli.output import (
    done,
    executor_state,
    fail,
    fields,
    format_time,
    print_json,
    print_table,
    table,
)
from colonies.client import Client
from colonies.model import Executor, ExecutorState, WireError
from colonies.timeutil import NS, parse_ns

app = typer.Typer(help="Manage executors.", no_args_is_help=True)

Name = Annotated[str, typer.Option("--name", help="Executor name.")]


@app.command()
def add(
    executorid: Annotated[str, typer.Option("--executorid", help="ID of the executor's key.")],
    name: Name,
    executortype: Annotated[
        str,
        typer.Option("--type", envvar=EXECUTOR_TYPE_ENV, help="Executor type processes target."),
    ],
    approve: Annotated[bool, typer.Option("--approve", help="Approve it right away.")] = False,
    host: Host = None,
    port: Port = None,
    colonyprvkey: ColonyPrvKey = None,
) -> None:
    """Register an executor; it gets no work until approved (colony key)."""
    colonyname = colony_name()
    executor = Executor(
        executorid=executorid, executortype=executortype, executorname=name, colonyname=colonyname
    )
    with connect(host, port, COLONY_OWNER, colonyprvkey) as client:
        client.add_executor(executor)
        if approve:
            client.approve_executor(colonyname, name)
    if approve:
        done(f"Executor {name} added and approved")
    else:
        done(f"Executor {name} added; approve it with: colonies executor approve --name {name}")


@app.command("ls")
def ls(
    show_all: Annotated[
        bool, typer.Option("--all", help="Include unregistered (removed) executors.")
    ] = False,
    executortype: Annotated[
        str | None, typer.Option("--type", help="Only executors of this type.")
    ] = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
    as_json: Json = False,
) -> None:
    """List the colony's executors (member key)."""
    colonyname = colony_name()
    with connect(host, port, MEMBER, prvkey) as client:
        executors = [
            e
            for e in client.get_executors(colonyname)
            if (show_all or e.state != ExecutorState.UNREGISTERED)
            and (not executortype or e.executortype == executortype)
        ]
    if as_json:
        print_json([e.to_dict() for e in executors])
        return
    result = table(
        "Name",
        "Type",
        "State",
        "Online",
        "Last heard from",
        "Location",
        "Executor ID",
        empty=f"No executors in colony {colonyname}"
        + ("" if show_all else " (--all shows removed ones)"),
    )
    now = time.time()
    for e in executors:
        result.add_row(
            e.executorname,
            e.executortype,
            executor_state(e.state),
            online(e, now),
            heard_ago(e.lastheardfromtime, now),
            e.locationname,
            e.executorid,
        )
    print_table(result)


# Executors call at least this often while they serve (a long-poll each ``--poll-timeout``, the
# browser page's every few seconds): longer silent means the process or the tab is gone.
ONLINE_WITHIN = 60.0


def online(executor: Executor, now: float) -> Text:
    """ "online" if the executor was heard from within ``ONLINE_WITHIN`` seconds."""
    heard = parse_ns(executor.lastheardfromtime) / NS if executor.lastheardfromtime else 0.0
    if executor.state == ExecutorState.APPROVED and heard and now - heard <= ONLINE_WITHIN:
        return Text("online", style="green")
    return Text("offline", style="dim")


def heard_ago(wire_time: str, now: float) -> str:
    """``12 s ago``, ``5 min ago``, ``3 h ago``, ``2 d ago``; "never" for the zero time."""
    try:
        ns = parse_ns(wire_time)
    except ValueError:
        return wire_time
    if not ns:
        return "never"
    seconds = max(0.0, now - ns / NS)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


@app.command()
def get(
    name: Name,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
    as_json: Json = False,
) -> None:
    """Show one executor (member key)."""
    colonyname = colony_name()
    with connect(host, port, MEMBER, prvkey) as client:
        executor = client.get_executor(colonyname, name)
    if as_json:
        print_json(executor.to_dict())
        return
    print_table(
        fields(
            [
                ("Name", executor.executorname),
                ("Executor ID", executor.executorid),
                ("Type", executor.executortype),
                ("Colony", executor.colonyname),
                ("State", executor_state(executor.state)),
                ("Location", executor.locationname),
                ("Commissioned", format_time(executor.commissiontime)),
                ("Last heard from", format_time(executor.lastheardfromtime)),
            ]
        )
    )


def _changer(change: Callable[[Client, str, str], None], past: str) -> Callable[..., None]:
    """One of ``approve``/``reject``/``remove``: same flags, same key, another call."""

    def command(
        name: Name, host: Host = None, port: Port = None, colonyprvkey: ColonyPrvKey = None
    ) -> None:
        colonyname = colony_name()
        with connect(host, port, COLONY_OWNER, colonyprvkey) as client:
            change(client, colonyname, name)
        done(f"Executor {name} {past}")

    return command


app.command("approve", help="Approve an executor so that it gets work (colony key).")(
    _changer(Client.approve_executor, "approved")
)
app.command("reject", help="Reject an executor: it stays registered, gets no work (colony key).")(
    _changer(Client.reject_executor, "rejected")
)
app.command(
    "remove", help="Unregister an executor; its running processes go back to waiting (colony key)."
)(_changer(Client.remove_executor, "removed"))


app.command("run")(executor_run.run)
app.add_typer(executor_token.app, name="token")


# --- admin: new keys, key rotation (spec §4.12, §7.3) ---


@app.command()
def chid(
    executorid: Annotated[str, typer.Option("--executorid", help="ID of the executor's new key.")],
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Move your executor to a new key: sign with its current key (COLONIES_PRVKEY / --prvkey);
    afterwards only the new key works, and the processes it runs stay its own."""
    colonyname = colony_name()
    require_id(executorid, "--executorid")
    with connect(host, port, MEMBER, prvkey) as client:
        client.change_executor_id(colonyname, executorid)
    done(f"Executor ID changed in colony {colonyname}: sign with the new key from now on")


def _write_new(path: Path, text: str, mode: int) -> None:
    """Create ``path`` with ``text``; never overwrite (it may hold another key)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        fail(f"{path} already exists: refusing to overwrite it")
    except OSError as e:
        fail(f"cannot create {path}: {e.strerror}")
    with os.fdopen(fd, "w") as f:
        f.write(text)


def _from_spec(spec: Path) -> Executor:
    try:
        return Executor.from_dict(json.loads(spec.read_text()))
    except OSError as e:
        fail(f"cannot read {spec}: {e.strerror}")
    except (ValueError, WireError) as e:
        fail(f"{spec} is not an executor in JSON: {e}")


@app.command()
def create(
    keypath: Annotated[
        Path, typer.Option("--keypath", help="File to write the new private key to (mode 0600).")
    ],
    idpath: Annotated[Path, typer.Option("--idpath", help="File to write the new ID to.")],
    name: Annotated[str, typer.Option("--name", help="Executor name.")] = "",
    executortype: Annotated[
        str,
        typer.Option(
            "--type",
            help=f"Executor type (default: the spec's, else ${EXECUTOR_TYPE_ENV}).",
            show_default=False,
        ),
    ] = "",
    spec: Annotated[
        Path | None, typer.Option("--spec", help="JSON file of the executor (name, type…).")
    ] = None,
    approve: Annotated[bool, typer.Option("--approve", help="Approve it right away.")] = False,
    host: Host = None,
    port: Port = None,
    colonyprvkey: ColonyPrvKey = None,
) -> None:
    """Generate a key for a new executor, save key and ID, and register it (colony key).

    --name and --type override the --spec file's; without --spec both are needed. If the
    registration fails, the files written are removed again."""
    colonyname = colony_name()
    executor = _from_spec(spec) if spec else Executor()
    executor.executorname = name or executor.executorname
    executor.executortype = (
        executortype or executor.executortype or os.environ.get(EXECUTOR_TYPE_ENV, "")
    )
    if not executor.executorname or not executor.executortype:
        fail("give the executor a name and a type: --name and --type, or a --spec file")
    if not colonyprvkey:
        fail(f"no {COLONY_OWNER.owner} key: set {COLONY_OWNER.envvar} or pass {COLONY_OWNER.flag}")
    prvkey = crypto.generate_private_key()
    executor.executorid = crypto.id_from_private_key(prvkey)
    executor.colonyname = colonyname
    _write_new(keypath, prvkey, 0o600)
    try:
        _write_new(idpath, executor.executorid, 0o644)
        with connect(host, port, COLONY_OWNER, colonyprvkey) as client:
            client.add_executor(executor)
            if approve:
                client.approve_executor(colonyname, executor.executorname)
    except BaseException:
        for path in (keypath, idpath):
            if path.exists() and path.read_text() in (prvkey, executor.executorid):
                path.unlink()
        raise
    state = "added and approved" if approve else "added"
    done(
        f"Executor {executor.executorname} {state} (ID {executor.executorid}); "
        f"its key is in {keypath}"
    )
