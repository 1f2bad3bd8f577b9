"""ID rotation (spec §4.12): a user, an executor, a colony owner or the server owner moves to a
new key. Each reply echoes the request, as Go's does.

After a change the old key is refused and the new one accepted at once, on every replica: the
caches of colonies and executors are dropped here and, through the membership signal, on the
other replicas (users and the server ID are never cached).
"""

from __future__ import annotations

import re
from typing import Any

from colonies.model import Executor, ExecutorState, User
from colonies.rpc import RPCError
from colonies.server.auth import (
    denied,
    require_colony_owner,
    require_member,
    require_server_owner,
)
from colonies.server.context import ServerContext
from colonies.server.handlers import Msg, handles

_HEX_ID = re.compile(r"^[0-9a-f]{64}$")


def _new_id(msg: Msg, field: str, what: str) -> str:
    """The requested ID; Go refuses only an empty one here (the rest is checked later)."""
    value = msg.text(field)
    if not value:
        raise RPCError(400, f"Failed to change {what} Id, {what} Id is empty")
    return value


def _check_id(value: str, what: str) -> None:
    """Go's length check, then ours: an ID is a lowercase hex digest, anything else could never
    sign a request again and would lock the account out for good."""
    if len(value) != 64:
        raise RPCError(400, f"Failed to change {what} Id, new {what} Id is not 64 characters")
    if not _HEX_ID.match(value):
        raise RPCError(
            400, f"Failed to change {what} Id, new {what} Id must be 64 lowercase hex characters"
        )


async def _check_unused(ctx: ServerContext, colonyname: str, new: str, what: str) -> None:
    """A key names one member of a colony: taking another member's ID would merge the two."""
    executor = await ctx.store.get_executor_by_id(colonyname, new)
    taken = executor is not None and executor.state != ExecutorState.UNREGISTERED
    if taken or await ctx.store.get_user_by_id(colonyname, new) is not None:
        raise RPCError(
            400,
            f"Failed to change {what} Id, the new Id is already used by a member of Colony "
            f"with name <{colonyname}>",
        )


def _echo(msg: Msg) -> dict[str, Any]:
    return dict(msg.raw)


@handles("changeuseridmsg")
async def change_user_id(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    new = _new_id(msg, "userid", "user")
    colonyname = msg.text("colonyname")
    await require_member(ctx, signer, colonyname, approved=False)
    user: User | None = await ctx.store.get_user_by_id(colonyname, signer)
    if user is None:  # an executor of the colony: Go's 400 "user not found"
        raise denied(f"Access denied, the caller is not a user of Colony with name <{colonyname}>")
    _check_id(new, "user")
    if new != signer:
        await _check_unused(ctx, colonyname, new, "user")
        await ctx.store.change_user_id(colonyname, signer, new)
        ctx.signals.membership_changed()
    return _echo(msg)


@handles("changeexecutoridmsg")
async def change_executor_id(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    new = _new_id(msg, "executorid", "executor")
    colonyname = msg.text("colonyname")
    member = await require_member(ctx, signer, colonyname, approved=False)
    if not isinstance(member, Executor):  # a user of the colony: Go's 400 "executor not found"
        raise denied(
            f"Access denied, the caller is not an executor of Colony with name <{colonyname}>"
        )
    _check_id(new, "executor")
    if new != signer:
        await _check_unused(ctx, colonyname, new, "executor")
        await ctx.store.change_executor_id(colonyname, signer, new)
        ctx.signals.membership_changed()
    return _echo(msg)


@handles("changecolonyidmsg")
async def change_colony_id(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    new = _new_id(msg, "colonyid", "colony")
    colonyname = msg.text("colonyname")
    colony = await require_colony_owner(ctx, signer, colonyname)
    _check_id(new, "colony")
    await ctx.store.change_colony_id(colonyname, colony.colonyid, new)
    ctx.signals.membership_changed()
    return _echo(msg)


@handles("changeserveridmsg")
async def change_server_id(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    new = _new_id(msg, "serverid", "server")
    await require_server_owner(ctx, signer)
    _check_id(new, "server")
    await ctx.store.set_server_id(new)
    return _echo(msg)
