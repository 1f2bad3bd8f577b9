"""Crons and generators (spec §6.6, §6.7): the leader's periodic checks.

A cron starts its workflow every ``interval`` seconds or at the times of its 6-field cron
expression (seconds first); a generator starts its workflow when ``trigger`` args are packed, or
``timeout`` seconds after the last run (or the first pack) with fewer. The checks run on the
leader replica only (called from the sweeper loop), and each firing is a compare-and-set in the
store: a cron fires only if its ``nextrun`` is still the value read (``advance_cron``), a
generator only if the args read are all still queued (``consume_generator_args``). So when
leadership moves, or ``runcronmsg`` races the checker, nothing fires twice; the winner submits
the workflow after it won (a crash right between the two loses that one run rather than
doubling it).

Imports croniter: server only, never the portable client core.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from croniter import croniter

from colonies.model import Cron, Generator, WireError, WorkflowSpec
from colonies.rpc import RPCError
from colonies.server import graphs, lifecycle
from colonies.server.context import ServerContext
from colonies.timeutil import NS, now_ns, parse_ns

log = logging.getLogger("colonies.crons")
BATCH = 1000
MAX_ARGS = 100_000  # args read per generator per check


# --- schedules and specs


def check_expression(expression: str) -> None:
    """Refuse (400) a cron expression that is not 6 fields (seconds first) or a descriptor."""
    fields = expression.split()
    if not fields:
        raise RPCError(400, "empty cron expression string")
    if not fields[0].startswith("@") and len(fields) != 6:  # Go's texts (robfig/cron)
        raise RPCError(400, f"expected exactly 6 fields, found {len(fields)}: [{' '.join(fields)}]")
    try:
        croniter(expression, datetime.now(UTC), second_at_beginning=True)
    except (ValueError, KeyError) as e:
        raise RPCError(400, f"Invalid cron expression <{expression}>: {e}") from None


def next_run(cron: Cron, now: int) -> int:
    """The next time (ns) the cron fires after ``now``: ``now + interval`` seconds, or the next
    time of its expression (a random cron is an interval one, as in Go)."""
    if cron.interval > 0:
        return now + cron.interval * NS
    start = datetime.fromtimestamp(now / NS, UTC)
    after: datetime = croniter(cron.cronexpression, start, second_at_beginning=True).get_next(
        datetime
    )
    return int(after.timestamp()) * NS + after.microsecond * 1000


def parse_workflow(text: str, colonyname: str) -> WorkflowSpec:
    """The WorkflowSpec held in a cron's or generator's ``workflowspec`` string, checked (400):
    valid JSON of a valid DAG in the owner's colony (an empty colony means the owner's)."""
    try:
        raw: Any = json.loads(text)
        spec = WorkflowSpec.from_dict(raw)
    except (json.JSONDecodeError, WireError) as e:
        raise RPCError(400, f"Failed to parse workflow spec: {e}") from None
    if not spec.colonyname:
        spec.colonyname = colonyname
    if spec.colonyname != colonyname:
        raise RPCError(
            400,
            f"The workflow spec's colony <{spec.colonyname}> is not the colony <{colonyname}>",
        )
    graphs.plan(spec)  # refuses what a submit would refuse
    return spec


# --- crons


async def _previous_outputs(ctx: ServerContext, cron: Cron) -> tuple[bool, list[Any]]:
    """Whether the cron may start now (``waitforprevprocessgraph``: only once the previous
    graph ended), and the concatenated outputs of the previous graph's leaves."""
    if not cron.prevprocessgraphid:
        return True, []
    graph = await ctx.store.get_processgraph(cron.prevprocessgraphid)
    if graph is None:  # removed meanwhile
        return True, []
    if cron.waitforprevprocessgraph and graph.state not in graphs.FINAL:
        return False, []
    processes = await ctx.store.graph_processes(graph.processgraphid)
    outputs: list[Any] = []
    for process in processes:
        if not process.children:
            outputs.extend(process.output)
    return True, outputs


async def fire_cron(ctx: ServerContext, cron: Cron, now: int, *, force: bool = False) -> bool:
    """Evaluate one cron read from the store: schedule it if it never was, start its workflow
    if due (or ``force``, for ``runcronmsg``). Returns whether a workflow was started."""
    expected = parse_ns(cron.nextrun)
    if expected == 0 and not force:
        await ctx.store.advance_cron(cron.cronid, expected_nextrun=0, nextrun=next_run(cron, now))
        return False
    if not force and now <= expected:
        return False
    start, outputs = await _previous_outputs(ctx, cron)
    if not start:  # stays due: checked again next period
        return False
    nextrun = next_run(cron, now)
    if not await ctx.store.advance_cron(
        cron.cronid, expected_nextrun=expected, nextrun=nextrun, lastrun=now
    ):
        return False  # another replica or request fired it
    try:
        spec = parse_workflow(cron.workflowspec, cron.colonyname)
        graph = await lifecycle.submit_workflow(
            ctx,
            spec,
            initiatorid=cron.initiatorid,
            initiatorname=cron.initiatorname,
            root_input=outputs,
        )
    except RPCError as e:
        log.warning("cron %s (%s) could not start its workflow: %s", cron.name, cron.cronid, e)
        return False
    await ctx.store.advance_cron(
        cron.cronid,
        expected_nextrun=nextrun,
        nextrun=nextrun,
        prevprocessgraphid=graph.processgraphid,
    )
    log.info("cron %s started workflow %s", cron.name, graph.processgraphid)
    return True


async def check_crons(ctx: ServerContext) -> int:
    """Evaluate every new or due cron; returns how many workflows were started."""
    now = now_ns()
    started = 0
    for cron in await ctx.store.due_crons(now, BATCH):
        try:
            started += await fire_cron(ctx, cron, now)
        except Exception:
            log.exception("cron %s (%s) failed", cron.name, cron.cronid)
    return started


# --- generators


async def _start(ctx: ServerContext, generator: Generator, args: list[str]) -> bool:
    try:
        spec = parse_workflow(generator.workflowspec, generator.colonyname)
        graph = await lifecycle.submit_workflow(
            ctx,
            spec,
            initiatorid=generator.initiatorid,
            initiatorname=generator.initiatorname,
            root_args=list(args),
        )
    except RPCError as e:
        log.warning(
            "generator %s (%s) could not start its workflow: %s",
            generator.name,
            generator.generatorid,
            e,
        )
        return False
    log.info("generator %s started workflow %s", generator.name, graph.processgraphid)
    return True


async def fire_generator(ctx: ServerContext, generator: Generator, now: int) -> int:
    """Start a workflow per ``trigger`` queued args, or one with the fewer queued ones once the
    timeout passed. Each batch is consumed exactly as read before its workflow is submitted.
    Returns how many workflows were started."""
    queued = await ctx.store.generator_args(generator.generatorid, MAX_ARGS)
    trigger = generator.trigger
    if trigger <= 0 or not queued:
        return 0
    batches: list[list[tuple[str, str]]]
    if len(queued) >= trigger:
        full = len(queued) // trigger
        batches = [queued[k * trigger : (k + 1) * trigger] for k in range(full)]
    else:
        since = parse_ns(generator.lastrun) or parse_ns(generator.firstpack)
        if generator.timeout <= 0 or now <= since + generator.timeout * NS:
            return 0
        batches = [queued]
    started = 0
    for batch in batches:
        args = await ctx.store.consume_generator_args(
            generator.generatorid, [argid for argid, _ in batch], now
        )
        if not args:
            break  # consumed by another checker meanwhile
        started += await _start(ctx, generator, args)
    return started


async def check_generators(ctx: ServerContext) -> int:
    """Evaluate every generator with queued args; returns how many workflows were started."""
    now = now_ns()
    started = 0
    for generator in await ctx.store.pending_generators(BATCH):
        try:
            started += await fire_generator(ctx, generator, now)
        except Exception:
            log.exception("generator %s (%s) failed", generator.name, generator.generatorid)
    return started


async def check_once(ctx: ServerContext) -> int:
    """The leader's periodic duty: crons, then generators."""
    return await check_crons(ctx) + await check_generators(ctx)
