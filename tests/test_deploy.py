"""The deployment of docs/deploy.md, for real: three ``colonies server start --database``
replicas on one fresh PostgreSQL database behind HAProxy run from ``deploy/haproxy.cfg``, all on
127.0.0.1. Everything goes through the load balancer: setup, a long-poll assign, ``wait()``
over ``/pubsub``, the ``/rpc`` WebSocket, the CLI's ``function exec --wait``; then one replica
is killed with SIGKILL and the clients carry on (a long-poll cut by the kill is retried and
lands on a live replica).

HAProxy comes from Debian (``scripts/bootstrap --browser`` installs it as root, as CI does).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from colonies import crypto, rpc
from colonies.client import Client
from colonies.errors import (
    ColoniesError,
    NoProcessAvailable,
    ProtocolError,
    ServerError,
    TransportError,
)
from colonies.model import Colony, Conditions, Executor, FunctionSpec, Process, ProcessState
from conftest import REPO, free_port
from pg import fresh_database

HOST = "127.0.0.1"
COLONY = "dev"
REPLICAS = 3
START_TIMEOUT = 60.0
POLL = 20  # s, the executors' long-poll through the LB (HAProxy's timeouts are far longer)


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if found is None:
        message = "HAProxy is not installed: scripts/bootstrap --browser (as root) installs it"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it; a missing LB there is a failure, not a skip
        pytest.skip(message)
    return found


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    return {**env, **extra}


def healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not healthy(url):
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited:\n{log.read_text(errors='replace')[-3000:]}")
        assert time.monotonic() < deadline, f"{url} not healthy in {START_TIMEOUT:.0f} s"
        time.sleep(0.1)


@dataclass
class Deployment:
    lb: str  # http://127.0.0.1:PORT of HAProxy
    replicas: list[subprocess.Popen[bytes]]
    replica_urls: list[str]
    server_key: str
    colony_key: str
    logs: Path

    @property
    def lb_port(self) -> int:
        return int(self.lb.rsplit(":", 1)[1])


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    haproxy = haproxy_binary()
    server_key, colony_key = crypto.generate_private_key(), crypto.generate_private_key()
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Any] = []

    def spawn(argv: list[str], name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        logs.append(log)
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    with fresh_database() as database:
        try:
            ports = [free_port() for _ in range(REPLICAS)]
            replicas = []
            for i, port in enumerate(ports):
                argv = [sys.executable, "-m", "colonies.cli", "server", "start"]
                argv += ["--database", database, "--host", HOST, "--port", str(port)]
                argv += ["--serverid", crypto.id_from_private_key(server_key)]
                replicas.append(spawn(argv, f"replica-{i}", clean_env()))
                if i == 0:  # the first creates the schema; the others start side by side
                    wait_healthy(f"http://{HOST}:{port}", replicas[0], tmp_path / "replica-0.log")
            urls = [f"http://{HOST}:{port}" for port in ports]
            for i, (url, proc) in enumerate(zip(urls, replicas, strict=True)):
                wait_healthy(url, proc, tmp_path / f"replica-{i}.log")

            lb_port = free_port()
            env = clean_env(COLONIES_LB_BIND=f"{HOST}:{lb_port}")
            env.update({f"COLONIES_REPLICA_{i + 1}": f"{HOST}:{p}" for i, p in enumerate(ports)})
            config = REPO / "deploy" / "haproxy.cfg"
            lb = spawn([haproxy, "-W", "-db", "-f", str(config)], "haproxy", env)
            wait_healthy(f"http://{HOST}:{lb_port}", lb, tmp_path / "haproxy.log")
            yield Deployment(
                f"http://{HOST}:{lb_port}", replicas, urls, server_key, colony_key, tmp_path
            )
        finally:
            for proc in reversed(procs):  # HAProxy first, then the replicas
                if proc.poll() is None:
                    proc.terminate()
            for proc in reversed(procs):
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            for log in logs:
                log.close()


def add_executor(d: Deployment, name: str, executortype: str = "worker") -> str:
    """Register and approve an executor through the LB (colony key); its private key."""
    key = crypto.generate_private_key()
    with Client(d.lb, d.colony_key) as owner:
        owner.add_executor(
            Executor(
                executorid=crypto.id_from_private_key(key),
                executortype=executortype,
                executorname=name,
                colonyname=COLONY,
            )
        )
        owner.approve_executor(COLONY, name)
    return key


def spec(executortype: str = "worker", *args: Any) -> FunctionSpec:
    return FunctionSpec(
        funcname="echo", args=list(args), conditions=Conditions(COLONY, executortype=executortype)
    )


def in_thread(call: Callable[[], Any]) -> Future[Any]:
    pool = ThreadPoolExecutor(1)
    future = pool.submit(call)
    pool.shutdown(wait=False)
    return future


def assign_retrying(client: Client, attempts: int = 5) -> tuple[Process, int]:
    """Long-poll until a process comes; a poll cut by a dying replica (502 from the LB, or a
    dropped connection) is retried, and the LB sends it to a live replica. Returns the process
    and how many polls failed."""
    failures = 0
    for _ in range(attempts):
        try:
            return client.assign(COLONY, POLL), failures
        except NoProcessAvailable:
            continue
        except (TransportError, ServerError, ProtocolError) as e:
            # the LB's own 502 page is not a ColonyOS reply: ProtocolError with the status
            if not isinstance(e, TransportError) and e.status < 500:
                raise
            failures += 1
            time.sleep(0.2)
    raise AssertionError(f"no process in {attempts} polls ({failures} failed)")


def run_cli(d: Deployment, member_key: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(
        COLONIES_SERVER_HOST=HOST,
        COLONIES_SERVER_PORT=str(d.lb_port),
        COLONIES_TLS="false",
        COLONIES_COLONY_NAME=COLONY,
        COLONIES_PRVKEY=member_key,
    )
    return subprocess.run(
        [sys.executable, "-m", "colonies.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


class EchoExecutor:
    """An executor loop in a thread, through the LB: assign -> close with the args as output,
    retrying polls cut by a dead replica; stops within one poll."""

    def __init__(self, d: Deployment, key: str) -> None:
        self.client = Client(d.lb, key)
        self.stopping = threading.Event()
        self.served: list[str] = []
        self.errors: list[Exception] = []
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        while not self.stopping.is_set():
            try:
                process = self.client.assign(COLONY, 1)
                self.client.close(process.processid, list(process.spec.args))
                self.served.append(process.processid)
            except NoProcessAvailable:
                continue
            except ColoniesError as e:
                self.errors.append(e)
                time.sleep(0.2)

    def __enter__(self) -> EchoExecutor:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(10)
        self.client.close_transport()


def test_replicas_behind_haproxy(deployment: Deployment) -> None:
    d = deployment
    assert healthy(d.lb)

    # setup through the LB: colony (server key), an executor and a member (colony key)
    with Client(d.lb, d.server_key) as owner:
        owner.add_colony(Colony(colonyid=crypto.id_from_private_key(d.colony_key), name=COLONY))
    worker_key = add_executor(d, "worker-1")
    member_key = add_executor(d, "member", "member")

    with Client(d.lb, member_key) as member, Client(d.lb, worker_key) as worker:
        # a long-poll through the LB gets a process submitted afterwards (maybe on another replica)
        polling = in_thread(lambda: worker.assign(COLONY, POLL))
        time.sleep(0.5)
        assert not polling.done()
        submitted = member.submit(spec("worker", "hello"))
        assigned = polling.result(POLL + 5)
        assert assigned.processid == submitted.processid
        worker.close(assigned.processid, ["hello"])
        done = member.get_process(submitted.processid)
        assert done.state == ProcessState.SUCCESS and done.output == ["hello"]

        # wait() over the /pubsub WebSocket through the LB, closed by a request on (maybe)
        # another replica: the event crosses replicas
        second = member.submit(spec("worker", "waited"))
        waiting = in_thread(lambda: member.wait(second.processid, 30))
        time.sleep(0.3)
        process = worker.assign(COLONY, POLL)
        worker.close(process.processid, ["waited"])
        finished = waiting.result(35)
        assert finished.processid == second.processid
        assert finished.state == ProcessState.SUCCESS and finished.output == ["waited"]

    # the /rpc WebSocket through the LB: a long-poll frame, then a submit over HTTP
    ws_url = d.lb.replace("http://", "ws://") + "/rpc"
    with connect(ws_url, open_timeout=10) as ws, Client(d.lb, member_key) as member:
        get = {"msgtype": "getcolonymsg", "colonyname": COLONY}
        ws.send(json.dumps({"id": 1, "body": rpc.build_request(get, member_key)}))
        reply = json.loads(ws.recv(10))
        assert (reply["id"], reply["status"]) == (1, 200)
        assert rpc.parse_reply(200, reply["body"])["name"] == COLONY
        poll = {"msgtype": "assignprocessmsg", "colonyname": COLONY, "timeout": POLL}
        ws.send(json.dumps({"id": 2, "body": rpc.build_request(poll, worker_key)}))
        time.sleep(0.3)
        third = member.submit(spec("worker", "over rpc"))
        reply = json.loads(ws.recv(POLL + 5))
        assert (reply["id"], reply["status"]) == (2, 200)
        assert rpc.parse_reply(200, reply["body"])["processid"] == third.processid
        member.close(third.processid, ["rpc"], prvkey=worker_key)

    # the CLI through the LB (the Go CLI's flow): function exec --wait, an executor serving
    with EchoExecutor(d, worker_key) as echo:
        result = run_cli(d, member_key, "function", "exec", "--func", "echo", "--args",
                         "via-lb", "--targettype", "worker", "--wait", "--out")  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "via-lb" in result.stdout
        assert len(echo.served) == 1 and not echo.errors

    # kill -9 one replica while three executors long-poll (leastconn spreads them over the
    # three replicas); the poll on the dead one fails and is retried on a live one
    keys = [add_executor(d, f"poller-{i}") for i in range(3)]
    pollers = [Client(d.lb, key) for key in keys]
    try:
        polls = [in_thread(lambda c=c: assign_retrying(c)) for c in pollers]
        time.sleep(1.0)
        assert not any(p.done() for p in polls)
        victim = d.replicas[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        assert not healthy(d.replica_urls[0])
        with Client(d.lb, member_key) as member:
            ids = {member.submit(spec("worker", f"after-{i}")).processid for i in range(3)}
            results = [p.result(POLL * 3) for p in polls]
            assert {process.processid for process, _ in results} == ids
            # leastconn gave each replica one poll: the one on the killed replica was cut
            # (HAProxy's 502) and its retry went to a live replica
            assert sum(failed for _, failed in results) == 1, results
            for (process, _), poller in zip(results, pollers, strict=True):
                poller.close(process.processid, ["ok"])
            assert all(member.get_process(i).state == ProcessState.SUCCESS for i in ids)

            # and the clients keep working: submits, long-polls, wait() and the CLI, all
            # through the LB with one replica gone, without a single failed request
            with EchoExecutor(d, worker_key) as echo:
                for i in range(20):
                    process = member.submit(spec("worker", i))
                    assert member.wait(process.processid, 30).output == [i]
                args = ["--func", "echo", "--args", "after-kill", "--targettype", "worker"]
                result = run_cli(d, member_key, "function", "exec", *args, "--wait", "--out")
                assert result.returncode == 0, result.stderr
                assert "after-kill" in result.stdout
                assert not echo.errors, echo.errors
        assert healthy(d.lb)
    finally:
        for poller in pollers:
            poller.close_transport()
