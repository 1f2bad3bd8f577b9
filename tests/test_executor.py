"""The executor framework against a real server: tutorial flow, failures, outages, signals."""

from __future__ import annotations

import asyncio
import datetime
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pycolonies
import pytest

from colonies import crypto
from colonies.client import AsyncClient, Client
from colonies.executor import Executor, ExecutorEvent, RegistrationError
from colonies.functions import FunctionSet, load
from colonies.model import Conditions, FunctionSpec, ProcessState
from conftest import LiveServer, add_executor, restart_server, start_server
from polling import eventually, until

TUTORIAL = load(["colonies.functions.tutorial"])


def spec(funcname: str, *args: object) -> FunctionSpec:
    return FunctionSpec(
        funcname=funcname,
        args=list(args),
        maxexectime=-1,
        maxretries=-1,
        conditions=Conditions(colonyname="dev", executortype="wasm"),
    )


class Running:
    """An Executor serving in a background task of the test's event loop."""

    def __init__(self, live: LiveServer, functions: FunctionSet = TUTORIAL, **kw: object):
        self.events: list[ExecutorEvent] = []
        self._registered = asyncio.Event()
        self.client = AsyncClient(live.url)
        options = {"colony_prvkey": live.colony.prvkey, "poll_timeout": 2, **kw}
        self.executor = Executor(
            self.client,
            functions,
            colonyname="dev",
            executorname="wasm-executor",
            executortype="wasm",
            on_event=self._on_event,
            **options,  # type: ignore[arg-type]
        )
        self.task = asyncio.create_task(self.executor.run())

    def _on_event(self, event: ExecutorEvent) -> None:
        self.events.append(event)
        if event.message.startswith("registered"):
            self._registered.set()

    async def registered(self) -> None:
        """Return once the executor has registered; raise its error if it stopped instead."""
        flag = asyncio.ensure_future(self._registered.wait())
        await asyncio.wait({flag, self.task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        flag.cancel()
        if self._registered.is_set():
            return
        if self.task.done():
            self.task.result()
        raise AssertionError(f"executor did not register: {self.events}")

    async def stop(self) -> None:
        self.executor.stop()
        await asyncio.wait_for(self.task, 20)
        await self.client.close_transport()


@pytest.fixture
async def running(live: LiveServer) -> AsyncIterator[Running]:
    executor = Running(live)
    await executor.registered()
    yield executor
    await executor.stop()


async def test_tutorial_functions_through_the_executor(live: LiveServer, running: Running) -> None:
    member = add_executor(live, "submitter", executortype="cli")
    async with AsyncClient(live.url, member.prvkey) as client:
        cases = [
            ("echo", ["Hello from browser!"], "Hello from browser!"),
            ("add", ["5", "3"], "8"),
            ("multiply", ["7", "6"], "42"),
            ("greet", ["World"], "Hello, World! Greetings from the WASM executor."),
        ]
        for funcname, args, expected in cases:
            process = await client.submit(spec(funcname, *args))
            done = await client.wait(process.processid, timeout=10)
            assert done.state == ProcessState.SUCCESS and done.output == [expected]
        info = await client.wait((await client.submit(spec("browser_info"))).processid, 10)
        assert info.output[0].endswith("Executor: wasm-executor")
        functions = await client.get_functions("dev", "wasm-executor")
        assert sorted(f.funcname for f in functions) == sorted(TUTORIAL)
    assert running.executor.completed == 5


@pytest.mark.parametrize(
    ("funcname", "args", "message"),
    [
        ("launch_rockets", [], "Unknown function 'launch_rockets'"),
        ("add", ["5"], "add needs two numbers"),
        ("add", ["five", "3"], "expected a number"),
    ],
)
async def test_failures_close_the_process_failed(
    live: LiveServer, running: Running, funcname: str, args: list[str], message: str
) -> None:
    member = add_executor(live, "submitter", executortype="cli")
    async with AsyncClient(live.url, member.prvkey) as client:
        process = await client.submit(spec(funcname, *args))
        done = await client.wait(process.processid, timeout=10)
    assert done.state == ProcessState.FAILED
    assert len(done.errors) == 1 and message in done.errors[0]
    assert running.executor.failed == 1


async def test_exceptions_in_functions_fail_the_process(live: LiveServer) -> None:
    fs = FunctionSet()

    @fs
    def explode() -> None:
        raise RuntimeError("kaboom")

    @fs
    async def later(x: str) -> list[str]:
        await asyncio.sleep(0.01)
        return [x, x]

    executor = Running(live, fs)
    await executor.registered()
    member = add_executor(live, "submitter", executortype="cli")
    async with AsyncClient(live.url, member.prvkey) as client:
        failed = await client.wait((await client.submit(spec("explode"))).processid, 10)
        assert failed.errors == ["explode raised RuntimeError: kaboom"]
        ok = await client.wait((await client.submit(spec("later", "a"))).processid, 10)
        assert ok.output == ["a", "a"]
    await executor.stop()


async def test_an_output_json_cannot_carry_fails_the_process(live: LiveServer) -> None:
    """A set, a datetime, NaN: the process fails with the reason, the same on every Python
    (CPython with orjson would write a datetime; Pyodide's json would not), and the executor
    goes on serving."""
    fs = FunctionSet()

    @fs
    def odd(kind: str) -> object:
        return {"set": {1, 2}, "date": datetime.date(2026, 12, 2), "nan": float("nan")}[kind]

    @fs
    def fine() -> str:
        return "ok"

    executor = Running(live, fs)
    await executor.registered()
    member = add_executor(live, "submitter", executortype="cli")
    async with AsyncClient(live.url, member.prvkey) as client:
        for kind, name in (("set", "set"), ("date", "date"), ("nan", "float")):
            failed = await client.wait((await client.submit(spec("odd", kind))).processid, 10)
            assert failed.state == ProcessState.FAILED, kind
            (error,) = failed.errors
            assert error.startswith(f"odd returned what JSON cannot carry ({name}"), error
        ok = await client.wait((await client.submit(spec("fine"))).processid, 10)
        assert ok.output == ["ok"]
    assert executor.executor.failed == 3
    await executor.stop()


async def test_serves_processes_submitted_by_pycolonies(live: LiveServer, running: Running) -> None:
    member = add_executor(live, "submitter", executortype="cli")
    pc = pycolonies.Colonies(live.host, live.port)
    submitted = await asyncio.to_thread(
        pc.submit_func_spec,
        pycolonies.func_spec(func="add", args=["5", "3"], colonyname="dev", executortype="wasm"),
        member.prvkey,
    )
    done = await asyncio.to_thread(pc.wait, submitted, 10, member.prvkey)
    assert done.state == 2 and done.output == ["8"]


async def test_registration_errors_are_clear(live: LiveServer) -> None:
    wrong = Running(live, colony_prvkey=crypto.generate_private_key())
    with pytest.raises(RegistrationError, match="not the owner key of colony 'dev'"):
        await asyncio.wait_for(wrong.task, 10)
    await wrong.client.close_transport()
    unapproved = Running(live, colony_prvkey=None)
    with pytest.raises(RegistrationError, match="not an approved member"):
        await asyncio.wait_for(unapproved.task, 10)
    await unapproved.client.close_transport()


async def test_restart_with_the_same_name_reregisters(live: LiveServer) -> None:
    first = Running(live)
    await first.registered()
    await first.stop()
    second = Running(live)
    await second.registered()
    member = add_executor(live, "submitter", executortype="cli")
    async with AsyncClient(live.url, member.prvkey) as client:
        done = await client.wait((await client.submit(spec("echo", "again"))).processid, 10)
    assert done.output == ["again"]
    await second.stop()


async def test_preapproved_executor_key(live: LiveServer) -> None:
    key = add_executor(live, "wasm-executor", executortype="wasm")
    executor = Running(live, colony_prvkey=None, prvkey=key.prvkey)
    await executor.registered()
    async with AsyncClient(live.url, key.prvkey) as client:
        done = await client.wait((await client.submit(spec("echo", "x"))).processid, 10)
    assert done.output == ["x"]
    await executor.stop()


async def test_survives_the_server_restarting(tmp_path: Path) -> None:
    db = tmp_path / "colonies.db"
    live, thread = await asyncio.to_thread(start_server, db, sweep_interval=0.2)
    executor = Running(live)
    await executor.registered()
    member = add_executor(live, "submitter", executortype="cli")
    thread.stop(keep_data=True)
    await eventually(  # the executor is now failing to reach the server
        lambda: any(e.message.startswith("reconnecting") for e in executor.events)
    )
    again = await asyncio.to_thread(restart_server, live, sweep_interval=0.2)
    try:
        async with AsyncClient(live.url, member.prvkey) as client:
            process = await client.submit(spec("add", "5", "3"))
            done = await client.wait(process.processid, timeout=20)
        assert done.output == ["8"]
    finally:
        await executor.stop()
        again.stop()


SLOW_MODULE = textwrap.dedent("""
    import pathlib
    import time
    from colonies.functions import FunctionSet

    functions = FunctionSet()

    @functions
    def slow(seconds):
        pathlib.Path(__file__).with_name("started").touch()  # the test stops the executor now
        time.sleep(float(seconds))
        return "finished"
""")


@pytest.mark.parametrize(
    ("grace", "state"), [(0.5, ProcessState.FAILED), (10, ProcessState.SUCCESS)]
)
def test_sigterm_stops_cleanly(
    live: LiveServer, tmp_path: Path, grace: float, state: ProcessState
) -> None:
    (tmp_path / "slowfuncs.py").write_text(SLOW_MODULE)
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "COLONIES_SERVER_HOST": "127.0.0.1",
        "COLONIES_SERVER_PORT": str(live.port),
        "COLONIES_COLONY_NAME": "dev",
        "COLONIES_COLONY_PRVKEY": live.colony.prvkey,
        "COLONIES_TLS": "false",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "colonies.cli",
            "executor",
            "run",
            "--type",
            "slow",
            "--name",
            "slow-1",
            "--module",
            "slowfuncs",
            "--grace",
            str(grace),
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    member = add_executor(live, "submitter", executortype="cli")
    with Client(live.url, member.prvkey) as client:
        process = client.submit(
            FunctionSpec(
                funcname="slow",
                args=["3"],
                conditions=Conditions(colonyname="dev", executortype="slow"),
            )
        )

        def running() -> bool:
            """The function is running in the executor (RUNNING on the server is not enough:
            the assign's reply may still be on its way, and a stop then re-queues it)."""
            assert proc.poll() is None, "the executor exited before it ran the process"
            return (tmp_path / "started").exists()

        until(running, timeout=20)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
        assert proc.returncode == 0, stderr
        done = client.get_process(process.processid)
    assert done.state == state, stderr
    if state == ProcessState.FAILED:
        assert done.errors == ["executor slow-1 stopped before slow finished"]
    else:
        assert done.output == ["finished"]
    assert "Stopped:" in stderr


def test_run_finds_a_module_in_the_current_folder(live: LiveServer, tmp_path: Path) -> None:
    """``colonies executor run --module myfuncs`` in the folder of myfuncs.py, no PYTHONPATH
    (the installed console script, not ``python -m``, which would add the folder itself)."""
    (tmp_path / "myfuncs.py").write_text(
        "from colonies.functions import FunctionSet\n"
        "functions = FunctionSet()\n\n"
        "@functions\n"
        "def shout(text):\n"
        "    return text.upper()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        COLONIES_SERVER_HOST="127.0.0.1",
        COLONIES_SERVER_PORT=str(live.port),
        COLONIES_COLONY_NAME="dev",
        COLONIES_COLONY_PRVKEY=live.colony.prvkey,
        COLONIES_TLS="false",
    )
    script = Path(sys.executable).with_name("colonies")
    argv = [str(script), "executor", "run", "--type", "local", "--module", "myfuncs"]
    proc = subprocess.Popen(argv, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        member = add_executor(live, "submitter", executortype="cli")
        with Client(live.url, member.prvkey) as client:
            spec = FunctionSpec(
                funcname="shout",
                args=["hi"],
                conditions=Conditions(colonyname="dev", executortype="local"),
            )
            process = client.submit(spec)
            done = client.wait(process.processid, timeout=30)
        assert done.output == ["HI"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
