"""The one home of process state changes: submit, assign, release, output, close, fail, cancel,
expire and re-queue.

Each change is the store's atomic call (an insert, the claiming ``assign`` or a compare-and-set
``update_process``), then a signal, then the reactions to it: function statistics, and for a
process of a workflow its graph's (spec §6.5): children released when their parents succeeded,
the other steps failed when one failed, the graph's own state. Handlers check who may do what
and explain refusals; the sweeper decides what has expired; neither changes a process any
other way, so a reaction added here happens whichever replica, handler or periodic job made the
change.

Every function returns the process as it is after the change, or ``None`` when the
compare-and-set found it elsewhere (the caller says why, if it has to).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from colonies.model import Executor, Process, ProcessGraph, ProcessState, WorkflowSpec
from colonies.server import graphs
from colonies.server.context import ServerContext
from colonies.server.specs import new_process, random_id
from colonies.store.base import NewProcess, ProcessUpdate
from colonies.timeutil import NS, format_ns, now_ns, parse_ns

ACTIVE = (ProcessState.WAITING, ProcessState.RUNNING)
GRAPH_CAS_TRIES = 5  # a graph's state moves at most 3 times; each lost race is a real move


async def submit(ctx: ServerContext, process: Process, *, cpu: int, memory: int) -> None:
    """Store a new WAITING process and wake one assigner that can take it."""
    await ctx.store.add_process(process, cpu=cpu, memory=memory)
    ctx.signals.process_changed(process)


async def assign(
    ctx: ServerContext, executor: Executor, *, cpu: int, memory: int
) -> Process | None:
    """Claim the best process ``executor`` may run (it becomes RUNNING), if there is one."""
    process = await ctx.store.assign(executor, now_ns(), cpu=cpu, memory=memory)
    if process is not None:
        ctx.signals.process_changed(process)
        await _graph_reaction(ctx, process)
    return process


async def release(ctx: ServerContext, processid: str, executorid: str) -> Process | None:
    """Put a process claimed for a client that went away back in the queue, as it was."""
    update = ProcessUpdate(
        state=ProcessState.WAITING,
        isassigned=False,
        assignedexecutorid="",
        starttime=0,
        execdeadline=0,
    )
    return await _change(ctx, processid, update, [ProcessState.RUNNING], executorid=executorid)


async def set_output(
    ctx: ServerContext, processid: str, executorid: str, output: list[Any]
) -> Process | None:
    """Store the output of a RUNNING process its (approved) executor reports."""
    update = ProcessUpdate(output=output)
    return await ctx.store.update_process(
        processid, update, states=[ProcessState.RUNNING], executorid=executorid, approved=True
    )


async def close(
    ctx: ServerContext, processid: str, executorid: str, output: list[Any] | None
) -> Process | None:
    """SUCCESS, from RUNNING (or again from SUCCESS, as Go allows), by the assigned executor."""
    now = now_ns()
    update = ProcessUpdate(state=ProcessState.SUCCESS, endtime=now, output=output or None)
    closed = await ctx.store.update_process(
        processid,
        update,
        states=[ProcessState.RUNNING, ProcessState.SUCCESS],
        executorid=executorid,
        approved=True,
    )
    if closed is not None:
        await _record_function_run(ctx, closed, now)
        ctx.signals.process_changed(closed)
        await _graph_reaction(ctx, closed)
    return closed


async def fail(
    ctx: ServerContext, processid: str, executorid: str, errors: list[str]
) -> Process | None:
    """FAILED, from WAITING or RUNNING, by the assigned executor."""
    update = ProcessUpdate(state=ProcessState.FAILED, endtime=now_ns(), errors=errors)
    failed = await _change(ctx, processid, update, ACTIVE, executorid=executorid, approved=True)
    if failed is not None:
        await _graph_reaction(ctx, failed)
    return failed


async def cancel(ctx: ServerContext, processid: str) -> Process | None:
    """CANCELLED, from WAITING or RUNNING (the caller checked the signer may; a step of a
    workflow is cancelled with its graph, ``cancel_graph``)."""
    update = ProcessUpdate(state=ProcessState.CANCELLED, endtime=now_ns())
    return await _change(ctx, processid, update, ACTIVE)


async def expire(ctx: ServerContext, process: Process, now: int) -> Process | None:
    """A process past its deadline: a WAITING one fails; a RUNNING one is re-queued for
    another try, or fails once its retries are used up (spec §6.4)."""
    if process.state == ProcessState.WAITING:
        update = ProcessUpdate(
            state=ProcessState.FAILED, endtime=now, errors=["Maximum waiting time limit exceeded"]
        )
        expired = await _change(ctx, process.processid, update, [ProcessState.WAITING])
    else:
        expired = await _expire_running(ctx, process, now)
    if expired is not None and expired.state == ProcessState.FAILED:
        await _graph_reaction(ctx, expired)
    return expired


async def _expire_running(ctx: ServerContext, process: Process, now: int) -> Process | None:
    spec = process.spec
    if spec.maxretries > -1 and process.retries >= spec.maxretries:
        update = ProcessUpdate(
            state=ProcessState.FAILED, endtime=now, errors=["Maximum execution time limit exceeded"]
        )
    else:
        update = ProcessUpdate(
            state=ProcessState.WAITING,
            isassigned=False,
            assignedexecutorid="",
            endtime=now,
            execdeadline=0,
            retries=process.retries + 1,
            waitdeadline=now + spec.maxwaittime * NS if spec.maxwaittime > 0 else 0,
        )
    return await _change(
        ctx,
        process.processid,
        update,
        [ProcessState.RUNNING],
        executorid=process.assignedexecutorid,
    )


async def remove_executor(
    ctx: ServerContext, colonyname: str, name: str, *, heard_before: int | None = None
) -> list[str] | None:
    """Soft-remove an executor, re-queueing what it was running (see
    ``Store.unregister_executor``); returns the re-queued process IDs, or ``None`` if nothing
    was removed."""
    requeued = await ctx.store.unregister_executor(
        colonyname, name, now_ns(), heard_before=heard_before
    )
    if requeued is None:
        return None
    ctx.signals.membership_changed()
    for processid in requeued:
        process = await ctx.store.get_process(processid)
        if process is not None:
            ctx.signals.process_changed(process)
    return requeued


# --- workflows (spec §6.5) ------------------------------------------------------------------


async def submit_workflow(
    ctx: ServerContext,
    spec: WorkflowSpec,
    *,
    initiatorid: str,
    initiatorname: str,
    root_args: list[Any] | None = None,
    root_input: list[Any] | None = None,
) -> ProcessGraph:
    """Check a workflow spec (400 if it is not a valid DAG), store its graph and processes in
    one transaction, and wake assigners for the roots.

    ``root_args`` replaces the roots' ``args`` (and clears their ``kwargs``): a generator's
    packed arguments. ``root_input`` becomes the roots' ``in``: a cron's previous outputs.
    """
    steps = graphs.plan(spec)
    now = now_ns()
    graphid = random_id()
    ids = {step.name: random_id() for step in steps}
    new: list[NewProcess] = []
    for step in steps:
        root = not step.parents
        if root and root_args is not None:
            step.spec.args, step.spec.kwargs = list(root_args), {}
        created = new_process(
            step.spec,
            initiatorid=initiatorid,
            initiatorname=initiatorname,
            now=now,
            cpu=step.cpu,
            memory=step.memory,
            processid=ids[step.name],
            processgraphid=graphid,
        )
        process = created.process
        process.waitforparents = not root
        process.parents = [ids[name] for name in step.parents]
        process.children = [ids[name] for name in step.children]
        if root and root_input:
            process.input = list(root_input)
        new.append(created)
    graph = ProcessGraph(
        processgraphid=graphid,
        initiatorid=initiatorid,
        initiatorname=initiatorname,
        colonyname=spec.colonyname,
        rootprocessids=[ids[step.name] for step in steps if not step.parents],
        state=ProcessState.WAITING,
        submissiontime=format_ns(now),
        processids=list(ids.values()),
    )
    await ctx.store.add_processgraph(graph, new)
    for created in new:
        if not created.process.waitforparents:
            ctx.signals.process_changed(created.process)
    return graph


async def cancel_graph(ctx: ServerContext, processgraphid: str) -> ProcessGraph | None:
    """CANCELLED: every WAITING or RUNNING process of the graph, then the graph itself."""
    async with graphs.lock(processgraphid):
        now = now_ns()
        for process in await ctx.store.graph_processes(processgraphid):
            if process.state in ACTIVE:
                update = ProcessUpdate(state=ProcessState.CANCELLED, endtime=now)
                await _change(ctx, process.processid, update, ACTIVE)
        return await ctx.store.update_processgraph(
            processgraphid, state=ProcessState.CANCELLED, endtime=now, states=ACTIVE
        )


async def add_child(
    ctx: ServerContext,
    graph: ProcessGraph,
    parent: Process,
    child: NewProcess,
    *,
    executorid: str,
    childprocessid: str = "",
    insert: bool = False,
) -> Process | None:
    """Add a process to a running graph below ``parent`` (RUNNING, assigned to
    ``executorid``); it waits for the parent like any child.

    ``insert`` splices it in between the parent and the parent's children (they then wait for
    it instead); otherwise it is one more child of the parent, and with ``childprocessid`` also
    a parent of that (WAITING) process. Returns the new process as stored, or ``None`` when
    the parent is no longer running on that executor (or the child no longer waiting).
    """
    new = child.process
    new.waitforparents = True
    new.parents = [parent.processid]
    new.processgraphid = graph.processgraphid
    async with graphs.lock(graph.processgraphid):
        current = await ctx.store.get_process(parent.processid)
        if current is None:
            return None
        below = list(current.children) if insert else [childprocessid] if childprocessid else []
        new.children = below
        await ctx.store.add_process(new, cpu=child.cpu, memory=child.memory)
        children = [new.processid] if insert else [*current.children, new.processid]
        claimed = await ctx.store.update_process(
            parent.processid,
            ProcessUpdate(children=children),
            states=[ProcessState.RUNNING],
            executorid=executorid,
        )
        if claimed is None:
            await ctx.store.remove_process(new.processid)
            return None
        for pid in below:
            grandchild = await ctx.store.get_process(pid)
            if grandchild is None:
                continue
            parents = [p for p in grandchild.parents if not insert or p != parent.processid]
            update = ProcessUpdate(parents=[*parents, new.processid], waitforparents=True)
            await ctx.store.update_process(pid, update, states=[ProcessState.WAITING])
        stored = await ctx.store.get_processgraph(graph.processgraphid)
        if stored is not None:
            await ctx.store.update_processgraph(
                graph.processgraphid,
                state=stored.state,
                processids=[*stored.processids, new.processid],
            )
        return await ctx.store.get_process(new.processid)


async def _graph_reaction(ctx: ServerContext, process: Process) -> None:
    """After a process of a graph was assigned, closed or failed: release the children whose
    parents all succeeded (their ``in`` = the parents' outputs), or fail every other active
    process when one failed; then the graph's state (and start and end times)."""
    if not process.processgraphid:
        return
    async with graphs.lock(process.processgraphid):
        graph = await ctx.store.get_processgraph(process.processgraphid)
        if graph is None:
            return
        members = await ctx.store.graph_processes(graph.processgraphid)
        now = now_ns()
        failed = next((p for p in members if p.state == ProcessState.FAILED), None)
        by_id = {p.processid: p for p in members}
        changed: list[Process | None] = []
        for member in members:
            if failed is not None and member.state in ACTIVE:
                reason = (
                    f"Workflow {graph.processgraphid} failed: process {failed.processid} "
                    f"({failed.spec.nodename}) failed"
                )
                update = ProcessUpdate(state=ProcessState.FAILED, endtime=now, errors=[reason])
                changed.append(await _change(ctx, member.processid, update, ACTIVE))
            elif failed is None and _waiting_for_parents(member) and graphs.ready(member, by_id):
                update = ProcessUpdate(waitforparents=False, input=graphs.inputs(member, by_id))
                changed.append(await _change(ctx, member.processid, update, [ProcessState.WAITING]))
        if changed:
            members = await ctx.store.graph_processes(graph.processgraphid)
        await _set_graph_state(ctx, graph, graphs.graph_state(members), now)


def _waiting_for_parents(process: Process) -> bool:
    return process.state == ProcessState.WAITING and process.waitforparents


async def _set_graph_state(ctx: ServerContext, graph: ProcessGraph, state: int, now: int) -> None:
    """A graph only moves forward: WAITING, RUNNING, then one final state that stays.

    A compare-and-set on the state read: another replica may react to the same graph at the
    same time (the lock in ``graphs`` is per replica). When it moved the graph first, the state
    is read again and computed again from the members, a bounded number of times."""
    for _ in range(GRAPH_CAS_TRIES):
        if graph.state in graphs.FINAL or state == graph.state:
            return
        if state == ProcessState.WAITING:  # a step went back to the queue: the graph started
            return
        started = parse_ns(graph.starttime)
        updated = await ctx.store.update_processgraph(
            graph.processgraphid,
            state=state,
            starttime=None if started else now,
            endtime=now if state in graphs.FINAL else None,
            states=[graph.state],
        )
        if updated is not None:
            return
        reread = await ctx.store.get_processgraph(graph.processgraphid)
        if reread is None:
            return
        graph = reread
        state = graphs.graph_state(await ctx.store.graph_processes(graph.processgraphid))


async def _change(
    ctx: ServerContext,
    processid: str,
    update: ProcessUpdate,
    states: Collection[int],
    *,
    executorid: str | None = None,
    approved: bool = False,
) -> Process | None:
    changed = await ctx.store.update_process(
        processid, update, states=states, executorid=executorid, approved=approved
    )
    if changed is not None:
        ctx.signals.process_changed(changed)
    return changed


async def _record_function_run(ctx: ServerContext, process: Process, end: int) -> None:
    """Queue a run for the registered function's counters (spec §6.3 step 4).

    The counters are advisory, so runs are written in batches by the sweeper (once a second)
    instead of costing every close a read and a write.
    """
    executor = await ctx.executor(process.spec.conditions.colonyname, process.assignedexecutorid)
    if executor is None:
        return
    start, submitted = parse_ns(process.starttime), parse_ns(process.submissiontime)
    key = (executor.colonyname, executor.executorname, process.spec.funcname)
    ctx.function_runs.setdefault(key, []).append(((start - submitted) / NS, (end - start) / NS))
