"""Users and locations (spec §4.4): colony members without executors, and executor sites."""

from __future__ import annotations

from typing import Any

from colonies.model import Location, User
from colonies.rpc import RPCError
from colonies.server.auth import require_colony_owner, require_member
from colonies.server.context import ServerContext
from colonies.server.handlers import Msg, handles
from colonies.server.handlers.colonies import valid_id
from colonies.store.base import AlreadyExists


@handles("addusermsg")
async def add_user(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    user = msg.obj("user", User)
    await require_colony_owner(ctx, signer, user.colonyname)
    valid_id(user.userid, "user id")
    if not user.name:
        raise RPCError(400, "Invalid user name: must not be empty")
    try:
        await ctx.store.add_user(user)
    except AlreadyExists:
        raise RPCError(
            400,
            f"A user with name <{user.name}> already exists in Colony with name "
            f"<{user.colonyname}>",
        ) from None
    return user.to_dict()


@handles("getusersmsg")
async def get_users(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("colonyname")
    await require_member(ctx, signer, colonyname, approved=False)
    return [u.to_dict() for u in await ctx.store.get_users(colonyname)]


@handles("getusermsg")
async def get_user(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname, name = msg.text("colonyname"), msg.text("name")
    await require_member(ctx, signer, colonyname, approved=False)
    user = await ctx.store.get_user(colonyname, name)
    if user is None:
        raise RPCError(404, f"Failed to get user, user with name {name} not found")
    return user.to_dict()


@handles("getuserbyidmsg")
async def get_user_by_id(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname, userid = msg.text("colonyname"), msg.text("userid")
    await require_member(ctx, signer, colonyname, approved=False)
    user = await ctx.store.get_user_by_id(colonyname, userid)
    if user is None:
        raise RPCError(404, f"Failed to get user, user with id {userid} not found")
    return user.to_dict()


@handles("removeusermsg")
async def remove_user(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname, name = msg.text("colonyname"), msg.text("name")
    await require_colony_owner(ctx, signer, colonyname)
    if await ctx.store.get_user(colonyname, name) is None:
        raise RPCError(404, f"User with name <{name}> not found")
    await ctx.store.remove_user(colonyname, name)


@handles("addlocationmsg")
async def add_location(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    location = msg.obj("location", Location)
    await require_colony_owner(ctx, signer, location.colonyname)
    if not location.name:
        raise RPCError(400, "Invalid location name: must not be empty")
    try:
        await ctx.store.add_location(location)
    except AlreadyExists as e:
        raise RPCError(400, str(e)) from None
    return location.to_dict()


@handles("getlocationsmsg")
async def get_locations(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("colonyname")
    await require_member(ctx, signer, colonyname, approved=False)
    return [loc.to_dict() for loc in await ctx.store.get_locations(colonyname)]


@handles("getlocationmsg")
async def get_location(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname, name = msg.text("colonyname"), msg.text("name")
    await require_member(ctx, signer, colonyname, approved=False)
    location = await ctx.store.get_location(colonyname, name)
    if location is None:
        raise RPCError(404, f"Failed to get location, location with name {name} not found")
    return location.to_dict()


@handles("removelocationmsg")
async def remove_location(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname, name = msg.text("colonyname"), msg.text("name")
    await require_colony_owner(ctx, signer, colonyname)
    await ctx.store.remove_location(colonyname, name)
