"""Colonies (spec §4.2) and assignment pausing (§4.5)."""

from __future__ import annotations

import re
from typing import Any

from colonies.model import Colony, Statistics
from colonies.rpc import RPCError
from colonies.server.auth import (
    require_colony,
    require_colony_owner,
    require_member,
    require_server_owner,
)
from colonies.server.context import ServerContext
from colonies.server.handlers import Msg, handles
from colonies.store.base import AlreadyExists

_ID = re.compile(r"^[0-9a-f]{64}$")


def valid_id(value: str, what: str) -> str:
    if not _ID.match(value):
        raise RPCError(400, f"Invalid {what}: must be 64 lowercase hex characters")
    return value


async def _existing(ctx: ServerContext, name: str) -> Colony:
    colony = await ctx.store.get_colony(name)
    if colony is None:
        raise RPCError(404, f"Colony with name <{name}> not found")
    return colony


@handles("addcolonymsg")
async def add_colony(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    await require_server_owner(ctx, signer)
    colony = msg.obj("colony", Colony)
    valid_id(colony.colonyid, "colony id")
    if not colony.name:
        raise RPCError(400, "Invalid colony name: must not be empty")
    try:
        await ctx.store.add_colony(colony)
    except AlreadyExists:
        raise RPCError(400, f"A Colony with name <{colony.name}> already exists") from None
    ctx.signals.membership_changed()
    return colony.to_dict()


@handles("removecolonymsg")
async def remove_colony(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    await require_server_owner(ctx, signer)
    name = msg.text("colonyname")
    await _existing(ctx, name)
    await ctx.store.remove_colony(name)
    ctx.signals.membership_changed()


@handles("getcoloniesmsg")
async def get_colonies(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    await require_server_owner(ctx, signer)
    return [c.to_dict() for c in await ctx.store.get_colonies()]


@handles("getcolonymsg")
async def get_colony(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    name = msg.text("colonyname")
    colony = await require_colony(ctx, name)
    await require_member(ctx, signer, name)
    return colony.to_dict()


async def statistics(ctx: ServerContext, colonyname: str | None) -> Statistics:
    procs = await ctx.store.count_processes(colonyname)
    execs = await ctx.store.count_executors(colonyname)
    flows = await ctx.store.count_processgraphs(colonyname)
    colonies = 1 if colonyname else len(await ctx.store.get_colonies())
    return Statistics(
        colonies=colonies,
        executors=execs.total,
        activeexecutors=execs.active,
        unregisteredexecutors=execs.unregistered,
        waitingprocesses=procs.waiting,
        runningprocesses=procs.running,
        successfulprocesses=procs.successful,
        failedprocesses=procs.failed,
        cancelledprocesses=procs.cancelled,
        waitingworkflows=flows.waiting,
        runningworkflows=flows.running,
        successfulworkflows=flows.successful,
        failedworkflows=flows.failed,
        cancelledworkflows=flows.cancelled,
    )


@handles("getcolonystatsmsg")
async def get_colony_stats(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    name = msg.text("colonyname")
    await _existing(ctx, name)  # Go looks the colony up first, then checks membership
    await require_member(ctx, signer, name)
    return (await statistics(ctx, name)).to_dict()


@handles("pauseassignmentsmsg")
async def pause(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    name = msg.text("colonyname")
    await require_colony_owner(ctx, signer, name)
    await ctx.store.set_paused(name, True)
    ctx.signals.pause_changed(name, True)


@handles("resumeassignmentsmsg")
async def resume(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    name = msg.text("colonyname")
    await require_colony_owner(ctx, signer, name)
    await ctx.store.set_paused(name, False)
    ctx.signals.pause_changed(name, False)


@handles("getpausestatusmsg", reply_type="pausestatusreplymsg")
async def pause_status(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    name = msg.text("colonyname")
    await require_member(ctx, signer, name, approved=False)
    return {
        "msgtype": "pausestatusreplymsg",
        "colonyname": name,
        "ispaused": await ctx.is_paused(name),
    }
