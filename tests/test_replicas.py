"""Several ``colonies server start --database postgresql://…`` processes on one database are one
server: wake-ups, events, membership and pause cross replicas; work survives kill -9 of one; a
leader is always elected.

Every replica is a real subprocess on its own loopback port, on a fresh PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from websockets.asyncio.client import connect

from colonies import crypto, rpc
from colonies.client import AsyncClient, AsyncHTTPTransport, Client
from colonies.errors import NoProcessAvailable, ServerError, TransportError
from colonies.model import (
    Colony,
    Conditions,
    Cron,
    Executor,
    FunctionSpec,
    ProcessState,
    WorkflowSpec,
)
from colonies.server.leader import LOCK_KEY
from colonies.timeutil import NS, parse_ns
from conftest import Identity, free_port
from pg import fresh_database
from test_pubsub import decode, subscribe_process

COLONIES = [sys.executable, "-m", "colonies.cli"]


class Replica:
    """One ``colonies server start`` process on the shared database."""

    def __init__(self, database: str, serverid: str, log: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        argv = [*COLONIES, "server", "start", "--database", database, "--port", str(self.port)]
        self.proc = subprocess.Popen(
            [*argv, "--serverid", serverid, "--log-level", "info", *extra],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")},
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, f"replica exited: {Path(self.log.name).read_text()}"
            assert time.monotonic() < deadline, "replica did not start in 30 s"
            time.sleep(0.05)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


class Cluster:
    """Replicas on one fresh database, plus the server key, a colony ``dev`` and a member of it
    (an executor of another type) that submits."""

    def __init__(self, database: str, tmp: Path) -> None:
        self.database, self.tmp = database, tmp
        self.server = Identity(crypto.generate_private_key())
        self.colony = Identity(crypto.generate_private_key())
        self.replicas: list[Replica] = []

    def start(self, count: int, *extra: str) -> list[Replica]:
        started = [
            Replica(
                self.database,
                self.server.id,
                self.tmp / f"replica-{len(self.replicas) + i}.log",
                *extra,
            )
            for i in range(count)
        ]
        self.replicas += started
        for replica in started:
            replica.wait_ready()
        if len(self.replicas) == count:  # the first start: the colony and a member to submit
            with Client(started[0].url, self.server.prvkey) as client:
                client.add_colony(Colony(colonyid=self.colony.id, name="dev"))
            self.member = self.executor(started[0].url, "submitter", "submitter")
        return started

    def executor(self, url: str, name: str, executortype: str = "w") -> Identity:
        key = Identity(crypto.generate_private_key())
        with Client(url, self.colony.prvkey) as client:
            client.add_executor(
                Executor(
                    executorid=key.id,
                    executortype=executortype,
                    executorname=name,
                    colonyname="dev",
                )
            )
            client.approve_executor("dev", name)
        return key

    def stop(self) -> None:
        for replica in self.replicas:
            replica.stop()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with fresh_database() as database:
        made = Cluster(database, tmp_path)
        try:
            yield made
        finally:
            made.stop()


def spec(executortype: str = "w", **fields: object) -> FunctionSpec:
    return FunctionSpec(
        funcname="f", conditions=Conditions(colonyname="dev", executortype=executortype), **fields
    )  # type: ignore[arg-type]


def test_a_submit_on_one_replica_wakes_a_long_poll_on_another(cluster: Cluster) -> None:
    a, b = cluster.start(2)
    worker = cluster.executor(a.url, "w1")

    async def scenario() -> tuple[str, float]:
        async with (
            AsyncClient(b.url, worker.prvkey) as polling,
            AsyncClient(a.url, cluster.member.prvkey) as submitting,
        ):
            poll = asyncio.create_task(polling.assign("dev", 20))
            await asyncio.sleep(0.5)  # the long-poll is waiting on b
            assert not poll.done()
            submitted = await submitting.submit(spec())
            start = time.monotonic()
            assigned = await poll
            assert assigned.processid == submitted.processid
            return assigned.processid, time.monotonic() - start

    _, elapsed = asyncio.run(scenario())
    assert elapsed < 1.0, f"the wake-up took {elapsed:.3f} s (the poll's timeout is 20 s)"


def test_a_close_on_one_replica_reaches_a_subscriber_on_another(cluster: Cluster) -> None:
    a, b = cluster.start(2)
    worker = cluster.executor(a.url, "w1")
    member = cluster.member

    async def scenario() -> None:
        async with AsyncClient(a.url, member.prvkey) as client:
            process = await client.submit(spec())
            ws_url = b.url.replace("http", "ws") + "/pubsub"
            async with connect(ws_url) as ws:
                await ws.send(subscribe_process(member, process.processid, ProcessState.SUCCESS))
                await asyncio.sleep(0.3)  # subscribed on b
                await client.assign("dev", 5, prvkey=worker.prvkey)
                await client.close(process.processid, ["done"], prvkey=worker.prvkey)
                start = time.monotonic()
                payloadtype, event = decode(await asyncio.wait_for(ws.recv(), 10))
                assert payloadtype == "processmsg" or "process" in payloadtype
                assert event["processid"] == process.processid
                assert event["state"] == ProcessState.SUCCESS
                assert event["out"] == ["done"]
                assert time.monotonic() - start < 1.0
            async with AsyncClient(b.url, member.prvkey) as waiting:
                done = await waiting.wait(process.processid, 5)
                assert done.state == ProcessState.SUCCESS

    asyncio.run(scenario())


def test_a_removed_executor_is_refused_by_every_replica_at_once(cluster: Cluster) -> None:
    a, b = cluster.start(2)
    worker = cluster.executor(a.url, "w1")
    with Client(b.url, worker.prvkey) as on_b, Client(a.url, cluster.colony.prvkey) as owner:
        with pytest.raises(NoProcessAvailable):
            on_b.assign("dev", 1)  # b now holds the executor's record in its cache
        owner.remove_executor("dev", "w1")
        process = owner.submit(spec(), prvkey=cluster.member.prvkey)
        # No second of grace: the membership signal reached b before this call.
        deadline = time.monotonic() + 0.3
        while True:
            try:
                on_b.get_process(process.processid)
            except ServerError as e:
                assert e.status == 403
                break
            assert time.monotonic() < deadline, "b still let the removed executor in"
            time.sleep(0.01)
        with pytest.raises(ServerError) as refused:
            on_b.assign("dev", 1)
        assert refused.value.status == 403
        waiting = owner.get_process(process.processid, prvkey=cluster.member.prvkey)
        assert waiting.state == ProcessState.WAITING


def pause(url: str, prvkey: str, paused: bool) -> None:
    """Pause or resume the colony's assignments (no SDK method yet: the raw RPC)."""
    msgtype = "pauseassignmentsmsg" if paused else "resumeassignmentsmsg"
    body = rpc.build_request({"msgtype": msgtype, "colonyname": "dev"}, prvkey)
    assert httpx.post(url + "/api", content=body, timeout=10).status_code == 200


def test_pause_on_one_replica_holds_assigners_on_another(cluster: Cluster) -> None:
    a, b = cluster.start(2)
    worker = cluster.executor(a.url, "w1")

    async def scenario() -> None:
        async with (
            AsyncClient(a.url, cluster.colony.prvkey) as owner,
            AsyncClient(b.url, worker.prvkey) as on_b,
        ):
            await asyncio.to_thread(pause, a.url, cluster.colony.prvkey, True)
            await owner.submit(spec(), prvkey=cluster.member.prvkey)
            poll = asyncio.create_task(on_b.assign("dev", 20))
            await asyncio.sleep(0.5)
            assert not poll.done(), "b assigned in a paused colony"
            await asyncio.to_thread(pause, a.url, cluster.colony.prvkey, False)
            start = time.monotonic()
            await asyncio.wait_for(poll, 5)
            assert time.monotonic() - start < 1.0

    asyncio.run(scenario())


def test_three_replicas_fifty_pollers_five_thousand_processes_each_once(cluster: Cluster) -> None:
    replicas = cluster.start(3)
    urls = [r.url for r in replicas]
    total, pollers = 5000, 50
    workers = [cluster.executor(urls[i % 3], f"w{i}") for i in range(pollers)]

    async def scenario() -> list[str]:
        async with (
            AsyncClient(urls[0], cluster.member.prvkey) as c0,
            AsyncClient(urls[1], cluster.member.prvkey) as c1,
            AsyncClient(urls[2], cluster.member.prvkey) as c2,
        ):
            submitters = [c0, c1, c2]
            queue = iter(range(total))

            async def submit_some(client: AsyncClient) -> None:
                for _ in queue:
                    await client.submit(spec())

            await asyncio.gather(*(submit_some(submitters[i % 3]) for i in range(24)))
        assigned: list[str] = []

        async def poll(i: int) -> None:
            async with AsyncClient(urls[i % 3], workers[i].prvkey) as client:
                while True:
                    try:
                        process = await client.assign("dev", 1)
                    except NoProcessAvailable:
                        return
                    assigned.append(process.processid)
                    await client.close(process.processid, [])

        await asyncio.gather(*(poll(i) for i in range(pollers)))
        return assigned

    assigned = asyncio.run(scenario())
    assert len(assigned) == total
    assert len(set(assigned)) == total
    with Client(urls[1], cluster.member.prvkey) as client:
        stats = client.colony_statistics("dev")
        assert (stats.successfulprocesses, stats.waitingprocesses) == (total, 0)


def test_kill_9_of_a_replica_under_load_loses_nothing_acknowledged(cluster: Cluster) -> None:
    """Clients retry a call on the next replica when theirs is gone. A process claimed by a
    long-poll whose reply died with the replica stays RUNNING until its ``maxexectime``, when
    the leader (elected again, if it was the one killed) re-queues it: nothing acknowledged is
    lost, and every process ends SUCCESS."""
    replicas = cluster.start(3)
    urls = [r.url for r in replicas]
    workers = [cluster.executor(urls[i % 3], f"w{i}") for i in range(9)]
    total = 600
    acknowledged: set[str] = set()
    closed: set[str] = set()

    async def on_any(url_index: Iterator[int], call: Callable[[str], object]) -> object:
        """A client's retry: on a transport error, the same call on the next replica."""
        for _ in range(30):
            url = urls[next(url_index)]
            try:
                return await call(url)  # type: ignore[misc]
            except TransportError:
                await asyncio.sleep(0.05)
        raise AssertionError("no replica answered 30 times in a row")

    async def submitter(i: int) -> None:
        turn = itertools.cycle(range(3))
        for _ in range(i, total, 6):

            async def submit(url: str) -> object:
                async with AsyncClient(url, cluster.member.prvkey) as client:
                    return (await client.submit(spec(maxexectime=3, maxretries=10))).processid

            acknowledged.add(str(await on_any(turn, submit)))

    async def worker(i: int) -> None:
        turn = itertools.cycle([i % 3, (i + 1) % 3, (i + 2) % 3])
        idle = 0
        while idle < 6:

            async def work(url: str) -> object:
                async with AsyncClient(url, workers[i].prvkey) as client:
                    try:
                        process = await client.assign("dev", 1)
                    except NoProcessAvailable:
                        return None
                    try:
                        await client.close(process.processid, [])
                    except ServerError:
                        return None  # re-queued meanwhile (its replica died): someone else's
                    return process.processid

            done = await on_any(turn, work)
            if done is None:
                idle += 1 if len(acknowledged) == total else 0
            else:
                idle = 0
                closed.add(str(done))

    async def killer() -> None:
        while len(closed) < 150:
            await asyncio.sleep(0.02)
        replicas[0].kill()

    async def scenario() -> None:
        await asyncio.gather(
            *(submitter(i) for i in range(6)), *(worker(i) for i in range(9)), killer()
        )

    asyncio.run(scenario())
    assert replicas[0].proc.returncode == -signal.SIGKILL
    assert len(acknowledged) == total
    with Client(urls[1], cluster.member.prvkey) as client:
        deadline = time.monotonic() + 30
        states = {}
        while True:
            states = {p: client.get_process(p).state for p in acknowledged}
            if all(s == ProcessState.SUCCESS for s in states.values()):
                break
            assert time.monotonic() < deadline, (
                f"not all acknowledged processes succeeded: {Counter(states.values())}"
            )
            time.sleep(0.5)


def leader_application_name(database: str) -> str | None:
    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
            " WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()"
            " AND ((l.classid::bigint << 32) | l.objid::bigint) = %s",
            (LOCK_KEY,),
        ).fetchone()
    return None if row is None else str(row[0])


def test_a_new_leader_takes_over_within_5_s_of_the_leaders_death(cluster: Cluster) -> None:
    replicas = cluster.start(2)
    deadline = time.monotonic() + 5
    while (name := leader_application_name(cluster.database)) is None:
        assert time.monotonic() < deadline, "no leader elected in 5 s"
        time.sleep(0.1)
    leader = next(r for r in replicas if f" {r.proc.pid}@" in name)
    other = next(r for r in replicas if r is not leader)
    leader.kill()
    killed = time.monotonic()
    while (name := leader_application_name(cluster.database)) is None or (
        f" {other.proc.pid}@" not in name
    ):
        assert time.monotonic() - killed < 5, "no replica took over within 5 s"
        time.sleep(0.1)
    # The new leader does the leader's work: a process past its wait deadline fails.
    with Client(other.url, cluster.member.prvkey) as client:
        process = client.submit(spec(maxwaittime=1))
        deadline = time.monotonic() + 10
        while client.get_process(process.processid).state != ProcessState.FAILED:
            assert time.monotonic() < deadline, "the deadline sweep did not run"
            time.sleep(0.2)


def test_a_process_too_large_for_a_notification_still_reaches_a_subscriber(
    cluster: Cluster,
) -> None:
    """PostgreSQL refuses NOTIFY payloads of 8000 bytes or more: such a process is announced
    without its body, and the replica with the subscriber reads it from the store."""
    a, b = cluster.start(2)
    worker = cluster.executor(a.url, "w1")
    member = cluster.member
    big = ["x" * 20_000]

    async def scenario() -> None:
        async with AsyncClient(a.url, member.prvkey) as client:
            process = await client.submit(spec(args=big))
            async with connect(b.url.replace("http", "ws") + "/pubsub", max_size=None) as ws:
                await ws.send(subscribe_process(member, process.processid, ProcessState.SUCCESS))
                await asyncio.sleep(0.3)
                await client.assign("dev", 5, prvkey=worker.prvkey)
                await client.close(process.processid, big, prvkey=worker.prvkey)
                _, event = decode(await asyncio.wait_for(ws.recv(), 10))
                assert (event["processid"], event["out"]) == (process.processid, big)

    asyncio.run(scenario())


def terminate(database: str, application_name: str) -> int:
    """End the replica connections named so (as a network cut or a PostgreSQL restart would)."""
    with psycopg.connect(database, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE %s",
            (application_name,),
        ).fetchall()
    return len(rows)


def test_a_replica_that_lost_its_signals_looks_again(cluster: Cluster) -> None:
    """While b's listening connection is down it misses a's wake-up; once reconnected it wakes
    its long-polls to look in the store, so the process is not left until the poll times out."""
    a, b = cluster.start(2)
    worker = cluster.executor(a.url, "w1")

    async def scenario() -> float:
        async with (
            AsyncClient(b.url, worker.prvkey) as polling,
            AsyncClient(a.url, cluster.member.prvkey) as submitting,
        ):
            poll = asyncio.create_task(polling.assign("dev", 30))
            await asyncio.sleep(0.5)
            name = f"colonies listen % {b.proc.pid}@%"
            assert await asyncio.to_thread(terminate, cluster.database, name) == 1
            submitted = await submitting.submit(spec())
            start = time.monotonic()
            assigned = await asyncio.wait_for(poll, 10)
            assert assigned.processid == submitted.processid
            return time.monotonic() - start

    assert asyncio.run(scenario()) < 5.0


def test_health_is_503_while_a_replica_cannot_hear_the_others(cluster: Cluster) -> None:
    (a,) = cluster.start(1)
    assert httpx.get(a.url + "/health").status_code == 200
    seen = set()
    deadline = time.monotonic() + 10
    # Cut its listening connection until /health says so, then let it reconnect.
    while 503 not in seen:
        terminate(cluster.database, f"colonies listen % {a.proc.pid}@%")
        seen.add(httpx.get(a.url + "/health").status_code)
        assert time.monotonic() < deadline, "/health never said the replica was deaf"
    while httpx.get(a.url + "/health").status_code != 200:
        assert time.monotonic() < deadline + 5, "the replica did not reconnect"
        time.sleep(0.05)


def test_a_workflow_runs_across_replicas(cluster: Cluster) -> None:
    """A diamond whose steps are taken by executors long-polling on different replicas: a close
    on one replica releases the children, and the release wakes a poller on the other."""
    a, b = cluster.start(2)
    workers = [cluster.executor(a.url, "wa"), cluster.executor(b.url, "wb")]

    def node(name: str, *after: str) -> FunctionSpec:
        return FunctionSpec(
            nodename=name,
            funcname=name,
            args=[name],
            conditions=Conditions(colonyname="dev", executortype="w", dependencies=list(after)),
        )

    async def work(url: str, key: Identity, ran: list[str]) -> None:
        async with AsyncClient(url, key.prvkey) as client:
            while True:
                try:
                    process = await client.assign("dev", 2)
                except NoProcessAvailable:
                    return
                ran.append(process.spec.nodename)
                await client.close(process.processid, [process.spec.nodename, *process.input])

    async def scenario() -> tuple[list[str], list[str], dict[str, list[object]]]:
        on_a: list[str] = []
        on_b: list[str] = []
        async with AsyncClient(a.url, cluster.member.prvkey) as client:
            spec = WorkflowSpec(
                colonyname="dev",
                functionspecs=[node("a"), node("b", "a"), node("c", "a"), node("d", "b", "c")],
            )
            graph = await client.submit_workflow(spec)
            await asyncio.gather(
                work(a.url, workers[0], on_a),
                work(b.url, workers[1], on_b),
                client.wait_processgraph(graph.processgraphid, 30),
            )
        async with AsyncClient(b.url, cluster.member.prvkey) as client:
            done = await client.get_processgraph(graph.processgraphid)
            assert done.state == ProcessState.SUCCESS
            steps = [await client.get_process(p) for p in done.processids]
        return on_a, on_b, {p.spec.nodename: p.output for p in steps}

    on_a, on_b, outputs = asyncio.run(scenario())
    assert sorted(on_a + on_b) == ["a", "b", "c", "d"]
    assert outputs["d"] == ["d", "b", "a", "c", "a"]


def test_a_cron_fires_once_per_interval_across_a_leader_change(cluster: Cluster) -> None:
    """Only the leader fires crons, each firing a compare-and-set on ``nextrun``: with two
    replicas a 1-second cron starts one workflow a second, and when the leader is killed the
    other carries on, without a second firing of one slot."""
    replicas = cluster.start(2)
    spec = WorkflowSpec(
        colonyname="dev",
        functionspecs=[
            FunctionSpec(
                nodename="tick",
                funcname="tick",
                conditions=Conditions(colonyname="dev", executortype="w"),
            )
        ],
    )
    with Client(replicas[0].url, cluster.member.prvkey) as client:
        client.add_cron(Cron(colonyname="dev", name="tick", interval=1), spec)

    def started() -> list[int]:
        with Client(replicas[-1].url, cluster.member.prvkey) as client:
            graphs = client.get_processgraphs("dev", 100, ProcessState.WAITING)
        return sorted(parse_ns(g.submissiontime) for g in graphs)

    time.sleep(4.5)
    before = started()
    assert 3 <= len(before) <= 6, before
    deadline = time.monotonic() + 5
    while (name := leader_application_name(cluster.database)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    leader = next(r for r in replicas if f" {r.proc.pid}@" in name)
    leader.kill()
    replicas.remove(leader)
    time.sleep(6)
    after = started()
    assert len(after) >= len(before) + 3, (before, after)  # the new leader carried on
    gaps = [b - a for a, b in itertools.pairwise(after)]
    assert min(gaps) > 0.5 * NS, gaps  # never two firings of one slot


# --- --workers N: one port, several processes (SO_REUSEPORT) -------------------------------


def workers_of(replica: Replica) -> list[int]:
    """The worker processes under ``--workers`` (multiprocessing's resource tracker aside)."""
    pid = replica.proc.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        int(c)
        for c in children
        if b"resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()
    ]


def open_sockets(pid: int) -> int:
    """The sockets ``pid`` has open; a descriptor closed between the listing and its
    ``readlink`` (the worker keeps running meanwhile) is not counted."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(FileNotFoundError):
            count += os.readlink(fd).startswith("socket:")
    return count


def test_workers_share_one_port_and_wake_each_others_long_polls(cluster: Cluster) -> None:
    [server] = cluster.start(1, "--workers", "2")
    workers = workers_of(server)
    assert len(workers) == 2, workers
    before = {pid: open_sockets(pid) for pid in workers}
    count = 24
    keys = [cluster.executor(server.url, f"w{i}") for i in range(count)]

    async def scenario() -> tuple[list[str], dict[int, int]]:
        # One connection per executor (POST /api, a pool each): the kernel spreads them.
        polling = [AsyncClient(server.url, k.prvkey, transport=AsyncHTTPTransport()) for k in keys]
        try:
            polls = [asyncio.create_task(c.assign("dev", 20)) for c in polling]
            deadline = time.monotonic() + 10
            while sum(open_sockets(p) - before[p] for p in workers) < count:
                assert time.monotonic() < deadline, "the long-polls did not all connect"
                await asyncio.sleep(0.05)
            held = {pid: open_sockets(pid) - before[pid] for pid in workers}
            async with AsyncClient(server.url, cluster.member.prvkey) as submitter:
                for _ in range(count):  # each submit on one worker, each wakes one poll
                    await submitter.submit(spec())
            processes = await asyncio.gather(*polls)
            return [p.processid for p in processes], held
        finally:
            for client in polling:
                await client.close_transport()

    assigned, held = asyncio.run(scenario())
    assert len(set(assigned)) == count  # every poll got a process of its own
    assert all(n > 0 for n in held.values()), held  # both workers took connections


def test_a_dead_worker_is_replaced_and_sigterm_stops_them_all(cluster: Cluster) -> None:
    [server] = cluster.start(1, "--workers", "2")
    first = workers_of(server)
    os.kill(first[0], signal.SIGKILL)
    deadline = time.monotonic() + 20
    while len(now := workers_of(server)) < 2 or first[0] in now:
        assert time.monotonic() < deadline, f"no new worker: {now}"
        time.sleep(0.1)
    server.wait_ready()
    with Client(server.url, cluster.member.prvkey) as client:
        assert client.submit(spec()).state == ProcessState.WAITING
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(20) == 0
    for pid in now:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


def test_workers_need_postgresql(tmp_path: Path) -> None:
    argv = [*COLONIES, "server", "start", "--workers", "2", "--data-dir", str(tmp_path)]
    run = subprocess.run(
        [*argv, "--serverid", "ab" * 32], capture_output=True, text=True, timeout=60
    )
    assert run.returncode != 0
    assert "--workers above 1 needs PostgreSQL" in run.stderr
