"""Deadlines (spec §6.4): fail or re-queue processes past ``maxexectime``/``maxwaittime``.

Runs once a second on every replica; each change is a compare-and-set in the store, so two
replicas sweeping the same process cannot both act on it.
"""

from __future__ import annotations

import asyncio
import logging

from colonies.model import Process, ProcessState
from colonies.server.context import ServerContext
from colonies.store.base import ProcessUpdate
from colonies.timeutil import NS, now_ns

log = logging.getLogger("colonies.sweeper")
BATCH = 1000


async def sweep_once(ctx: ServerContext) -> int:
    """Handle every expired process; returns how many changed."""
    now = now_ns()
    changed = 0
    for process in await ctx.store.expired_processes(now, BATCH):
        updated = await _expire(ctx, process, now)
        if updated is not None:
            ctx.process_changed(updated)
            changed += 1
    return changed


async def _expire(ctx: ServerContext, process: Process, now: int) -> Process | None:
    spec = process.spec
    if process.state == ProcessState.WAITING:
        return await ctx.store.update_process(
            process.processid,
            ProcessUpdate(
                state=ProcessState.FAILED,
                endtime=now,
                errors=["Maximum waiting time limit exceeded"],
            ),
            states=[ProcessState.WAITING],
        )
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
    return await ctx.store.update_process(
        process.processid,
        update,
        states=[ProcessState.RUNNING],
        executorid=process.assignedexecutorid,
    )


async def sweep_forever(ctx: ServerContext) -> None:
    while True:
        await asyncio.sleep(ctx.config.sweep_interval)
        try:
            await sweep_once(ctx)
        except Exception:
            log.exception("deadline sweep failed; retrying next period")
