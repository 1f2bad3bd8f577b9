"""The one home of process state changes: submit, assign, release, output, close, fail, cancel,
expire and re-queue.

Each change is the store's atomic call (an insert, the claiming ``assign`` or a compare-and-set
``update_process``), then the reactions to it (function statistics today; workflow children,
generators and crons later), then a signal. Handlers check who may do what and explain refusals;
the sweeper decides what has expired; neither changes a process any other way, so a reaction
added here happens whichever replica, handler or periodic job made the change.

Every function returns the process as it is after the change, or ``None`` when the
compare-and-set found it elsewhere (the caller says why, if it has to).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from colonies.model import Executor, Process, ProcessState
from colonies.server.context import ServerContext
from colonies.store.base import ProcessUpdate
from colonies.timeutil import NS, now_ns, parse_ns

ACTIVE = (ProcessState.WAITING, ProcessState.RUNNING)


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
    return closed


async def fail(
    ctx: ServerContext, processid: str, executorid: str, errors: list[str]
) -> Process | None:
    """FAILED, from WAITING or RUNNING, by the assigned executor."""
    update = ProcessUpdate(state=ProcessState.FAILED, endtime=now_ns(), errors=errors)
    return await _change(ctx, processid, update, ACTIVE, executorid=executorid, approved=True)


async def cancel(ctx: ServerContext, processid: str) -> Process | None:
    """CANCELLED, from WAITING or RUNNING (the caller checked the signer may)."""
    update = ProcessUpdate(state=ProcessState.CANCELLED, endtime=now_ns())
    return await _change(ctx, processid, update, ACTIVE)


async def expire(ctx: ServerContext, process: Process, now: int) -> Process | None:
    """A process past its deadline: a WAITING one fails; a RUNNING one is re-queued for
    another try, or fails once its retries are used up (spec §6.4)."""
    spec = process.spec
    if process.state == ProcessState.WAITING:
        update = ProcessUpdate(
            state=ProcessState.FAILED, endtime=now, errors=["Maximum waiting time limit exceeded"]
        )
        return await _change(ctx, process.processid, update, [ProcessState.WAITING])
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
