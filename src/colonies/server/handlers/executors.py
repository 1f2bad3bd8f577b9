"""Executors (spec §4.3): registration by the colony owner, approval, soft removal."""

from __future__ import annotations

from typing import Any

from colonies import jointoken
from colonies.model import Allocations, Capabilities, Executor, ExecutorState
from colonies.rpc import RPCError
from colonies.server import lifecycle
from colonies.server.auth import require_colony, require_colony_owner, require_member
from colonies.server.context import ServerContext
from colonies.server.handlers import Msg, handles
from colonies.server.handlers.colonies import valid_id
from colonies.timeutil import format_ns, now_ns


async def _existing(ctx: ServerContext, colonyname: str, name: str) -> Executor:
    executor = await ctx.store.get_executor(colonyname, name)
    if executor is None:
        raise RPCError(404, f"Failed to get executor, executor with name {name} not found")
    return executor


@handles("addexecutormsg")
async def add_executor(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    executor = msg.obj("executor", Executor)
    await require_colony_owner(ctx, signer, executor.colonyname)
    return (await _register(ctx, executor, approve=False)).to_dict()


@handles("addexecutorbytokenmsg")
async def add_executor_by_token(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    """Our extension: join with a colony owner's join token instead of the colony key.

    The executor signs with its own key (so the ID is proven), the token proves the owner's
    consent for this colony and executor type; the executor is registered and approved.
    """
    executor = msg.obj("executor", Executor)
    colony = await require_colony(ctx, executor.colonyname)
    try:
        jointoken.verify(
            msg.text("token"),
            colonyid=colony.colonyid,
            colonyname=colony.name,
            executortype=executor.executortype,
        )
    except jointoken.TokenError as e:
        raise RPCError(403, str(e)) from None
    if executor.executorid != signer:
        raise RPCError(403, "Access denied, the executor must sign its own registration")
    old = await ctx.store.get_executor(executor.colonyname, executor.executorname)
    if old is not None and old.state != ExecutorState.UNREGISTERED:
        # A token creates executors, or re-registers the signer's own; it never takes over a
        # name another key holds (that would cut the holder off and hand it its processes).
        if old.executorid != signer:
            raise RPCError(
                403,
                f"Access denied, executor name {executor.executorname} in Colony "
                f"{executor.colonyname} is held by another executor's key; a join token can "
                "only register a new name or the signer's own executor",
            )
        if old.executortype != executor.executortype:
            raise RPCError(
                403,
                f"Access denied, executor name {executor.executorname} belongs to an executor "
                f"of type {old.executortype}, which this token does not cover",
            )
    return (await _register(ctx, executor, approve=True, replace=True)).to_dict()


async def _register(
    ctx: ServerContext, executor: Executor, *, approve: bool, replace: bool = False
) -> Executor:
    """Store a new executor (PENDING, or APPROVED); ``replace`` retires a previous record of
    the name (its RUNNING processes are re-queued). IDs are unique within a colony only; the
    same key may be an executor of several colonies (as on the Go server)."""
    valid_id(executor.executorid, "executor id")
    if not executor.executorname or not executor.executortype:
        raise RPCError(400, "Invalid executor: executorname and executortype must be set")
    executor.state = ExecutorState.APPROVED if approve else ExecutorState.PENDING
    executor.commissiontime = format_ns(now_ns())
    owner = await ctx.store.get_executor_by_id(executor.colonyname, executor.executorid)
    if (
        owner is not None
        and owner.executorname != executor.executorname
        and owner.state != ExecutorState.UNREGISTERED
    ):
        renaming = replace and owner.executortype == executor.executortype
        if not renaming:
            raise RPCError(
                400, "Executor not unique, both Name and ExecutorId must be unique within a Colony"
            )
        # The key's holder (it signed with it) renames its own executor: retire the old name.
        await lifecycle.remove_executor(ctx, owner.colonyname, owner.executorname)
    old = await ctx.store.get_executor(executor.colonyname, executor.executorname)
    if old is not None:
        # A removed (UNREGISTERED) name may be taken again; Go refuses that too (spec §4.3).
        if (
            old.state != ExecutorState.UNREGISTERED
            and not replace
            and not ctx.config.allow_executor_reregister
        ):
            raise RPCError(
                400,
                f"Executor with name {executor.executorname} in Colony "
                f"{executor.colonyname} already exists",
            )
        await lifecycle.remove_executor(ctx, old.colonyname, old.executorname)
    await ctx.store.add_executor(executor, replace=old is not None)
    ctx.signals.membership_changed()
    return executor


@handles("getexecutorsmsg")
async def get_executors(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("colonyname")
    await require_member(ctx, signer, colonyname, approved=False)
    return [e.to_dict() for e in await ctx.store.get_executors(colonyname)]


@handles("getexecutormsg")
async def get_executor(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("colonyname")
    await require_member(ctx, signer, colonyname)
    return (await _existing(ctx, colonyname, msg.text("executorname"))).to_dict()


@handles("getexecutorbyidmsg")
async def get_executor_by_id(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname, executorid = msg.text("colonyname"), msg.text("executorid")
    await require_member(ctx, signer, colonyname)
    executor = await ctx.store.get_executor_by_id(colonyname, executorid)
    if executor is None:
        raise RPCError(404, f"Failed to get executor, executor with id {executorid} not found")
    return executor.to_dict()


async def _set_state(ctx: ServerContext, msg: Msg, signer: str, state: ExecutorState) -> None:
    colonyname, name = msg.text("colonyname"), msg.text("executorname")
    await require_colony_owner(ctx, signer, colonyname)
    await _existing(ctx, colonyname, name)
    await ctx.store.set_executor_state(colonyname, name, state)
    ctx.signals.membership_changed()


@handles("approveexecutormsg")
async def approve_executor(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    await _set_state(ctx, msg, signer, ExecutorState.APPROVED)


@handles("rejectexecutormsg")
async def reject_executor(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    await _set_state(ctx, msg, signer, ExecutorState.REJECTED)


@handles("removeexecutormsg")
async def remove_executor(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname, name = msg.text("colonyname"), msg.text("executorname")
    await require_colony_owner(ctx, signer, colonyname)
    await _existing(ctx, colonyname, name)
    await lifecycle.remove_executor(ctx, colonyname, name)


async def _own_executor(ctx: ServerContext, msg: Msg, signer: str) -> Executor:
    colonyname, name = msg.text("colonyname"), msg.text("executorname")
    await require_member(ctx, signer, colonyname, approved=False)
    executor = await _existing(ctx, colonyname, name)
    if executor.executorid != signer:
        raise RPCError(403, "Access denied, only the executor itself may update it")
    return executor


@handles("updateexecutormsg")
async def update_executor(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    executor = await _own_executor(ctx, msg, signer)
    executor.capabilities = msg.obj("capabilities", Capabilities)
    await ctx.store.add_executor(executor, replace=True)
    ctx.signals.membership_changed()


@handles("reportallocationmsg")
async def report_allocation(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    executor = await _own_executor(ctx, msg, signer)
    executor.allocations = msg.obj("allocations", Allocations)
    await ctx.store.add_executor(executor, replace=True)
    ctx.signals.membership_changed()
