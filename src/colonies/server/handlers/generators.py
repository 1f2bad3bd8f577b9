"""Generators (spec §4.8, §6.7): add, get (by ID or name), list, pack an arg, remove.

Firing is ``colonies.server.crons`` (the leader's checker). Texts are the Go server's; where it
answers 500 for a missing generator, these answer 404 with the same text, and a trigger below 1
(which crashes the Go server's checker with a division by zero) is refused with 400.
"""

from __future__ import annotations

from typing import Any

from colonies.model import ZERO_TIME, Generator
from colonies.rpc import RPCError
from colonies.server import crons
from colonies.server.auth import require_member
from colonies.server.context import ServerContext
from colonies.server.handlers import Msg, handles
from colonies.server.handlers.crons import check_count, checker_period
from colonies.server.handlers.processes import initiator_name
from colonies.server.specs import random_id
from colonies.store.base import AlreadyExists
from colonies.timeutil import now_ns


async def member_generator(ctx: ServerContext, msg: Msg, signer: str, verb: str) -> Generator:
    generator = await ctx.store.get_generator(msg.text("generatorid"))
    if generator is None:
        raise RPCError(404, f"Failed to {verb} generator, generator is nil")
    await require_member(ctx, signer, generator.colonyname)
    return generator


@handles("addgeneratormsg")
async def add_generator(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    if msg.raw.get("generator") is None:
        raise RPCError(400, "Failed to add generator, msg.Generator is nil")
    generator = msg.obj("generator", Generator)
    initiator = await require_member(ctx, signer, generator.colonyname)
    if generator.trigger < 1:
        raise RPCError(400, "Generator trigger must be larger than 0")
    crons.parse_workflow(generator.workflowspec, generator.colonyname)
    generator.generatorid = random_id()
    generator.initiatorid, generator.initiatorname = signer, initiator_name(initiator)
    generator.firstpack = generator.lastrun = ZERO_TIME
    generator.queuesize = generator.checkerperiod = 0
    try:
        await ctx.store.add_generator(generator)
    except AlreadyExists as e:
        raise RPCError(400, str(e)) from None
    return generator.to_dict()


@handles("getgeneratormsg")
async def get_generator(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    generator = await member_generator(ctx, msg, signer, "get")
    generator.queuesize = await ctx.store.count_generator_args(generator.generatorid)
    generator.checkerperiod = checker_period(ctx)
    return generator.to_dict()


@handles("resolvegeneratormsg")
async def resolve_generator(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("colonyname")
    await require_member(ctx, signer, colonyname)
    generator = await ctx.store.get_generator_by_name(colonyname, msg.text("generatorname"))
    if generator is None:
        raise RPCError(404, "Failed to resolve generator, generator is nil")
    return generator.to_dict()


@handles("getgeneratorsmsg")
async def get_generators(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("colonyname")
    await require_member(ctx, signer, colonyname)
    count = msg.integer("count")
    check_count(count)
    return [g.to_dict() for g in await ctx.store.get_generators(colonyname, count)]


@handles("packgeneratormsg")
async def pack_generator(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    generator = await member_generator(ctx, msg, signer, "increment")
    if not await ctx.store.pack_generator_arg(generator.generatorid, msg.text("arg"), now_ns()):
        raise RPCError(404, "Failed to increment generator, generator is nil")


@handles("removegeneratormsg")
async def remove_generator(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    generator = await member_generator(ctx, msg, signer, "remove")
    await ctx.store.remove_generator(generator.generatorid)
