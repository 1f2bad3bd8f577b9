"""Crons and generators on our server (spec §4.8, §6.6, §6.7): workflows started on a schedule
or once enough args are packed, ``runcronmsg``, waiting for the previous graph, the previous
graph's leaf outputs flowing into the new roots' ``in``, validation, authorization, the SDK
(sync and async) and persistence across a restart.

The ``live`` server checks every 0.2 s (its sweep period). That nothing fires twice across
replicas is a store property: see the concurrent ``advance_cron``/``consume_generator_args``
tests in ``test_store_contract.py``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from croniter import croniter

from colonies import crypto
from colonies.client import AsyncClient, Client
from colonies.errors import ServerError
from colonies.model import (
    Conditions,
    Cron,
    FunctionSpec,
    Generator,
    ProcessGraph,
    ProcessState,
    WorkflowSpec,
)
from colonies.timeutil import NS, parse_ns
from conftest import LiveServer, add_executor, restart_server, start_server
from polling import until

WAITING = ProcessState.WAITING


def step(node: str, *deps: str) -> FunctionSpec:
    return FunctionSpec(
        nodename=node,
        funcname=node,
        args=["original"],
        kwargs={"k": "v"},
        conditions=Conditions(executortype="cron", dependencies=list(deps)),
    )


def workflow(*steps: FunctionSpec, colonyname: str = "dev") -> str:
    spec = WorkflowSpec(colonyname=colonyname, functionspecs=list(steps) or [step("a")])
    return json.dumps(spec.to_dict())


def graphs(client: Client, state: int = WAITING) -> list[ProcessGraph]:
    return client.get_processgraphs("dev", 100, state)


def expect_error(status: int, fragment: str, call: object, *args: object, **kw: object) -> None:
    with pytest.raises(ServerError) as info:
        call(*args, **kw)  # type: ignore[operator]
    assert info.value.status == status, info.value
    assert fragment in info.value.message, info.value


@pytest.fixture
def member(live: LiveServer) -> Iterator[Client]:
    key = add_executor(live, "cron-1", "cron")
    with Client(live.url, key.prvkey) as client:
        yield client


# --- crons


def test_an_interval_cron_starts_its_workflow_every_interval(
    live: LiveServer, member: Client
) -> None:
    cron = member.add_cron(
        Cron(colonyname="dev", name="every", interval=1, workflowspec=workflow())
    )
    assert len(cron.cronid) == 64 and cron.initiatorname == "cron-1"
    assert parse_ns(cron.nextrun) == 0 and cron.checkerperiod == 0
    until(lambda: len(graphs(member)) >= 2, timeout=10, what="two workflows from the cron")
    got = member.get_cron(cron.cronid)
    assert got.checkerperiod == 200  # the live server's sweep period, ms
    assert got.prevprocessgraphid in {g.processgraphid for g in graphs(member)}
    assert parse_ns(got.lastrun) > 0 and parse_ns(got.nextrun) > parse_ns(got.lastrun)
    started = graphs(member)[0]
    assert started.initiatorname == "cron-1"
    root = member.get_process(started.rootprocessids[0])
    assert root.spec.args == ["original"] and root.input == []
    assert [c.cronid for c in member.get_crons("dev")] == [cron.cronid]
    member.remove_cron(cron.cronid)
    expect_error(404, "Failed to get cron, cron is nil", member.get_cron, cron.cronid)
    count = len(graphs(member))
    time.sleep(1.5)
    assert len(graphs(member)) == count  # removed: fires no more


def test_run_cron_starts_one_at_once(live: LiveServer, member: Client) -> None:
    cron = member.add_cron(
        Cron(colonyname="dev", name="hourly", interval=3600, workflowspec=workflow())
    )
    before = time.time_ns()
    ran = member.run_cron(cron.cronid)
    started = graphs(member)
    assert len(started) == 1 and ran.prevprocessgraphid == started[0].processgraphid
    assert parse_ns(ran.lastrun) >= before
    assert parse_ns(ran.nextrun) == parse_ns(ran.lastrun) + 3600 * NS
    member.run_cron(cron.cronid)
    assert len(graphs(member)) == 2
    expect_error(404, "cron not found", member.run_cron, "0" * 64)


def test_a_cron_that_waits_for_its_previous_graph_gets_its_leaf_outputs(
    live: LiveServer, member: Client
) -> None:
    spec = workflow(step("a"), step("b", "a"), step("c", "a"))
    cron = member.add_cron(
        Cron(
            colonyname="dev",
            name="chain",
            interval=1,
            waitforprevprocessgraph=True,
            workflowspec=spec,
        )
    )
    until(lambda: len(graphs(member)) == 1, timeout=10, what="the first workflow")
    member.run_cron(cron.cronid)  # the previous one is still running: skipped
    time.sleep(1.5)
    assert len(graphs(member)) == 1
    first = graphs(member)[0]
    a = member.assign("dev", 5)
    member.close(a.processid, ["from a"])
    outputs = {}
    for _ in range(2):
        leaf = member.assign("dev", 5)
        assert leaf.processgraphid == first.processgraphid
        outputs[leaf.spec.nodename] = [f"from {leaf.spec.nodename}"]
        member.close(leaf.processid, outputs[leaf.spec.nodename])
    until(
        lambda: member.get_cron(cron.cronid).prevprocessgraphid != first.processgraphid,
        timeout=10,
        what="the next workflow",
    )
    second = member.get_processgraph(member.get_cron(cron.cronid).prevprocessgraphid)
    root = member.get_process(second.rootprocessids[0])
    assert sorted(root.input) == ["from b", "from c"]  # the leaves' outputs, not a's
    assert root.spec.args == ["original"]


def test_a_cron_expression_with_seconds(live: LiveServer, member: Client) -> None:
    every = member.add_cron(
        Cron(
            colonyname="dev",
            name="each-second",
            interval=-1,
            cronexpression="* * * * * *",
            workflowspec=workflow(),
        )
    )
    yearly = member.add_cron(
        Cron(
            colonyname="dev",
            name="new-year",
            interval=-1,
            cronexpression="0 0 0 1 1 *",
            workflowspec=workflow(),
        )
    )
    until(lambda: len(graphs(member)) >= 2, timeout=10, what="two workflows from the cron")
    assert member.get_cron(every.cronid).prevprocessgraphid
    until(lambda: parse_ns(member.get_cron(yearly.cronid).nextrun) > 0, what="a schedule")
    nextrun = datetime.fromtimestamp(parse_ns(member.get_cron(yearly.cronid).nextrun) / NS, UTC)
    assert (nextrun.month, nextrun.day, nextrun.hour, nextrun.minute, nextrun.second) == (
        1,
        1,
        0,
        0,
        0,
    )
    expected = croniter("0 0 0 1 1 *", datetime.now(UTC), second_at_beginning=True)
    assert nextrun == expected.get_next(datetime)
    assert member.get_cron(yearly.cronid).prevprocessgraphid == ""


def test_cron_validation(live: LiveServer, member: Client) -> None:
    def add(**fields: object) -> None:
        fields.setdefault("workflowspec", workflow())
        fields.setdefault("interval", 10)
        member.add_cron(Cron(colonyname="dev", name="bad", **fields))  # type: ignore[arg-type]

    rule = "Cron interval must be -1 (disabled) or larger than 0"
    expect_error(400, rule, add, interval=0)
    with pytest.raises(ServerError, match="larger than 0"):
        add(interval=-2)
    with pytest.raises(
        ServerError, match=r"expected exactly 6 fields, found 5: \[\* \* \* \* \*\]"
    ):
        add(interval=-1, cronexpression="* * * * *")
    with pytest.raises(ServerError, match="empty cron expression string"):
        add(interval=-1, cronexpression="")
    with pytest.raises(ServerError, match="Invalid cron expression <70 \\* \\* \\* \\* \\*>"):
        add(interval=-1, cronexpression="70 * * * * *")
    with pytest.raises(ServerError, match="Random cron is only supported when specifying"):
        add(interval=-1, random=True, cronexpression="* * * * * *")
    expect_error(400, "Failed to parse workflow spec", add, workflowspec="not json")
    expect_error(400, "the workflow has no function specs", add, workflowspec=workflow_empty())
    expect_error(400, "is not the colony <dev>", add, workflowspec=workflow(colonyname="x"))
    member.add_cron(Cron(colonyname="dev", name="twice", interval=5, workflowspec=workflow()))
    expect_error(
        400,
        "Cron with name <twice> in Colony <dev> already exists",
        member.add_cron,
        Cron(colonyname="dev", name="twice", interval=5, workflowspec=workflow()),
    )
    expect_error(400, "Invalid count -1", member.get_crons, "dev", -1)
    expect_error(404, "Failed to remove cron, cron is nil", member.remove_cron, "0" * 64)
    # a random interval cron is accepted (and runs as a fixed interval one, as in Go)
    member.add_cron(
        Cron(colonyname="dev", name="r", interval=5, random=True, workflowspec=workflow())
    )
    # no workflow spec string, but a WorkflowSpec object
    spec = WorkflowSpec.from_dict(json.loads(workflow()))
    made = member.add_cron(Cron(colonyname="dev", name="obj", interval=5), spec)
    assert WorkflowSpec.from_dict(json.loads(made.workflowspec)) == spec


def workflow_empty() -> str:
    return json.dumps({"colonyname": "dev", "functionspecs": []})


def test_crons_and_generators_are_for_members_only(
    live: LiveServer, member: Client, request: pytest.FixtureRequest
) -> None:
    cron = member.add_cron(Cron(colonyname="dev", name="c", interval=60, workflowspec=workflow()))
    gen = member.add_generator(
        Generator(colonyname="dev", name="g", trigger=2, workflowspec=workflow())
    )
    stranger = Client(live.url, crypto.generate_private_key())
    request.addfinalizer(stranger.close_transport)
    denied = "Access denied, not a member of Colony with name <dev>"
    for call, args in (
        (
            stranger.add_cron,
            (Cron(colonyname="dev", name="x", interval=5, workflowspec=workflow()),),
        ),
        (stranger.get_cron, (cron.cronid,)),
        (stranger.get_crons, ("dev",)),
        (stranger.run_cron, (cron.cronid,)),
        (stranger.remove_cron, (cron.cronid,)),
        (
            stranger.add_generator,
            (Generator(colonyname="dev", name="x", trigger=1, workflowspec=workflow()),),
        ),
        (stranger.get_generator, (gen.generatorid,)),
        (stranger.resolve_generator, ("dev", "g")),
        (stranger.get_generators, ("dev",)),
        (stranger.pack_generator, (gen.generatorid, "x")),
        (stranger.remove_generator, (gen.generatorid,)),
    ):
        expect_error(403, denied, call, *args)
    assert graphs(member) == []  # run_cron is refused before it starts anything
    assert member.get_generator(gen.generatorid).queuesize == 0
    expect_error(403, "Colony with name <nope> does not exist", member.get_crons, "nope")


# --- generators


def test_a_generator_starts_a_workflow_per_trigger_args(live: LiveServer, member: Client) -> None:
    gen = member.add_generator(
        Generator(
            colonyname="dev",
            name="triples",
            trigger=3,
            timeout=-1,
            workflowspec=workflow(step("a"), step("b"), step("c", "a", "b")),
        )
    )
    assert len(gen.generatorid) == 64 and gen.initiatorname == "cron-1"
    for i in range(7):
        member.pack_generator(gen.generatorid, f"arg{i}")
    until(lambda: len(graphs(member)) == 2, timeout=10, what="two workflows")
    until(lambda: member.get_generator(gen.generatorid).queuesize == 1, what="one arg left")
    got = member.get_generator(gen.generatorid)
    assert got.checkerperiod == 200 and parse_ns(got.firstpack) > 0 and parse_ns(got.lastrun) > 0
    args = []
    for graph in reversed(graphs(member)):  # oldest first
        roots = [member.get_process(pid) for pid in graph.rootprocessids]
        assert len(roots) == 2
        for root in roots:
            assert root.spec.kwargs == {}
        assert roots[0].spec.args == roots[1].spec.args
        child = next(p for p in graph.processids if p not in graph.rootprocessids)
        assert member.get_process(child).spec.args == ["original"]  # only the roots
        args.append(roots[0].spec.args)
    assert args == [["arg0", "arg1", "arg2"], ["arg3", "arg4", "arg5"]]
    time.sleep(1)
    assert len(graphs(member)) == 2  # one arg and no timeout: it waits
    assert member.resolve_generator("dev", "triples").generatorid == gen.generatorid
    assert [g.name for g in member.get_generators("dev")] == ["triples"]
    member.remove_generator(gen.generatorid)
    expect_error(
        404, "Failed to get generator, generator is nil", member.get_generator, gen.generatorid
    )


def test_fewer_args_start_a_workflow_after_the_timeout(live: LiveServer, member: Client) -> None:
    gen = member.add_generator(
        Generator(colonyname="dev", name="slow", trigger=10, timeout=1, workflowspec=workflow())
    )
    member.pack_generator(gen.generatorid, "x")
    member.pack_generator(gen.generatorid, "y")
    assert member.get_generator(gen.generatorid).queuesize == 2
    until(lambda: len(graphs(member)) == 1, timeout=10, what="a workflow after the timeout")
    root = member.get_process(graphs(member)[0].rootprocessids[0])
    assert root.spec.args == ["x", "y"]
    assert member.get_generator(gen.generatorid).queuesize == 0


def test_generator_validation(live: LiveServer, member: Client) -> None:
    def add(**fields: object) -> None:
        fields.setdefault("workflowspec", workflow())
        fields.setdefault("trigger", 2)
        member.add_generator(Generator(colonyname="dev", name="bad", **fields))  # type: ignore[arg-type]

    expect_error(400, "Generator trigger must be larger than 0", add, trigger=0)
    expect_error(400, "Failed to parse workflow spec", add, workflowspec="{")
    expect_error(400, "the workflow has no function specs", add, workflowspec=workflow_empty())
    member.add_generator(Generator(colonyname="dev", name="g", trigger=1, workflowspec=workflow()))
    expect_error(
        400,
        "Generator with name <g> in Colony <dev> already exists",
        member.add_generator,
        Generator(colonyname="dev", name="g", trigger=1, workflowspec=workflow()),
    )
    missing = "0" * 64
    expect_error(
        404, "Failed to increment generator, generator is nil", member.pack_generator, missing, "x"
    )
    expect_error(
        404,
        "Failed to resolve generator, generator is nil",
        member.resolve_generator,
        "dev",
        "nope",
    )
    expect_error(
        404, "Failed to remove generator, generator is nil", member.remove_generator, missing
    )
    expect_error(400, "Invalid count -1", member.get_generators, "dev", -1)


async def test_the_async_client(live: LiveServer) -> None:
    key = add_executor(live, "cron-async", "cron")
    async with AsyncClient(live.url, key.prvkey) as client:
        cron = await client.add_cron(
            Cron(colonyname="dev", name="a", interval=3600, workflowspec=workflow())
        )
        assert (await client.get_cron(cron.cronid)).name == "a"
        assert [c.name for c in await client.get_crons("dev")] == ["a"]
        ran = await client.run_cron(cron.cronid)
        assert ran.prevprocessgraphid
        await client.remove_cron(cron.cronid)
        gen = await client.add_generator(
            Generator(colonyname="dev", name="g", trigger=5),
            WorkflowSpec.from_dict(json.loads(workflow())),
        )
        await client.pack_generator(gen.generatorid, "x")
        assert (await client.get_generator(gen.generatorid)).queuesize == 1
        assert (await client.resolve_generator("dev", "g")).generatorid == gen.generatorid
        assert [g.name for g in await client.get_generators("dev")] == ["g"]
        await client.remove_generator(gen.generatorid)
        assert await client.get_generators("dev") == []


def test_crons_and_generators_survive_a_restart(tmp_path: Path) -> None:
    live, thread = start_server(tmp_path / "colonies.db", sweep_interval=0.2)
    try:
        key = add_executor(live, "cron-1", "cron")
        with Client(live.url, key.prvkey) as client:
            cron = client.add_cron(
                Cron(colonyname="dev", name="c", interval=3600, workflowspec=workflow())
            )
            client.run_cron(cron.cronid)
            gen = client.add_generator(
                Generator(colonyname="dev", name="g", trigger=5, workflowspec=workflow())
            )
            client.pack_generator(gen.generatorid, "kept")
            before = client.get_cron(cron.cronid)
    finally:
        thread.stop(keep_data=True)
    again = restart_server(live, sweep_interval=0.2)
    try:
        with Client(live.url, key.prvkey) as client:
            after = client.get_cron(cron.cronid)
            assert after.to_dict() == before.to_dict()
            assert client.get_generator(gen.generatorid).queuesize == 1
            client.pack_generator(gen.generatorid, "more")
            assert client.get_generator(gen.generatorid).queuesize == 2
    finally:
        again.stop()
