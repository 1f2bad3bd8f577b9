"""Dynamic workflows: a function running as a step adds steps below itself through
``ExecutionContext.add_child``, with the executor framework on a real server."""

from __future__ import annotations

from colonies.client import AsyncClient
from colonies.functions import ExecutionContext, FunctionSet
from colonies.model import Conditions, FunctionSpec, ProcessState, WorkflowSpec
from conftest import LiveServer, add_executor
from test_executor import Running

functions = FunctionSet()


def step(
    funcname: str, nodename: str, *dependencies: str, args: list[object] | None = None
) -> FunctionSpec:
    return FunctionSpec(
        funcname=funcname,
        nodename=nodename,
        args=list(args or []),
        conditions=Conditions(
            colonyname="dev", executortype="wasm", dependencies=list(dependencies)
        ),
    )


@functions
async def fan(count: int, ctx: ExecutionContext) -> list[int]:
    """Add one ``square`` step per item, each getting this step's output as its ``in``."""
    for i in range(count):
        await ctx.add_child(step("square", f"square-{i}", args=[i]))
    return list(range(count))


@functions
def square(i: int, ctx: ExecutionContext) -> list[object]:
    return [i * i, list(ctx.process.input)]


@functions
async def lonely(ctx: ExecutionContext) -> None:
    await ctx.add_child(step("square", "never", args=[1]))


async def test_a_step_adds_steps_below_itself(live: LiveServer) -> None:
    member = add_executor(live, "submitter", executortype="cli")
    executor = Running(live, functions)
    await executor.registered()
    try:
        async with AsyncClient(live.url, member.prvkey) as client:
            spec = WorkflowSpec(colonyname="dev", functionspecs=[step("fan", "fan", args=[3])])
            graph = await client.submit_workflow(spec)
            done = await client.wait_processgraph(graph.processgraphid, 20)
            assert done.state == ProcessState.SUCCESS
            steps = [await client.get_process(p) for p in done.processids]
        outputs = sorted(p.output for p in steps if p.spec.funcname == "square")
        assert outputs == [[0, [0, 1, 2]], [1, [0, 1, 2]], [4, [0, 1, 2]]]
        assert len(done.processids) == 4
    finally:
        await executor.stop()


async def test_a_process_outside_a_workflow_cannot_add_steps(live: LiveServer) -> None:
    member = add_executor(live, "submitter", executortype="cli")
    executor = Running(live, functions)
    await executor.registered()
    try:
        async with AsyncClient(live.url, member.prvkey) as client:
            alone = step("lonely", "")
            alone.conditions.dependencies = []
            done = await client.wait((await client.submit(alone)).processid, 20)
        assert done.state == ProcessState.FAILED
        assert "not part of a workflow" in done.errors[0]
        assert done.errors == ["add_child: this process is not part of a workflow"]
    finally:
        await executor.stop()
