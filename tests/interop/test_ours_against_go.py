"""Ours against the Go server (issue 8 §1): our SDK (``Client`` and ``AsyncClient``), our CLI
and our host executor, talking to the upstream Go server v1.9.12.

Every test runs against the Go server in UTC and in ``Europe/Stockholm`` (upstream's compose
setting), where Go writes zero times as ``0001-01-01T01:12:12+01:12``. The Go server is shared
by the whole session, so each test works under fresh names (``unique``): its own executor type,
executors and, where it removes in bulk, its own colony.

The wait tests at the end prove that ``wait`` returns promptly even when the Go server loses the
completion event (its subscription reads the process, then registers the listener: a close in
between is never signalled).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from colonies import crypto
from colonies.cli import app
from colonies.client import (
    AsyncClient,
    AsyncHTTPTransport,
    AsyncWebSocket,
    Client,
    HTTPXTransport,
    WebSocket,
)
from colonies.errors import AccessDeniedError, NoProcessAvailable, NotFoundError
from colonies.model import (
    Attribute,
    AttributeType,
    Colony,
    Conditions,
    Executor,
    ExecutorState,
    Function,
    FunctionSpec,
    Process,
    ProcessState,
    User,
)
from colonies.timeutil import NS, parse_ns
from interop.conftest import GoCLI, Server, unique

AnyClient = Client | AsyncClient
WAIT_BOUND = 5.0  # seconds from a close to the wait's return: correctness, not speed

# Go's zero time as our tables would show it (year 1, or year 0 east of UTC): never shown.
ZERO_DATE = re.compile(r"\b000[01]-\d\d-\d\d")


@pytest.fixture(params=["goserver", "goserver_tz"], ids=["utc", "stockholm"])
def go(request: pytest.FixtureRequest) -> Server:
    """The shared Go server, once in UTC and once in Europe/Stockholm."""
    server: Server = request.getfixturevalue(request.param)
    return server


@pytest.fixture(params=[Client, AsyncClient], ids=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> type[AnyClient]:
    result: type[AnyClient] = request.param
    return result


async def invoke(client: AnyClient, name: str, *args: Any, **kwargs: Any) -> Any:
    """Call a method the same way on either client."""
    result = getattr(client, name)(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result


def background(client: AnyClient, name: str, *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
    """Start a method without awaiting it: a task, or for ``Client`` a thread (a blocking call
    in a task would hold up the whole event loop)."""
    if isinstance(client, Client):
        return asyncio.ensure_future(asyncio.to_thread(getattr(client, name), *args, **kwargs))
    return asyncio.ensure_future(getattr(client, name)(*args, **kwargs))


Connect = Callable[..., AnyClient]


@pytest.fixture
async def connect(kind: type[AnyClient]) -> AsyncIterator[Connect]:
    """``connect(server, prvkey, **options)``: a client of this test's kind, closed afterwards."""
    made: list[AnyClient] = []

    def make(server: Server, prvkey: str, **options: Any) -> AnyClient:
        client = kind(server.url, prvkey, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        await invoke(client, "close_transport")


@dataclass
class Worker:
    """An executor registered (and approved) in a colony of the Go server."""

    name: str
    type: str
    prvkey: str
    colonyname: str = "dev"

    @property
    def id(self) -> str:
        return crypto.id_from_private_key(self.prvkey)

    def record(self) -> Executor:
        return Executor(
            executorid=self.id,
            executortype=self.type,
            executorname=self.name,
            colonyname=self.colonyname,
        )


def register(
    server: Server, executortype: str, *, colony_prvkey: str | None = None, colonyname: str = "dev"
) -> Worker:
    """A new executor of ``executortype``, added and approved with the colony key."""
    worker = Worker(unique(executortype), executortype, crypto.generate_private_key(), colonyname)
    with server.client(colony_prvkey or server.colony_prvkey) as client:
        client.add_executor(worker.record())
        client.approve_executor(colonyname, worker.name)
    return worker


def spec(funcname: str, executortype: str, *args: Any, colonyname: str = "dev") -> FunctionSpec:
    """No time limits: Go would expire a process with maxexectime 0 after about a second."""
    return FunctionSpec(
        funcname=funcname,
        args=list(args),
        maxwaittime=-1,
        maxexectime=-1,
        conditions=Conditions(colonyname=colonyname, executortype=executortype),
    )


def near_now(wire_time: str) -> bool:
    """A time the Go server wrote just now, in whatever zone it writes."""
    return abs(parse_ns(wire_time) / NS - time.time()) < 120


@contextmanager
def serving(
    server: Server, worker: Worker, answer: Callable[[Process], list[Any]]
) -> Iterator[list[Process]]:
    """Serve ``worker`` from a thread: each assigned process is closed with ``answer(process)``,
    or failed with the message of what it raised. Yields the processes served so far."""
    served: list[Process] = []
    stop = threading.Event()

    def loop() -> None:
        with server.client(worker.prvkey) as client:
            while not stop.is_set():
                try:
                    process = client.assign(worker.colonyname, 1)
                except NoProcessAvailable:
                    continue
                served.append(process)
                try:
                    output = answer(process)
                except Exception as e:
                    client.fail(process.processid, [str(e)])
                else:
                    client.close(process.processid, output)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        stop.set()
        thread.join(15)


# --- SDK ------------------------------------------------------------------------------------


async def test_sdk_server_info_and_statistics(go: Server, connect: Connect) -> None:
    client = connect(go, go.user_prvkey)
    info = await invoke(client, "server_info")
    assert info.backends and info.backends[0].port == go.port
    assert (await invoke(client, "version"))["msgtype"] == "versionmsg"
    stats = await invoke(client, "statistics", prvkey=go.server_prvkey)
    assert stats.colonies >= 1
    colony = await invoke(client, "colony_statistics", "dev")
    assert colony.executors >= 0 and colony.successfulprocesses >= 0
    with pytest.raises(AccessDeniedError):
        await invoke(client, "statistics")  # the user key is not the server's


async def test_sdk_executor_lifecycle(go: Server, connect: Connect) -> None:
    """Register, approve, reject, remove: the colony key changes, a member reads."""
    worker = Worker(unique("exe"), unique("sdk"), crypto.generate_private_key())
    client = connect(go, go.user_prvkey)
    added = await invoke(client, "add_executor", worker.record(), prvkey=go.colony_prvkey)
    assert added.executorid == worker.id and added.state == ExecutorState.PENDING
    assert near_now(added.commissiontime)
    assert parse_ns(added.lastheardfromtime) == 0  # Go's zero time, in any zone

    got = await invoke(client, "get_executor", "dev", worker.name)
    assert got.executortype == worker.type and parse_ns(got.lastheardfromtime) == 0
    by_id = await invoke(client, "get_executor_by_id", "dev", worker.id)
    assert by_id.executorname == worker.name

    with pytest.raises(AccessDeniedError):
        await invoke(client, "approve_executor", "dev", worker.name)  # a member may not
    for change, state in (
        ("approve_executor", ExecutorState.APPROVED),
        ("reject_executor", ExecutorState.REJECTED),
        ("approve_executor", ExecutorState.APPROVED),
        ("remove_executor", ExecutorState.UNREGISTERED),
    ):
        await invoke(client, change, "dev", worker.name, prvkey=go.colony_prvkey)
        listed = {e.executorname: e for e in await invoke(client, "get_executors", "dev")}
        assert listed[worker.name].state == state, change


async def test_sdk_process_closed_with_logs_attributes_and_output(
    go: Server, connect: Connect
) -> None:
    """Submit, and wait while an executor assigns, logs, adds an attribute, sets the output
    and closes."""
    worker = register(go, unique("sdk"))
    user, executor = connect(go, go.user_prvkey), connect(go, worker.prvkey)
    process = await invoke(user, "submit", spec("echo", worker.type, "hi"))
    assert process.state == ProcessState.WAITING and process.initiatorname == "myuser"
    assert near_now(process.submissiontime) and parse_ns(process.starttime) == 0

    waiting = background(user, "wait", process.processid, 30)
    assigned = await invoke(executor, "assign", "dev", 10)
    assert assigned.processid == process.processid and assigned.state == ProcessState.RUNNING
    assert assigned.spec.args == ["hi"] and near_now(assigned.starttime)
    await invoke(executor, "add_log", process.processid, "working on it")
    attribute = await invoke(
        executor,
        "add_attribute",
        Attribute(
            targetid=process.processid,
            targetcolonyname="dev",
            key="progress",
            value="50%",
            attributetype=AttributeType.OUT,
        ),
    )
    assert (await invoke(user, "get_attribute", attribute.attributeid)).value == "50%"
    await invoke(executor, "set_output", process.processid, ["partial"])
    await invoke(executor, "close", process.processid, ["hi", 2])

    done = await asyncio.wait_for(waiting, WAIT_BOUND)
    assert done.state == ProcessState.SUCCESS and done.output == ["hi", 2]
    assert near_now(done.endtime) and parse_ns(done.endtime) >= parse_ns(done.starttime)
    assert [a.key for a in done.attributes] == ["progress"]
    logs = await invoke(user, "get_logs", "dev", processid=process.processid)
    assert [log.message for log in logs] == ["working on it"]
    assert logs[0].executorname == worker.name

    listed = await invoke(
        user, "get_processes", "dev", ProcessState.SUCCESS, executortype=worker.type
    )
    assert [p.processid for p in listed] == [process.processid]
    history = await invoke(user, "process_history", "dev", ProcessState.SUCCESS, 600)
    assert process.processid in {p.processid for p in history}
    await invoke(user, "remove_process", process.processid)
    with pytest.raises(NotFoundError):
        await invoke(user, "get_process", process.processid)


async def test_sdk_process_failed_and_cancelled(go: Server, connect: Connect) -> None:
    worker = register(go, unique("sdk"))
    user, executor = connect(go, go.user_prvkey), connect(go, worker.prvkey)

    failing = await invoke(user, "submit", spec("add", worker.type, "x"))
    await invoke(executor, "assign", "dev", 10)
    await invoke(executor, "fail", failing.processid, ["add needs two numbers"])
    failed = await invoke(user, "wait", failing.processid, 30)
    assert failed.state == ProcessState.FAILED and failed.errors == ["add needs two numbers"]

    waiting = await invoke(user, "submit", spec("echo", worker.type, "never"))
    listed = await invoke(
        user, "get_processes", "dev", ProcessState.WAITING, executortype=worker.type
    )
    assert [p.processid for p in listed] == [waiting.processid]
    await invoke(user, "cancel", waiting.processid)
    cancelled = await invoke(user, "wait", waiting.processid, 30)
    assert cancelled.state == ProcessState.CANCELLED
    with pytest.raises(NoProcessAvailable):
        await invoke(executor, "assign", "dev", 1)  # nothing is left for its type


async def test_sdk_colony_users_and_functions(go: Server, connect: Connect) -> None:
    """A colony of our own (server key), a user in it (colony key), an executor's functions,
    and removing all its processes (which on colony dev would hit other tests' processes)."""
    client = connect(go, go.server_prvkey)
    colony_key, user_key = crypto.generate_private_key(), crypto.generate_private_key()
    colony = Colony(colonyid=crypto.id_from_private_key(colony_key), name=unique("colony"))
    assert (await invoke(client, "add_colony", colony)).name == colony.name
    assert colony.name in {c.name for c in await invoke(client, "get_colonies")}
    user = User(
        colonyname=colony.name,
        userid=crypto.id_from_private_key(user_key),
        name="alice",
        email="alice@example.com",
        phone="",
    )
    await invoke(client, "add_user", user, prvkey=colony_key)
    users = await invoke(client, "get_users", colony.name, prvkey=user_key)
    assert [u.name for u in users] == ["alice"]
    got_user = await invoke(client, "get_user", colony.name, "alice", prvkey=user_key)
    assert got_user.email == "alice@example.com"
    got_colony = await invoke(client, "get_colony", colony.name, prvkey=user_key)
    assert got_colony.colonyid == colony.colonyid  # members read it; on Go the owner may not

    worker = register(go, unique("fn"), colony_prvkey=colony_key, colonyname=colony.name)
    function = Function(
        executorname=worker.name,
        executortype=worker.type,
        colonyname=colony.name,
        funcname="echo",
    )
    added = await invoke(client, "add_function", function, prvkey=worker.prvkey)
    listed = await invoke(client, "get_functions", colony.name, worker.name, prvkey=user_key)
    assert [f.funcname for f in listed] == ["echo"]
    await invoke(client, "remove_function", added.functionid, prvkey=worker.prvkey)
    assert await invoke(client, "get_functions", colony.name, prvkey=user_key) == []

    await invoke(
        client, "submit", spec("echo", worker.type, colonyname=colony.name), prvkey=user_key
    )
    await invoke(client, "remove_all_processes", colony.name, prvkey=colony_key)
    stats = await invoke(client, "colony_statistics", colony.name, prvkey=user_key)
    assert stats.waitingprocesses == 0 and stats.executors == 1

    await invoke(client, "remove_user", colony.name, "alice", prvkey=colony_key)
    await invoke(client, "remove_colony", colony.name)
    assert colony.name not in {c.name for c in await invoke(client, "get_colonies")}


# --- CLI ------------------------------------------------------------------------------------


def cli(server: Server, *args: str, **env: str | None) -> Result:
    """Our ``colonies`` command in-process, configured with the Go server's ``COLONIES_*``."""
    full: dict[str, str | None] = {
        **server.env,
        "COLONIES_SERVER_HTTP_PORT": None,
        "COLONIES_EXECUTOR_TYPE": None,
        **env,
    }
    return CliRunner().invoke(app, list(args), env=full)


def ok(result: Result) -> str:
    """The command succeeded (no exception escaped it); its stdout."""
    assert result.exception is None, (result.exception, result.stderr)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def failed(result: Result) -> str:
    """The command failed with one ``Error:`` line and no traceback; that line."""
    assert isinstance(result.exception, SystemExit), (result.exception, result.stderr)
    assert result.exit_code != 0 and "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: "), result.stderr
    return last


def test_cli_server_status_and_stats(go: Server) -> None:
    assert str(go.port) in ok(cli(go, "server", "status"))
    assert json.loads(ok(cli(go, "server", "stats", "--json")))["colonies"] >= 1
    assert "Access denied" in failed(
        cli(go, "server", "stats", COLONIES_SERVER_PRVKEY=go.user_prvkey)
    )


def test_cli_colony_commands(go: Server) -> None:
    name = unique("colony")
    colony_key = crypto.generate_private_key()
    colonyid = crypto.id_from_private_key(colony_key)
    ok(cli(go, "colony", "add", "--name", name, "--colonyid", colonyid))
    user_key = crypto.generate_private_key()  # on Go, the colony's owner is no member of it
    with Client(go.url, colony_key) as client:
        client.add_user(
            User(colonyname=name, userid=crypto.id_from_private_key(user_key), name="u")
        )
    assert name in ok(cli(go, "colony", "ls"))
    listed = json.loads(ok(cli(go, "colony", "ls", "--json")))
    assert {"name": name, "colonyid": colonyid} in listed
    for command in ("get", "check"):
        shown = ok(cli(go, "colony", command, "--name", name, COLONIES_PRVKEY=user_key))
        assert colonyid in shown
    as_member = {"COLONIES_COLONY_NAME": name, "COLONIES_PRVKEY": user_key}
    stats = json.loads(ok(cli(go, "colony", "stats", "--json", **as_member)))
    assert stats["executors"] == 0 and stats["waitingprocesses"] == 0
    assert "Waiting processes" in ok(cli(go, "colony", "stats"))  # colony dev, as a table
    ok(cli(go, "colony", "remove", "--name", name))
    assert name not in ok(cli(go, "colony", "ls"))
    assert failed(cli(go, "colony", "get", "--name", name))


def test_cli_executor_commands(go: Server) -> None:
    """The table of ``executor ls`` is where Go's zero times in Stockholm used to crash us."""
    executortype = unique("clix")
    name = unique("exe")
    executorid = crypto.id_from_private_key(crypto.generate_private_key())
    ok(
        cli(
            go,
            "executor",
            "add",
            "--executorid",
            executorid,
            "--name",
            name,
            "--type",
            executortype,
        )
    )

    table = ok(cli(go, "executor", "ls", "--type", executortype))
    row = next(line for line in table.splitlines() if name in line)
    assert "PENDING" in row and executorid in row
    assert not ZERO_DATE.search(table)  # zero times show as blank
    (listed,) = json.loads(ok(cli(go, "executor", "ls", "--json", "--type", executortype)))
    assert listed["executorid"] == executorid and parse_ns(listed["lastheardfromtime"]) == 0

    shown = ok(cli(go, "executor", "get", "--name", name))
    assert "PENDING" in shown and executorid in shown
    commissioned = next(line for line in shown.splitlines() if "Commissioned" in line)
    assert str(time.gmtime().tm_year) in commissioned or str(time.localtime().tm_year) in (
        commissioned
    )
    heard = next(line for line in shown.splitlines() if "Last heard from" in line)
    assert not any(ch.isdigit() for ch in heard)

    for command, state in (("approve", 1), ("reject", 2), ("approve", 1)):
        ok(cli(go, "executor", command, "--name", name))
        assert (
            json.loads(ok(cli(go, "executor", "get", "--name", name, "--json")))["state"] == state
        )
    assert "Access denied" in failed(
        cli(go, "executor", "reject", "--name", name, COLONIES_COLONY_PRVKEY=go.user_prvkey)
    )
    ok(cli(go, "executor", "remove", "--name", name))
    assert name not in ok(cli(go, "executor", "ls", "--type", executortype))
    assert "UNREGISTERED" in ok(cli(go, "executor", "ls", "--all", "--type", executortype))

    approved = unique("exe")
    ok(
        cli(
            go,
            "executor",
            "add",
            "--executorid",
            executorid,
            "--name",
            approved,
            "--approve",
            COLONIES_EXECUTOR_TYPE=executortype,
        )
    )
    assert "APPROVED" in ok(cli(go, "executor", "get", "--name", approved))
    assert failed(cli(go, "executor", "get", "--name", unique("ghost")))


def test_cli_function_and_process_commands(go: Server, tmp_path: Path) -> None:
    worker = register(go, unique("clif"))
    by_type = ("--executortype", worker.type)

    def answer(process: Process) -> list[Any]:
        if process.spec.funcname == "add":
            return [sum(int(a) for a in process.spec.args)]
        raise ValueError(f"no function {process.spec.funcname}")

    # Submitted without --wait: it waits, listed and shown.
    exec_add = ("function", "exec", "--func", "add", "--targettype", worker.type)
    pid = ok(cli(go, *exec_add, "--args", "5", "--args", "3")).strip()
    assert len(pid) == 64
    assert pid in ok(cli(go, "process", "psw", *by_type))
    assert "WAITING" in ok(cli(go, "process", "get", "-p", pid))

    with serving(go, worker, answer):
        assert ok(cli(go, *exec_add, "--args", "2", "--args", "2", "--wait", "--out")) == "4\n"
        spec_file = tmp_path / "spec.json"
        spec_file.write_text(json.dumps(spec("add", worker.type, "1", "1").to_dict()))
        submitted = ok(cli(go, "function", "submit", "--spec", str(spec_file), "--json", "--wait"))
        assert json.loads(submitted)["state"] == ProcessState.SUCCESS
        assert json.loads(submitted)["out"] == [2]
        nope = ("function", "exec", "--func", "nope", "--targettype", worker.type, "--wait")
        assert "failed: no function nope" in failed(cli(go, *nope))
        deadline = time.monotonic() + 10
        while json.loads(ok(cli(go, "process", "get", "-p", pid, "--json")))["state"] != 2:
            assert time.monotonic() < deadline, "the first process was never served"
            time.sleep(0.1)

    assert ok(cli(go, "process", "get", "-p", pid, "--out")) == "8\n"
    shown = ok(cli(go, "process", "get", "-p", pid))
    assert "SUCCESS" in shown and not ZERO_DATE.search(shown)
    assert pid in ok(cli(go, "process", "pss", *by_type))
    (failed_process,) = json.loads(ok(cli(go, "process", "psf", "--json", *by_type)))
    assert failed_process["spec"]["funcname"] == "nope"
    assert "nope" in ok(cli(go, "process", "psf", *by_type))
    assert json.loads(ok(cli(go, "process", "ps", "--json", *by_type))) == []

    cancel_pid = ok(cli(go, *exec_add)).strip()
    ok(cli(go, "process", "cancel", "-p", cancel_pid))
    assert cancel_pid in ok(cli(go, "process", "psc", *by_type))
    ok(cli(go, "process", "remove", "-p", cancel_pid))
    assert "not found" in failed(cli(go, "process", "get", "-p", cancel_pid)).lower()


def test_cli_removeall_in_a_colony_of_its_own(go: Server) -> None:
    """``removeall`` empties a whole colony, so it gets one of its own on the shared server."""
    name, colony_key, user_key = unique("colony"), *(crypto.generate_private_key() for _ in "uc")
    ok(
        cli(
            go,
            "colony",
            "add",
            "--name",
            name,
            "--colonyid",
            crypto.id_from_private_key(colony_key),
        )
    )
    with Client(go.url, colony_key) as client:
        client.add_user(
            User(
                colonyname=name,
                userid=crypto.id_from_private_key(user_key),
                name="bob",
                email="",
                phone="",
            )
        )
    env = {
        "COLONIES_COLONY_NAME": name,
        "COLONIES_COLONY_PRVKEY": colony_key,
        "COLONIES_PRVKEY": user_key,
    }
    for _ in range(3):
        ok(cli(go, "function", "exec", "--func", "echo", "--targettype", "nobody", **env))
    assert len(json.loads(ok(cli(go, "process", "psw", "--json", **env)))) == 3
    assert "pass --yes" in failed(cli(go, "process", "removeall", "--waiting", **env))
    ok(cli(go, "process", "removeall", "--waiting", "--yes", **env))
    assert json.loads(ok(cli(go, "process", "psw", "--json", **env))) == []
    ok(cli(go, "colony", "remove", "--name", name))


# --- host executor --------------------------------------------------------------------------


COLONIES = [sys.executable, "-m", "colonies.cli"]


@contextmanager
def host_executor(server: Server, executortype: str) -> Iterator[subprocess.Popen[str]]:
    """``colonies executor run`` against the Go server, registering with the colony key."""
    env = {**os.environ, **server.env, "COLONIES_EXECUTOR_TYPE": executortype}
    env.pop("COLONIES_SERVER_HTTP_PORT", None)
    proc = subprocess.Popen(
        [*COLONIES, "executor", "run", "--name", unique(executortype), "--poll-timeout", "2"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_host_executor_serves_the_tutorial(go: Server) -> None:
    """Our host executor registers on the Go server with the colony key and serves the
    tutorial's functions, submitted by our CLI and by the Go CLI."""
    executortype = unique("host")
    go_cli = GoCLI(go)
    with host_executor(go, executortype) as proc:
        for command, args, expected in (
            ("echo", ["Hello from browser!"], "Hello from browser!"),
            ("add", ["5", "3"], "8"),
            ("multiply", ["7", "6"], "42"),
            ("greet", ["World"], "Hello, World! Greetings from the WASM executor."),
        ):
            argv = [arg for value in args for arg in ("--args", value)]
            exec_argv = ["function", "exec", "--func", command, *argv]
            exec_argv += ["--targettype", executortype, "--wait", "--out"]
            assert ok(cli(go, *exec_argv)) == expected + "\n", command
            theirs = go_cli(*exec_argv)
            assert theirs.returncode == 0, theirs.stderr
            assert theirs.stdout.strip() == expected, command
        error = failed(
            cli(
                go,
                "function",
                "exec",
                "--func",
                "add",
                "--args",
                "x",
                "--targettype",
                executortype,
                "--wait",
            )
        )
        assert "add needs two numbers" in error
        registered = json.loads(ok(cli(go, "executor", "ls", "--json", "--type", executortype)))
        assert [e["state"] for e in registered] == [ExecutorState.APPROVED]
        assert parse_ns(registered[0]["lastheardfromtime"]) > 0
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    assert "Stopped: 8 completed, 1 failed" in stderr
    assert "Traceback" not in stderr


# --- wait -----------------------------------------------------------------------------------


class _Deaf:
    """A /pubsub socket whose events never arrive: what a subscription that lost the race
    looks like from the client (silence until the server ends the subscription)."""

    def __init__(self, ws: WebSocket) -> None:
        self._ws = ws

    def send(self, text: str) -> None:
        self._ws.send(text)

    def recv(self, timeout: float | None = None) -> str:
        time.sleep(timeout or 0)
        raise TimeoutError

    def close(self) -> None:
        self._ws.close()


class _AsyncDeaf:
    def __init__(self, ws: AsyncWebSocket) -> None:
        self._ws = ws

    async def send(self, text: str) -> None:
        await self._ws.send(text)

    async def recv(self, timeout: float | None = None) -> str:
        await asyncio.sleep(timeout or 0)
        raise TimeoutError

    async def close(self) -> None:
        await self._ws.close()


class DeafTransport(HTTPXTransport):
    def connect(self, url: str, timeout: float | None) -> WebSocket:
        return _Deaf(super().connect(url, timeout))


class AsyncDeafTransport(AsyncHTTPTransport):
    async def aconnect(self, url: str, timeout: float | None) -> AsyncWebSocket:
        return _AsyncDeaf(await super().aconnect(url, timeout))


async def test_wait_returns_when_the_event_never_comes(
    go: Server, kind: type[AnyClient], connect: Connect
) -> None:
    """The process closes while the subscription stays silent (the event was lost): the wait
    still returns within a second of the close, not when the 60 s subscription ends."""
    worker = register(go, unique("deaf"))
    transport = DeafTransport() if kind is Client else AsyncDeafTransport()
    user, executor = connect(go, go.user_prvkey, transport=transport), connect(go, worker.prvkey)
    process = await invoke(user, "submit", spec("echo", worker.type))
    await invoke(executor, "assign", "dev", 10)
    waiting = background(
        user, "wait", process.processid, executortype=worker.type, colonyname="dev"
    )
    await asyncio.sleep(0.7)  # subscribed, and past the first quick re-reads
    assert not waiting.done()
    await invoke(executor, "close", process.processid, ["late"])
    closed = time.monotonic()
    done = await asyncio.wait_for(waiting, WAIT_BOUND)
    assert done.state == ProcessState.SUCCESS and done.output == ["late"]
    assert time.monotonic() - closed < 1.5


class _CloseOnSubscribe(HTTPXTransport):
    """Runs ``before_subscribe`` (once) just before the first subscription frame goes out."""

    def __init__(self) -> None:
        super().__init__()
        self.before_subscribe: Callable[[], None] | None = None

    def connect(self, url: str, timeout: float | None) -> WebSocket:
        return _Hooked(super().connect(url, timeout), self)


class _Hooked:
    def __init__(self, ws: WebSocket, transport: _CloseOnSubscribe) -> None:
        self._ws, self._transport = ws, transport

    def send(self, text: str) -> None:
        hook, self._transport.before_subscribe = self._transport.before_subscribe, None
        if hook is not None:
            hook()
        self._ws.send(text)

    def recv(self, timeout: float | None = None) -> str:
        return self._ws.recv(timeout)

    def close(self) -> None:
        self._ws.close()


def close_as_wait_subscribes(
    user: Client,
    executor: Client,
    transport: _CloseOnSubscribe,
    worker: Worker,
    payload: str,
    head_start: float,
) -> None:
    """One running process; its close starts ``head_start`` s before the wait's subscription
    frames go out. The wait must return within ``WAIT_BOUND`` s of the close."""
    processid = user.submit(spec("echo", worker.type, payload)).processid
    executor.assign("dev", 10)
    closed_at: list[float] = []

    def close() -> None:
        executor.close(processid, ["done"])
        closed_at.append(time.monotonic())

    closer = threading.Thread(target=close)

    def start_closing() -> None:
        closer.start()
        time.sleep(head_start)

    transport.before_subscribe = start_closing
    outcome: list[Process | BaseException] = []

    def wait() -> None:
        try:
            outcome.append(user.wait(processid, executortype=worker.type, colonyname="dev"))
        except BaseException as e:
            outcome.append(e)

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    deadline = time.monotonic() + 30
    while not closed_at:
        assert time.monotonic() < deadline, "the process was not closed within 30 s"
        time.sleep(0.005)
    waiter.join(max(0.0, closed_at[0] + WAIT_BOUND - time.monotonic()))
    assert outcome, (
        f"the wait still blocks {WAIT_BOUND} s after the close (head start {head_start})"
    )
    (done,) = outcome
    assert isinstance(done, Process) and done.state == ProcessState.SUCCESS, done
    user.remove_process(processid)


def test_wait_survives_the_go_subscription_race(goserver: Server) -> None:
    """Close each process as its wait subscribes, sweeping the close's head start across Go's
    race window: every wait returns within ``WAIT_BOUND`` of its close.

    Go's subscribe reads the process, then registers the listener. A big process row makes
    that read slow (transfer and decoding), so a close that commits just after the read
    signals before the listener exists and the event is lost. Before ``wait`` re-read the
    process while subscribed, such a wait sat out its whole 60 s subscription; measured here
    with 5 MB rows, 9 of 40 sweep steps hit the window.
    """
    worker = register(goserver, unique("race"))
    payload = "x" * 3_000_000
    transport = _CloseOnSubscribe()
    with (
        Client(goserver.url, goserver.user_prvkey, transport=transport, timeout=60) as user,
        Client(goserver.url, worker.prvkey, timeout=60) as executor,
    ):
        probe = user.submit(spec("echo", worker.type, payload))
        started = time.monotonic()
        user.get_process(probe.processid)
        read = time.monotonic() - started  # about what Go's own read of such a row takes
        user.remove_process(probe.processid)
        steps = 12
        for step in range(steps):
            head_start = read * 1.2 * step / steps
            close_as_wait_subscribes(user, executor, transport, worker, payload, head_start)
