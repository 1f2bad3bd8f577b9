"""``colonies log add|get|search``: the log lines executors attach to processes.

All sign with a member key (``COLONIES_PRVKEY``); ``add`` must come from the executor the
process is assigned to. ``get --follow`` polls for new lines like the Go CLI and, unlike it,
stops when the process has ended (non-zero exit if it failed or was cancelled); following an
executor's own log runs until Ctrl-C.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Annotated

import typer

from colonies.cli.context import MEMBER, Host, Json, Port, PrvKey, colony_name, connect
from colonies.cli.output import done, fail, print_json, print_table, table
from colonies.client import Client
from colonies.model import Log, ProcessState
from colonies.timeutil import NS

app = typer.Typer(help="Add, read, follow and search process logs.", no_args_is_help=True)

FOLLOW_INTERVAL = 1.0  # seconds between polls while following, as the Go CLI
_FINAL = frozenset({ProcessState.SUCCESS, ProcessState.FAILED, ProcessState.CANCELLED})

ProcessId = Annotated[str, typer.Option("-p", "--processid", help="Process ID.")]


@app.command()
def add(
    processid: ProcessId,
    msg: Annotated[str, typer.Option("-m", "--msg", help="The log message.")],
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Add a log line to a running process assigned to you (the executor's key)."""
    with connect(host, port, MEMBER, prvkey) as client:
        client.add_log(processid, msg)
    done(f"Log added to process {processid}")


@app.command()
def get(
    processid: Annotated[str, typer.Option("-p", "--processid", help="Logs of this process.")] = "",
    executorname: Annotated[
        str, typer.Option("-e", "--executorname", help="Logs of this executor instead.")
    ] = "",
    since: Annotated[
        int, typer.Option("--since", help="Only logs after this time (Unix nanoseconds).")
    ] = 0,
    count: Annotated[int, typer.Option("--count", help="At most this many (<= 500).")] = 100,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep printing new logs until the process ends.")
    ] = False,
    latest: Annotated[
        bool, typer.Option("-l", "--latest", help="The most recent logs (the default).")
    ] = True,
    first: Annotated[
        bool, typer.Option("-f", "--first", help="The first logs instead of the latest.")
    ] = False,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (one object per line with --follow).")
    ] = False,
) -> None:
    """Print the logs of a process (-p) or an executor (-e), oldest first."""
    if bool(processid) == bool(executorname):
        fail("pass exactly one of --processid and --executorname")
    colonyname = colony_name()
    with connect(host, port, MEMBER, prvkey) as client:
        if follow:
            _follow(client, colonyname, processid, executorname, count, since, as_json)
            return
        logs = client.get_logs(
            colonyname,
            processid=processid,
            executorname=executorname,
            count=count,
            since=since,
            latest=latest and not first and since == 0,
        )
    if as_json:
        print_json([log.to_dict() for log in logs])
    else:
        for log in logs:
            _print_message(log)


def _follow(
    client: Client,
    colonyname: str,
    processid: str,
    executorname: str,
    count: int,
    since: int,
    as_json: bool,
) -> None:
    """Poll for logs after the last one printed; stop once the process has ended and every
    log is out. The state is read before the logs: logs are only added while a process runs,
    so a process already ended then has all its logs in that read."""
    try:
        while True:
            state = client.get_process(processid).state if processid else None
            logs = client.get_logs(
                colonyname,
                processid=processid,
                executorname=executorname,
                count=count,
                since=since,
            )
            for log in logs:
                if as_json:
                    typer.echo(json.dumps(log.to_dict()))
                else:
                    _print_message(log)
            if logs:
                since = logs[-1].timestamp
                continue  # maybe more than count were waiting
            if state in _FINAL:
                _report_end(client, processid)
                return
            time.sleep(FOLLOW_INTERVAL)
    except KeyboardInterrupt:
        done("Stopped following")


def _report_end(client: Client, processid: str) -> None:
    process = client.get_process(processid)
    if process.state == ProcessState.FAILED:
        fail(f"Process {processid} failed: {'; '.join(process.errors) or 'no error message'}")
    if process.state == ProcessState.CANCELLED:
        fail(f"Process {processid} was cancelled")
    done(f"Process {processid} finished successfully")


def _print_message(log: Log) -> None:
    """The message as the executor wrote it, ending with one newline."""
    typer.echo(log.message, nl=not log.message.endswith("\n"))


def _time(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp / NS).strftime("%Y-%m-%d %H:%M:%S")


@app.command()
def search(
    text: Annotated[str, typer.Option("-t", "--text", help="Text to look for.")] = "",
    days: Annotated[int, typer.Option("-d", "--days", help="Days back to search (<= 30).")] = 1,
    count: Annotated[int, typer.Option("--count", help="At most this many (<= 100).")] = 10,
    print_logs: Annotated[
        bool, typer.Option("--print", help="Print each match's process log around it.")
    ] = False,
    seconds: Annotated[
        int,
        typer.Option("--seconds", help="With --print: start this many seconds before a match."),
    ] = 1,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
    as_json: Json = False,
) -> None:
    """Find logs of the colony containing a text (member key)."""
    if not text:
        fail("--text is required")
    colonyname = colony_name()
    with connect(host, port, MEMBER, prvkey) as client:
        found = client.search_logs(colonyname, text, days, count)
        if print_logs:
            for match in found:
                start = max(match.timestamp - seconds * NS - 1, 0)
                logs = client.get_logs(
                    colonyname, processid=match.processid, count=count, since=start
                )
                typer.echo(f"Timestamp: {_time(match.timestamp)}")
                typer.echo(f"Process ID: {match.processid}")
                typer.echo(f"Executor: {match.executorname}")
                typer.echo("=" * 19 + " LOGS " + "=" * 20)
                for log in logs:
                    _print_message(log)
                typer.echo("=" * 17 + " END LOGS " + "=" * 18)
                typer.echo()
            return
    if as_json:
        print_json([log.to_dict() for log in found])
        return
    result = table(
        "Time",
        "Process ID",
        "Executor",
        "Message",
        empty=f"No logs in colony {colonyname} contain {text!r}",
    )
    for log in found:
        result.add_row(_time(log.timestamp), log.processid, log.executorname, log.message)
    print_table(result)
