"""Who may send what (spec §4.1): server owner, colony owner, colony member, assigned executor.

Each check raises ``RPCError(403, …)`` with the Go server's wording, so clients that match on
messages keep working.
"""

from __future__ import annotations

from colonies.model import Colony, Executor, ExecutorState, Process, User
from colonies.rpc import RPCError
from colonies.server.context import ServerContext


def denied(message: str) -> RPCError:
    return RPCError(403, message)


async def require_server_owner(ctx: ServerContext, signer: str) -> None:
    serverid = await ctx.server_id()
    if not serverid or signer != serverid:
        raise denied("Access denied, not server owner")


async def require_colony(ctx: ServerContext, colonyname: str) -> Colony:
    colony = await ctx.colony(colonyname) if colonyname else None
    if colony is None:
        raise denied(f"Colony with name <{colonyname}> does not exists")
    return colony


async def require_colony_owner(ctx: ServerContext, signer: str, colonyname: str) -> Colony:
    if not colonyname:
        raise denied("Empty Colony name")
    colony = await require_colony(ctx, colonyname)
    if signer != colony.colonyid:
        raise denied("Access denied, not colony owner")
    return colony


async def require_member(
    ctx: ServerContext, signer: str, colonyname: str, *, approved: bool = True
) -> Executor | User:
    """The signer's executor (approved, unless ``approved=False``) or user in the colony.

    The signer is looked up in this colony only: what another colony registers under the same
    (public) ID changes nothing here. A request from an approved executor that has polled before
    counts as hearing from it, so a busy executor that still calls is never taken for stale.
    """
    await require_colony(ctx, colonyname)
    executor = await ctx.executor(colonyname, signer)
    if executor is not None and executor.state == ExecutorState.APPROVED:
        await ctx.mark_alive(colonyname, signer, serving=False)
        return executor
    if executor is not None and not approved and executor.state != ExecutorState.UNREGISTERED:
        return executor
    user = await ctx.store.get_user_by_id(colonyname, signer)
    if user is not None:
        return user
    raise denied(f"Access denied, not a member of Colony with name <{colonyname}>")


async def require_executor(ctx: ServerContext, signer: str, colonyname: str) -> Executor:
    """An approved executor of the colony (users cannot assign or close processes)."""
    member = await require_member(ctx, signer, colonyname)
    if not isinstance(member, Executor):
        raise denied("Access denied, the caller is not an executor")
    return member


def require_assigned(process: Process, signer: str) -> None:
    if not process.isassigned or process.assignedexecutorid != signer:
        raise denied(
            f"Access denied, process {process.processid} is not assigned to the calling executor"
        )
