"""Our Client and AsyncClient against a real server on a random loopback port."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from colonies import crypto
from colonies.client import AsyncClient, Client, HTTPXTransport
from colonies.errors import (
    AccessDeniedError,
    NoProcessAvailable,
    NotFoundError,
    TransportError,
    WaitTimeout,
)
from colonies.model import (
    Allocations,
    Attribute,
    AttributeType,
    Capabilities,
    Colony,
    Conditions,
    Cron,
    Executor,
    ExecutorState,
    Function,
    FunctionSpec,
    Location,
    ProcessState,
    User,
    WorkflowSpec,
)
from conftest import LiveServer, add_executor
from polling import eventually, pollers_waiting, until


def spec(funcname: str = "echo", *args: object, priority: int = 0, **kw: object) -> FunctionSpec:
    return FunctionSpec(
        funcname=funcname,
        args=list(args),
        priority=priority,
        conditions=Conditions(colonyname="dev", executortype="test"),
        **kw,  # type: ignore[arg-type]
    )


def test_sync_client_full_lifecycle(live: LiveServer) -> None:
    executor = add_executor(live, "exec-1")
    with Client(live.url, executor.prvkey) as client:
        assert client.server_info().backends[0].port == live.port
        assert client.get_colony("dev") == Colony(colonyid=live.colony.id, name="dev")
        [listed] = client.get_executors("dev")
        assert listed.executorname == "exec-1" and listed.state == ExecutorState.APPROVED
        assert client.get_executor_by_id("dev", executor.id).executorname == "exec-1"

        submitted = client.submit(spec("add", 5, 3, env={"mode": "fast"}))
        assert submitted.state == ProcessState.WAITING
        assert [a.key for a in submitted.attributes] == ["mode"]
        assert [p.processid for p in client.get_processes("dev", ProcessState.WAITING)] == [
            submitted.processid
        ]
        assigned = client.assign("dev", timeout=5)
        assert assigned.processid == submitted.processid and assigned.input == []
        assert assigned.spec.args == [5, 3]
        client.add_log(assigned.processid, "adding")
        attribute = client.add_attribute(
            Attribute(
                targetid=assigned.processid, key="k", value="v", attributetype=AttributeType.OUT
            )
        )
        assert client.get_attribute(attribute.attributeid).value == "v"
        client.set_output(assigned.processid, [8])
        client.close(assigned.processid)
        done = client.wait(submitted.processid, timeout=5)
        assert done.state == ProcessState.SUCCESS and done.output == [8]
        assert [log.message for log in client.get_logs("dev", processid=done.processid)] == [
            "adding"
        ]
        assert client.colony_statistics("dev").successfulprocesses == 1
        with pytest.raises(NoProcessAvailable):
            client.assign("dev", timeout=1)


def test_functions_are_registered_and_counted(live: LiveServer) -> None:
    executor = add_executor(live, "exec-1")
    with Client(live.url, executor.prvkey) as client:
        fn = client.add_function(Function(executorname="exec-1", colonyname="dev", funcname="echo"))
        client.submit(spec("echo", "hi"))
        process = client.assign("dev", timeout=5)
        client.close(process.processid, ["hi"])
        deadline = time.monotonic() + 5  # counters are written in batches, within a second
        while (counted := client.get_functions("dev", "exec-1")[0]).counter == 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert counted.functionid == fn.functionid and counted.counter == 1
        client.remove_function(fn.functionid)
        assert client.get_functions("dev") == []


def test_fail_cancel_and_remove(live: LiveServer) -> None:
    executor = add_executor(live, "exec-1")
    with Client(live.url, executor.prvkey) as client:
        failed = client.submit(spec("boom"))
        client.assign("dev", timeout=5)
        client.fail(failed.processid, ["it broke"])
        result = client.wait(failed.processid, timeout=5)
        assert result.state == ProcessState.FAILED and result.errors == ["it broke"]

        cancelled = client.submit(spec("later"))
        client.cancel(cancelled.processid)
        assert client.wait(cancelled.processid, timeout=5).state == ProcessState.CANCELLED
        client.remove_process(cancelled.processid)
        with pytest.raises(NotFoundError):
            client.get_process(cancelled.processid)
        client.remove_all_processes("dev", prvkey=live.colony.prvkey)
        assert client.get_processes("dev", ProcessState.FAILED) == []


def test_wait_has_its_own_deadline(live: LiveServer) -> None:
    add_executor(live, "exec-1")
    member = add_executor(live, "exec-2")
    with Client(live.url, member.prvkey) as client:
        process = client.submit(spec("slow"))
        with pytest.raises(WaitTimeout):
            client.wait(process.processid, timeout=1.5)


def test_wait_outlives_the_server_side_subscription(live: LiveServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The server closes a subscription after its timeout; wait() subscribes again."""
    from colonies.client import _requests

    monkeypatch.setattr(_requests, "MAX_SUBSCRIPTION", 1)
    executor = add_executor(live, "exec-1")
    with Client(live.url, executor.prvkey) as client:
        process = client.submit(spec("slow"))

        def finish_later() -> None:
            with Client(live.url, executor.prvkey) as worker:
                running = worker.assign("dev", timeout=5)
                threading.Event().wait(3.5)
                worker.close(running.processid, ["late"])

        thread = threading.Thread(target=finish_later)
        thread.start()
        done = client.wait(process.processid)
        thread.join()
        assert done.output == ["late"]


def test_users_and_roles(live: LiveServer) -> None:
    user_key = crypto.generate_private_key()
    with Client(live.url, live.colony.prvkey) as owner:
        owner.add_user(
            User(colonyname="dev", userid=crypto.id_from_private_key(user_key), name="alice")
        )
        assert [u.name for u in owner.get_users("dev", prvkey=user_key)] == ["alice"]
    with Client(live.url, user_key) as user:
        process = user.submit(spec("echo"))
        assert process.initiatorname == "alice"
        with pytest.raises(AccessDeniedError):
            user.assign("dev", timeout=1)  # users submit, only executors run
        with pytest.raises(AccessDeniedError, match="not server owner"):
            user.get_colonies()


def test_connection_errors_are_transport_errors() -> None:
    from conftest import free_port

    with (
        Client(f"http://127.0.0.1:{free_port()}", crypto.generate_private_key()) as client,
        pytest.raises(TransportError),
    ):
        client.get_colony("dev")


async def test_async_client_full_lifecycle(live: LiveServer) -> None:
    executor = add_executor(live, "exec-1")
    async with AsyncClient(live.url, executor.prvkey) as client:
        submitted = [await client.submit(spec("echo", i, priority=i)) for i in range(3)]
        waits = [asyncio.create_task(client.wait(p.processid, timeout=10)) for p in submitted]
        for expected in reversed(submitted):  # highest priority first
            process = await client.assign("dev", timeout=5)
            assert process.processid == expected.processid
            await client.close(process.processid, process.spec.args)
        results = await asyncio.gather(*waits)
        assert [r.output for r in results] == [[0], [1], [2]]
        with pytest.raises(NoProcessAvailable):
            await client.assign("dev", timeout=1)


async def test_async_long_poll_is_woken_by_submit(live: LiveServer) -> None:
    executor = add_executor(live, "exec-1")
    async with AsyncClient(live.url, executor.prvkey) as client:
        poll = asyncio.create_task(client.assign("dev", timeout=20))
        await eventually(lambda: pollers_waiting(live) == 1)
        assert not poll.done()
        submitted = await client.submit(spec("echo"))
        assigned = await asyncio.wait_for(poll, 5)
        assert assigned.processid == submitted.processid


class WatchedTransport(HTTPXTransport):
    """The default transport, counting what failed and noting when a subscription opened."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0
        self.listened = threading.Event()

    def post(self, url: str, body: str, timeout: float | None) -> tuple[int, str]:
        try:
            return super().post(url, body, timeout)
        except TransportError:
            self.failures += 1
            raise

    def connect(self, url: str, timeout: float | None) -> Any:
        try:
            ws = super().connect(url, timeout)
        except TransportError:
            self.failures += 1
            raise
        self.listened.set()
        return ws


def test_wait_outlives_a_server_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An unlimited wait keeps going while the server restarts, and sees the result after."""
    from conftest import restart_server, start_server

    db = tmp_path / "colonies.db"
    live, thread = start_server(db)
    executor = add_executor(live, "exec-1")
    result: list[object] = []
    transport = WatchedTransport()
    with Client(live.url, executor.prvkey, transport=transport) as client:
        process = client.submit(spec("slow"))
        waiter = threading.Thread(target=lambda: result.append(client.wait(process.processid)))
        waiter.start()
        until(transport.listened.is_set, what="the wait to subscribe")
        thread.stop(keep_data=True)
        until(lambda: transport.failures >= 2, what="the wait to retry against a dead server")
        again = restart_server(live)
        try:
            with Client(live.url, executor.prvkey) as worker:
                running = worker.assign("dev", timeout=5)
                worker.close(running.processid, ["after restart"])
            waiter.join(30)
        finally:
            again.stop()
    assert [p.output for p in result] == [["after restart"]]  # type: ignore[attr-defined]


# --- locations, pausing, log search, executor updates, pycolonies' names (issue 11) --------


def _outsider(live: LiveServer) -> tuple[str, str]:
    """A second colony "other" with an approved executor; returns (owner key, executor key)."""
    owner, member = crypto.generate_private_key(), crypto.generate_private_key()
    with Client(live.url, live.server.prvkey) as client:
        client.add_colony(Colony(colonyid=crypto.id_from_private_key(owner), name="other"))
    with Client(live.url, owner) as client:
        client.add_executor(
            Executor(
                executorid=crypto.id_from_private_key(member),
                executortype="t",
                executorname="m",
                colonyname="other",
            )
        )
        client.approve_executor("other", "m")
    return owner, member


def test_locations(live: LiveServer) -> None:
    executor = add_executor(live, "exec-1")
    lab = Location(locationid="a" * 64, name="lab", colonyname="dev", description="d", long=1.5)
    with Client(live.url, live.colony.prvkey) as owner:
        assert owner.add_location(lab) == lab
        owner.add_location(Location(locationid="b" * 64, name="roof", colonyname="dev"))
    with Client(live.url, executor.prvkey) as member:
        assert sorted(loc.name for loc in member.get_locations("dev")) == ["lab", "roof"]
        assert member.get_location("dev", "lab") == lab
        with pytest.raises(AccessDeniedError):
            member.remove_location("dev", "lab")
        with pytest.raises(NotFoundError):
            member.get_location("dev", "cellar")
    other_owner, other_member = _outsider(live)
    with Client(live.url, other_member) as outsider:
        with pytest.raises(AccessDeniedError):
            outsider.get_locations("dev")
        assert outsider.get_locations("other") == []
    with Client(live.url, other_owner) as outsider, pytest.raises(AccessDeniedError):
        outsider.add_location(Location(locationid="c" * 64, name="x", colonyname="dev"))
    with Client(live.url, live.colony.prvkey) as owner:
        owner.remove_location("dev", "lab")
        assert [loc.name for loc in owner.get_locations("dev", prvkey=executor.prvkey)] == ["roof"]


def test_pause_and_resume(live: LiveServer) -> None:
    executor = add_executor(live, "exec-1")
    with Client(live.url, executor.prvkey) as client:
        assert client.get_pause_status("dev") is False
        with pytest.raises(AccessDeniedError):
            client.pause_assignments("dev")
        client.pause_assignments("dev", prvkey=live.colony.prvkey)
        assert client.get_pause_status("dev") is True
        client.submit(spec())
        poll = threading.Thread(target=lambda: taken.append(client.assign("dev", timeout=20)))
        taken: list[object] = []
        poll.start()
        time.sleep(0.5)
        assert taken == []  # paused: the poll waits
        client.resume_assignments("dev", prvkey=live.colony.prvkey)
        poll.join(10)
        assert len(taken) == 1 and client.get_pause_status("dev") is False


def test_search_logs(live: LiveServer) -> None:
    executor = add_executor(live, "exec-1")
    with Client(live.url, executor.prvkey) as client:
        client.submit(spec())
        process = client.assign("dev", timeout=5)
        for message in ("ok", "disk full", "ok again", "disk full twice"):
            client.add_log(process.processid, message)
        found = client.search_logs("dev", "disk full")
        assert sorted(log.message for log in found) == ["disk full", "disk full twice"]
        assert len(client.search_logs("dev", "disk", days=30, count=1)) == 1
        assert client.search_logs("dev", "nowhere") == []
    _, outsider = _outsider(live)
    with Client(live.url, outsider) as client, pytest.raises(AccessDeniedError):
        client.search_logs("dev", "disk")


def test_update_executor_and_report_allocation(live: LiveServer) -> None:
    executor = add_executor(live, "exec-1")
    other = add_executor(live, "exec-2")
    capabilities = Capabilities.from_dict(
        {"hardware": [{"cpu": "4000m", "cores": 4, "mem": "8Gi"}], "software": [{"name": "py"}]}
    )
    allocations = Allocations.from_dict({"projects": {"p": {"allocatedcpu": 2, "usedcpu": 1}}})
    with Client(live.url, executor.prvkey) as client:
        client.update_executor("dev", "exec-1", capabilities)
        client.report_allocation("dev", "exec-1", allocations)
        stored = client.get_executor("dev", "exec-1")
        assert stored.capabilities == capabilities and stored.allocations == allocations
        with pytest.raises(AccessDeniedError):  # only the executor itself
            client.update_executor("dev", "exec-2", capabilities)
        with pytest.raises(AccessDeniedError):
            client.report_allocation("dev", "exec-2", allocations, prvkey=live.colony.prvkey)
    assert other.id  # exec-2 is untouched
    with Client(live.url, other.prvkey) as client:
        assert client.get_executor("dev", "exec-2").capabilities == Capabilities()


def test_pycolonies_names(live: LiveServer) -> None:
    executor = add_executor(live, "exec-1")
    with Client(live.url, executor.prvkey) as client:
        assert [c.name for c in client.list_colonies(prvkey=live.server.prvkey)] == ["dev"]
        assert [e.executorname for e in client.list_executors("dev")] == ["exec-1"]
        process = client.submit_func_spec(spec("echo", "hi"))
        assert [p.processid for p in client.list_processes("dev", 10, ProcessState.WAITING)] == [
            process.processid
        ]
        assert client.stats("dev").waitingprocesses == 1
        fn = client.add_function(Function(executorname="exec-1", colonyname="dev", funcname="f"))
        assert client.get_functions_by_colony("dev") == [fn]
        assert client.get_functions_by_executor("dev", "exec-1") == [fn]
        assert client.get_functions_by_executor("dev", "nobody") == []

        running = client.assign("dev", timeout=5)
        client.add_log(running.processid, "hello")
        client.add_executor_log("dev", "exec-1", "booted")
        assert [log.message for log in client.get_process_log("dev", running.processid)] == [
            "hello"
        ]
        # An executor's log holds what it logged for processes too.
        assert [log.message for log in client.get_executor_log("dev", "exec-1", 10, 0)] == [
            "hello",
            "booted",
        ]

        graph = client.submit_workflow(
            WorkflowSpec(
                colonyname="dev",
                functionspecs=[
                    spec("a", nodename="a"),
                    FunctionSpec(
                        funcname="b",
                        nodename="b",
                        conditions=Conditions(
                            colonyname="dev", executortype="test", dependencies=["a"]
                        ),
                    ),
                ],
            )
        )
        members = client.get_processes_for_workflow(graph.processgraphid, "dev")
        assert sorted(p.spec.nodename for p in members) == ["a", "b"]
        assert len(client.get_processes_for_workflow(graph.processgraphid, count=1)) == 1
        found = client.find_process("b", graph.processids)
        assert found is not None and found.spec.nodename == "b"
        assert client.find_process("c", graph.processids) is None

        cron = client.add_cron(
            Cron(colonyname="dev", name="c", interval=3600),
            WorkflowSpec(colonyname="dev", functionspecs=[spec("a", nodename="a")]),
        )
        client.del_cron(cron.cronid)
        with pytest.raises(NotFoundError):
            client.get_cron(cron.cronid)
        key = crypto.generate_private_key()
        client.add_colony(
            Colony(colonyid=crypto.id_from_private_key(key), name="gone"),
            prvkey=live.server.prvkey,
        )
        client.del_colony("gone", prvkey=live.server.prvkey)
        assert [c.name for c in client.list_colonies(prvkey=live.server.prvkey)] == ["dev"]


async def test_async_surface(live: LiveServer) -> None:
    executor = add_executor(live, "exec-1")
    async with AsyncClient(live.url, executor.prvkey) as client:
        lab = Location(locationid="a" * 64, name="lab", colonyname="dev")
        assert await client.add_location(lab, prvkey=live.colony.prvkey) == lab
        assert await client.get_locations("dev") == [lab]
        assert await client.get_location("dev", "lab") == lab
        await client.remove_location("dev", "lab", prvkey=live.colony.prvkey)
        assert await client.get_locations("dev") == []

        await client.pause_assignments("dev", prvkey=live.colony.prvkey)
        assert await client.get_pause_status("dev") is True
        await client.resume_assignments("dev", prvkey=live.colony.prvkey)
        assert await client.get_pause_status("dev") is False

        caps = Capabilities.from_dict({"software": [{"name": "py", "version": "3.11"}]})
        await client.update_executor("dev", "exec-1", caps)
        allocs = Allocations.from_dict({"projects": {"p": {"usedgpu": 1}}})
        await client.report_allocation("dev", "exec-1", allocs)
        stored = await client.get_executor("dev", "exec-1")
        assert (stored.capabilities, stored.allocations) == (caps, allocs)

        process = await client.submit_func_spec(spec("echo"))
        assert [p.processid for p in await client.list_processes("dev", 5, 0)] == [
            process.processid
        ]
        assert (await client.stats("dev")).waitingprocesses == 1
        assert [e.executorname for e in await client.list_executors("dev")] == ["exec-1"]
        running = await client.assign("dev", timeout=5)
        await client.add_log(running.processid, "needle in a haystack")
        found = await client.search_logs("dev", "needle")
        assert [log.processid for log in found] == [running.processid]
        assert [log.message for log in await client.get_process_log("dev", running.processid)] == [
            "needle in a haystack"
        ]
        assert [log.message for log in await client.get_executor_log("dev", "exec-1")] == [
            "needle in a haystack"
        ]
        fn = await client.add_function(
            Function(executorname="exec-1", colonyname="dev", funcname="f")
        )
        assert await client.get_functions_by_colony("dev") == [fn]
        assert await client.get_functions_by_executor("dev", "exec-1") == [fn]

        graph = await client.submit_workflow(
            WorkflowSpec(colonyname="dev", functionspecs=[spec("a", nodename="a")])
        )
        members = await client.get_processes_for_workflow(graph.processgraphid)
        assert [p.spec.nodename for p in members] == ["a"]
        found_a = await client.find_process("a", graph.processids)
        assert found_a is not None and found_a.processid == graph.processids[0]
        cron = await client.add_cron(
            Cron(colonyname="dev", name="c", interval=3600),
            WorkflowSpec(colonyname="dev", functionspecs=[spec("a", nodename="a")]),
        )
        await client.del_cron(cron.cronid)
        assert [c.name for c in await client.list_colonies(prvkey=live.server.prvkey)] == ["dev"]
        key = crypto.generate_private_key()
        gone = Colony(colonyid=crypto.id_from_private_key(key), name="gone")
        await client.add_colony(gone, prvkey=live.server.prvkey)
        await client.del_colony("gone", prvkey=live.server.prvkey)
        assert len(await client.list_colonies(prvkey=live.server.prvkey)) == 1


async def test_an_unreachable_server_is_named_in_few_words() -> None:
    """The reason people read (executor reconnect lines, CLI errors) is the socket's, not the
    library's: no aiohttp "ssl:default [Connect call failed …]", no "[Errno 111]"."""
    from colonies.errors import TransportError
    from conftest import free_port

    url = f"http://127.0.0.1:{free_port()}"
    failures: list[TransportError] = []
    async with AsyncClient(url) as client:
        try:
            await client.server_info()
        except TransportError as e:
            failures.append(e)
    with Client(url) as sync_client:
        try:
            sync_client.server_info()
        except TransportError as e:
            failures.append(e)
    assert [e.reason for e in failures] == ["connection refused", "connection refused"]
    for e in failures:
        assert str(e) == f"POST {url}/api failed: connection refused"
