"""Processes (spec §4.5, §6.1-6.3): submit, long-poll assign, output, close, fail, cancel."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from colonies.errors import NO_PROCESS_MESSAGE
from colonies.model import (
    INT64_MAX,
    INT64_MIN,
    Executor,
    FunctionSpec,
    Process,
    ProcessState,
    User,
)
from colonies.rpc import RPCError
from colonies.server import lifecycle
from colonies.server.auth import (
    require_assigned,
    require_colony_owner,
    require_executor,
    require_member,
)
from colonies.server.context import ServerContext
from colonies.server.dispatcher import Waiter
from colonies.server.handlers import Msg, handles
from colonies.server.specs import attribute_id as attribute_id  # used by functions
from colonies.server.specs import check_spec, new_process, parse_resource
from colonies.server.specs import random_id as random_id  # used by functions
from colonies.timeutil import NS, now_ns
from colonies.units import UNLIMITED, parse_cpu, parse_memory

MAX_COUNT = 100
CLOSED = (ProcessState.SUCCESS, ProcessState.FAILED, ProcessState.CANCELLED)


def initiator_name(member: Executor | User) -> str:
    """The name a process records for who submitted it (an executor's or a user's)."""
    return member.executorname if isinstance(member, Executor) else member.name


async def load_process(ctx: ServerContext, processid: str) -> Process:
    process = await ctx.store.get_process(processid)
    if process is None:
        raise RPCError(404, "Failed to get process, process not found")
    return process


async def member_process(ctx: ServerContext, msg: Msg, signer: str) -> Process:
    """The message's process, after checking the signer is a member of its colony."""
    process = await load_process(ctx, msg.text("processid"))
    await require_member(ctx, signer, process.spec.conditions.colonyname)
    return process


async def assigned_process(ctx: ServerContext, msg: Msg, signer: str) -> Process:
    """The message's process, after checking the signer is the executor running it."""
    process = await member_process(ctx, msg, signer)
    require_assigned(process, signer)
    return process


@handles("submitfuncspecmsg")
async def submit(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    spec = msg.obj("spec", FunctionSpec)
    initiator = await require_member(ctx, signer, spec.conditions.colonyname)
    cpu, memory = check_spec(spec)
    new = new_process(
        spec,
        initiatorid=signer,
        initiatorname=initiator_name(initiator),
        now=now_ns(),
        cpu=cpu,
        memory=memory,
    )
    process = new.process
    await lifecycle.submit(ctx, process, cpu=cpu, memory=memory)
    return process.to_dict()


@handles("assignprocessmsg")
async def assign(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("colonyname")
    executor = await require_executor(ctx, signer, colonyname)
    timeout = msg.integer("timeout")
    if timeout == 0:
        raise RPCError(400, "Invalid timeout value, timeout cannot be zero")
    cpu = parse_resource(parse_cpu, msg.text("availablecpu"), "availablecpu") or UNLIMITED
    memory = parse_resource(parse_memory, msg.text("availablemem"), "availablemem") or UNLIMITED
    deadline = time.monotonic() + max(timeout, 0)
    while True:
        if ctx.draining:  # the server is stopping: the executor polls again elsewhere or later
            raise RPCError(404, NO_PROCESS_MESSAGE)
        await ctx.mark_alive(colonyname, executor.executorid)
        if await ctx.is_paused(colonyname):
            await _wait_for_resume(ctx, colonyname, timeout, deadline)
            continue
        waiter = Waiter(
            colonyname,
            executor.executortype,
            executor.executorname,
            executor.locationname,
            cpu=cpu,
            memory=memory,
        )
        ctx.dispatcher.register(waiter)
        try:
            process = await lifecycle.assign(ctx, executor, cpu=cpu, memory=memory)
            if process is not None:
                return process.to_dict()
            if not await _woken(ctx, waiter, executor, deadline):
                raise RPCError(404, NO_PROCESS_MESSAGE)
            waiter.used = True  # this wake-up is spent on the retry at the top of the loop
        finally:
            ctx.dispatcher.unregister(waiter)


async def _woken(ctx: ServerContext, waiter: Waiter, executor: Executor, deadline: float) -> bool:
    """Wait for a wake-up until ``deadline``; an executor waiting in a long poll is alive, so
    it is marked so several times per stale period (a poll may outlast that period)."""
    refresh = ctx.config.stale_executor_duration / 4
    while (remaining := deadline - time.monotonic()) > 0:
        step = min(remaining, refresh) if refresh > 0 else remaining
        done, _ = await asyncio.wait({waiter.woken}, timeout=step)
        if done:
            return True
        await ctx.mark_alive(executor.colonyname, executor.executorid)
    return False


async def _wait_for_resume(
    ctx: ServerContext, colonyname: str, timeout: int, deadline: float
) -> None:
    if timeout < 0:
        raise RPCError(503, "Colony assignments are paused")
    remaining = deadline - time.monotonic()
    event = ctx.resume_event(colonyname)
    event.clear()
    try:
        await asyncio.wait_for(event.wait(), max(remaining, 0))
    except TimeoutError:
        raise RPCError(408, "Assignment timeout: colony assignments are paused") from None


def listing_count(msg: Msg) -> int:
    """The ``count`` of a request listing processes or workflows: 0 to ``MAX_COUNT``."""
    count = msg.integer("count")
    if count > MAX_COUNT:
        raise RPCError(400, f"Count is larger than MaxCount limit <{MAX_COUNT}>")
    if count < 0:
        raise RPCError(400, f"Invalid count {count}, must be 0-{MAX_COUNT}")
    return count


@handles("getprocessesmsg")
async def get_processes(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("colonyname")
    await require_member(ctx, signer, colonyname)
    state = msg.integer("state")
    if graphid := msg.text("processgraphid"):
        return await workflow_processes(ctx, colonyname, graphid, state, listing_count(msg))
    if state not in ProcessState._value2member_map_:
        raise RPCError(400, "Failed to get processes, invalid msg.State")
    count = listing_count(msg)
    initiatorid = ""
    if initiator := msg.text("initiator"):
        user = await ctx.store.get_user(colonyname, initiator)
        if user is None:
            raise RPCError(400, f"User <{initiator}> does not exist")
        initiatorid = user.userid
    processes = await ctx.store.get_processes(
        colonyname,
        state,
        count,
        executortype=msg.text("executortype"),
        label=msg.text("label"),
        initiatorid=initiatorid,
    )
    return [p.to_dict() for p in processes]


async def workflow_processes(
    ctx: ServerContext, colonyname: str, processgraphid: str, state: int, count: int
) -> list[dict[str, Any]]:
    """A workflow's processes (pycolonies' ``get_processes_for_workflow``; Go ignores the
    ``processgraphid`` filter and refuses its state -1, which here means any state)."""
    graph = await ctx.store.get_processgraph(processgraphid)
    if graph is None or graph.colonyname != colonyname:
        raise RPCError(404, f"Failed to get processes, no workflow with Id {processgraphid}")
    if state != -1 and state not in ProcessState._value2member_map_:
        raise RPCError(400, "Failed to get processes, invalid msg.State")
    processes = await ctx.store.graph_processes(processgraphid)
    return [p.to_dict() for p in processes if state in (-1, p.state)][:count]


@handles("getprocessmsg")
async def get_process(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    return (await member_process(ctx, msg, signer)).to_dict()


@handles("getprocesshistmsg")
async def process_history(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("colonyname")
    await require_member(ctx, signer, colonyname)
    since = now_ns() - msg.integer("seconds") * NS
    since = min(max(since, INT64_MIN), INT64_MAX)  # clamped into int64 (Go's arithmetic wraps)
    processes = await ctx.store.process_history(
        colonyname, msg.integer("state"), since, msg.text("executorid")
    )
    return [p.to_dict() for p in processes]


@handles("removeprocessmsg")
async def remove_process(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    process = await member_process(ctx, msg, signer)
    if process.processgraphid:
        raise RPCError(
            400,
            "Failed to remove, cannot remove a process part of a workflow, "
            "delete the entire workflow instead",
        )
    if process.state == ProcessState.RUNNING:
        raise RPCError(400, "Failed to remove process, cannot remove a running process")
    await ctx.store.remove_process(process.processid)


@handles("removeallprocessesmsg")
async def remove_all_processes(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("colonyname")
    await require_colony_owner(ctx, signer, colonyname)
    state = msg.integer("state")  # absent is 0 (WAITING), as Go decodes it; -1 means all
    if state == ProcessState.RUNNING:
        raise RPCError(400, "Not possible to remove running processes")
    if state not in (-1, 0, 2, 3, 4):
        raise RPCError(400, "Invalid state when deleting all processes")
    await ctx.store.remove_processes(colonyname, state)


async def reported(
    ctx: ServerContext, msg: Msg, signer: str, changed: Process | None, verb: str
) -> Process:
    """The result of an executor's report (output, close, fail) on its process.

    The lifecycle's compare-and-set requires the signer to be the assigned executor and an
    approved member of the process's colony (checked in the same statement), so the common case
    needs no read at all. Only when the CAS loses is the process loaded, to refuse with the
    precise reason.
    """
    if changed is not None:
        await ctx.mark_alive(changed.spec.conditions.colonyname, signer)
        return changed
    await assigned_process(ctx, msg, signer)  # 404 / 403 with the Go server's wording
    raise await _cannot_close(ctx, msg.text("processid"), verb)


@handles("setoutputmsg")
async def set_output(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    out = msg.array("out")
    if not out:  # a no-op, but still only for the process's own executor
        process = await assigned_process(ctx, msg, signer)
        if process.state != ProcessState.RUNNING:
            raise RPCError(403, "Failed to set output, process is not running")
        return
    try:
        processid = msg.text("processid")
        changed = await lifecycle.set_output(ctx, processid, signer, out)
        await reported(ctx, msg, signer, changed, "set output of")
    except RPCError as e:
        raise RPCError(403, e.message) if e.status == 400 else e from None


@handles("closesuccessfulmsg")
async def close_successful(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    closed = await lifecycle.close(ctx, msg.text("processid"), signer, msg.array("out"))
    await reported(ctx, msg, signer, closed, "close")


@handles("closefailedmsg")
async def close_failed(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    failed = await lifecycle.fail(ctx, msg.text("processid"), signer, msg.strings("errors"))
    await reported(ctx, msg, signer, failed, "fail")


@handles("cancelprocessmsg")
async def cancel(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    process = await member_process(ctx, msg, signer)
    if process.processgraphid:
        raise RPCError(
            400,
            "Failed to cancel, cannot cancel a process part of a workflow, "
            "cancel the entire workflow instead",
        )
    if await lifecycle.cancel(ctx, process.processid) is None:
        raise await _cannot_close(ctx, process.processid, "cancel")


async def _cannot_close(ctx: ServerContext, processid: str, verb: str) -> RPCError:
    """The error for a lost compare-and-set: say which state the process is in now."""
    current = await ctx.store.get_process(processid)
    if current is None:
        return RPCError(404, "Failed to get process, process not found")
    state = ProcessState(current.state).name
    return RPCError(400, f"Failed to {verb} process {processid}, process is {state}")
