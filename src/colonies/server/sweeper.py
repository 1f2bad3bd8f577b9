"""Periodic work: deadlines (spec §6.4), stale executors and function counters.

Processes past ``maxexectime``/``maxwaittime`` are failed or re-queued; executors not heard from
for ``stale_executor_duration`` seconds are soft-removed, which re-queues their RUNNING processes
(so a process whose assign reply was lost does not stay RUNNING forever); runs queued by closes
are folded into the registered functions' counters.

Deadlines and stale executors are swept once a second by the leader replica only (``leader``);
each change is still a compare-and-set, so two replicas that both believe they lead for a moment
cannot both act on one process. Crons and generators are checked by the leader in the same pass
(``crons``). Every replica folds its own queued function runs.
"""

from __future__ import annotations

import asyncio
import logging

from colonies.server import crons, lifecycle
from colonies.server.context import ServerContext
from colonies.timeutil import NS, now_ns

log = logging.getLogger("colonies.sweeper")
BATCH = 1000


async def sweep_once(ctx: ServerContext) -> int:
    """Handle every expired process; returns how many changed."""
    now = now_ns()
    changed = 0
    for process in await ctx.store.expired_processes(now, BATCH):
        if await lifecycle.expire(ctx, process, now) is not None:
            changed += 1
    return changed


async def remove_stale_executors(ctx: ServerContext) -> int:
    """Soft-remove executors not heard from for the stale duration; returns how many.

    Each removal is a compare-and-set on "still not heard from", so an executor heard from
    meanwhile (on any replica) stays, and replicas sweeping together remove it once.
    """
    duration = ctx.config.stale_executor_duration
    if duration <= 0:
        return 0
    heard_before = now_ns() - int(duration * NS)
    removed = 0
    for executor in await ctx.store.stale_executors(heard_before, BATCH):
        requeued = await lifecycle.remove_executor(
            ctx, executor.colonyname, executor.executorname, heard_before=heard_before
        )
        if requeued is None:  # heard from meanwhile, or removed by another replica
            continue
        log.info(
            "removed stale executor %s in colony %s (last heard %s); re-queued %d process(es)",
            executor.executorname,
            executor.colonyname,
            executor.lastheardfromtime,
            len(requeued),
        )
        removed += 1
    return removed


async def flush_function_runs(ctx: ServerContext) -> None:
    """Fold the queued runs into each registered function's counters."""
    runs, ctx.function_runs = ctx.function_runs, {}
    for (colonyname, executorname, funcname), samples in runs.items():
        function = await ctx.store.find_function(colonyname, executorname, funcname)
        if function is None:
            continue
        for wait, run in samples:
            first = function.counter == 0
            function.counter += 1
            function.minwaittime = wait if first else min(function.minwaittime, wait)
            function.maxwaittime = max(function.maxwaittime, wait)
            function.minexectime = run if first else min(function.minexectime, run)
            function.maxexectime = max(function.maxexectime, run)
            function.avgwaittime = wait if first else (function.avgwaittime + wait) / 2
            function.avgexectime = run if first else (function.avgexectime + run) / 2
        await ctx.store.update_function(function)


async def sweep_forever(ctx: ServerContext) -> None:
    while True:
        await asyncio.sleep(ctx.config.sweep_interval)
        try:
            if ctx.leader.is_leader:
                await sweep_once(ctx)
                await remove_stale_executors(ctx)
                await crons.check_once(ctx)
            await flush_function_runs(ctx)
        except Exception:
            log.exception("periodic sweep failed; retrying next period")
