"""``colonies executor run``: serve Python functions from this machine as a ColonyOS executor."""

from __future__ import annotations

import asyncio
import signal
import socket

import typer
from rich.markup import escape

from colonies.cli.output import err, fail
from colonies.client import AsyncClient
from colonies.executor import Executor, ExecutorEvent, RegistrationError
from colonies.functions import FunctionError, FunctionSet, load

TUTORIAL = "colonies.functions.tutorial"


def _print(event: ExecutorEvent) -> None:
    style = {"completed": "green", "failed": "red", "status": "cyan"}.get(event.kind, "")
    when = f" ({event.seconds * 1000:.1f} ms)" if event.seconds else ""
    pid = f" [{event.processid[:12]}]" if event.processid else ""
    text = escape(f"{event.kind}{pid}: {event.message}{when}")
    err.print(f"[{style}]{text}[/]" if style else text)


def run(
    executortype: str = typer.Option(
        ..., "--type", envvar="COLONIES_EXECUTOR_TYPE", help="Executor type processes target."
    ),
    name: str = typer.Option(
        "",
        "--name",
        envvar="COLONIES_EXECUTOR_NAME",
        help="Executor name (default: TYPE-HOSTNAME).",
    ),
    modules: list[str] = typer.Option(
        [TUTORIAL],
        "--module",
        "-m",
        help="Python module with a FunctionSet to serve (repeatable).",
    ),
    colonyname: str = typer.Option(..., "--colony", envvar="COLONIES_COLONY_NAME"),
    host: str = typer.Option("localhost", "--host", envvar="COLONIES_SERVER_HOST"),
    port: int = typer.Option(
        50080, "--port", envvar=["COLONIES_SERVER_HTTP_PORT", "COLONIES_SERVER_PORT"]
    ),
    tls: bool = typer.Option(False, "--tls", envvar="COLONIES_TLS", help="Use HTTPS."),
    colony_prvkey: str = typer.Option(
        "",
        "--colonyprvkey",
        envvar="COLONIES_COLONY_PRVKEY",
        help="Colony owner key: register and approve this executor (tutorial style).",
    ),
    prvkey: str = typer.Option(
        "",
        "--prvkey",
        envvar="COLONIES_EXECUTOR_PRVKEY",
        help="This executor's own key (generated when omitted; required without the colony key).",
    ),
    poll_timeout: int = typer.Option(10, "--poll-timeout", help="Long-poll seconds."),
    grace: float = typer.Option(
        10.0, "--grace", help="Seconds a running function may finish after SIGINT/SIGTERM."
    ),
) -> None:
    """Serve Python functions to processes targeting TYPE (default module: the tutorial's
    echo, add, multiply, greet, browser_info)."""
    try:
        functions = load(modules)
    except (ImportError, FunctionError) as e:
        fail(f"cannot load functions: {e}")
    if not colony_prvkey and not prvkey:
        fail("set COLONIES_COLONY_PRVKEY (to self-register) or --prvkey of an approved executor")
    name = name or f"{executortype}-{socket.gethostname()}"
    url = f"{'https' if tls else 'http'}://{host}:{port}"
    err.print(f"Serving {', '.join(functions)} as [bold]{name}[/] (type {executortype}) on {url}")
    try:
        asyncio.run(
            _serve(
                url,
                functions,
                colonyname,
                name,
                executortype,
                colony_prvkey,
                prvkey,
                poll_timeout,
                grace,
            )
        )
    except RegistrationError as e:
        fail(str(e))


async def _serve(
    url: str,
    functions: FunctionSet,
    colonyname: str,
    name: str,
    executortype: str,
    colony_prvkey: str,
    prvkey: str,
    poll_timeout: int,
    grace: float,
) -> None:
    async with AsyncClient(url) as client:
        executor = Executor(
            client,
            functions,
            colonyname=colonyname,
            executorname=name,
            executortype=executortype,
            prvkey=prvkey or None,
            colony_prvkey=colony_prvkey or None,
            poll_timeout=poll_timeout,
            grace=grace,
            on_event=_print,
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, executor.stop)
        await executor.run()
        err.print(f"Stopped: {executor.completed} completed, {executor.failed} failed")
