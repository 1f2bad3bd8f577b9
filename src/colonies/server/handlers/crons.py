"""Crons (spec §4.8, §6.6): add, get, list, run now, remove.

The schedule itself is ``colonies.server.crons`` (the leader's checker). Texts are the Go
server's; where it answers 500 for a missing cron, these answer 404 with the same text.
"""

from __future__ import annotations

from typing import Any

from colonies.model import ZERO_TIME, Cron
from colonies.rpc import RPCError
from colonies.server import crons
from colonies.server.auth import require_member
from colonies.server.context import ServerContext
from colonies.server.handlers import Msg, handles
from colonies.server.handlers.processes import initiator_name
from colonies.server.specs import random_id
from colonies.store.base import AlreadyExists
from colonies.timeutil import now_ns


def checker_period(ctx: ServerContext) -> int:
    """How often (ms) the leader checks crons and generators: the sweep period."""
    return int(ctx.config.sweep_interval * 1000)


def check_count(count: int) -> None:
    if count < 0:
        raise RPCError(400, f"Invalid count {count}, must not be negative")


async def member_cron(ctx: ServerContext, msg: Msg, signer: str, verb: str) -> Cron:
    cron = await ctx.store.get_cron(msg.text("cronid"))
    if cron is None:
        raise RPCError(404, f"Failed to {verb} cron, cron is nil")
    await require_member(ctx, signer, cron.colonyname)
    return cron


@handles("addcronmsg")
async def add_cron(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    if msg.raw.get("cron") is None:
        raise RPCError(400, "Failed to add cron, msg.Cron is nil")
    cron = msg.obj("cron", Cron)
    initiator = await require_member(ctx, signer, cron.colonyname)
    if cron.interval == 0 or cron.interval < -1:  # Go accepts < -1 (never fires then)
        raise RPCError(400, "Cron interval must be -1 (disabled) or larger than 0")
    if cron.interval == -1:
        if cron.random:
            raise RPCError(400, "Random cron is only supported when specifying intervals")
        crons.check_expression(cron.cronexpression)
    crons.parse_workflow(cron.workflowspec, cron.colonyname)
    cron.cronid = random_id()
    cron.initiatorid, cron.initiatorname = signer, initiator_name(initiator)
    cron.nextrun = cron.lastrun = ZERO_TIME
    cron.prevprocessgraphid, cron.checkerperiod = "", 0
    try:
        await ctx.store.add_cron(cron)
    except AlreadyExists as e:
        raise RPCError(400, str(e)) from None
    return cron.to_dict()


@handles("getcronmsg")
async def get_cron(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    cron = await member_cron(ctx, msg, signer, "get")
    cron.checkerperiod = checker_period(ctx)
    return cron.to_dict()


@handles("getcronsmsg")
async def get_crons(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("colonyname")
    await require_member(ctx, signer, colonyname)
    count = msg.integer("count")
    check_count(count)
    return [cron.to_dict() for cron in await ctx.store.get_crons(colonyname, count)]


@handles("runcronmsg")
async def run_cron(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    cron = await ctx.store.get_cron(msg.text("cronid"))
    if cron is None:
        raise RPCError(404, "cron not found")
    await require_member(ctx, signer, cron.colonyname)  # Go checks after starting it
    await crons.fire_cron(ctx, cron, now_ns(), force=True)
    return (await ctx.store.get_cron(cron.cronid) or cron).to_dict()


@handles("removecronmsg")
async def remove_cron(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    cron = await member_cron(ctx, msg, signer, "remove")
    await ctx.store.remove_cron(cron.cronid)
