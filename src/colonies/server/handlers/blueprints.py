"""Blueprints and blueprint definitions (spec §4.11): the twelve messages.

Who may: definitions are added and removed by the colony owner; everything else by a member
or the colony owner, except status reports and ``reconcileblueprintmsg`` (members only). Texts
and statuses are the Go server's. Unlike Go, a blueprint's definition is always looked up in
the blueprint's own colony (Go's remove and reconcile look a kind up in any colony), a
duplicate definition is a 409 (Go: a 500 with the SQL error) and a definition needs a name and
a kind. The reconciliation itself is ``colonies.server.blueprints``.
"""

from __future__ import annotations

from typing import Any

from colonies.model import Blueprint, BlueprintDefinition
from colonies.rpc import RPCError
from colonies.server import blueprints
from colonies.server.auth import require_colony_owner, require_member
from colonies.server.context import ServerContext
from colonies.server.handlers import Msg, handles
from colonies.server.specs import random_id
from colonies.store.base import AlreadyExists


async def member_or_owner(ctx: ServerContext, signer: str, colonyname: str) -> None:
    """A member of the colony, or else its owner (whose refusal is the one reported)."""
    try:
        await require_member(ctx, signer, colonyname)
    except RPCError:
        await require_colony_owner(ctx, signer, colonyname)


def _blueprint(msg: Msg, verb: str) -> Blueprint:
    if msg.raw.get("blueprint") is None:
        raise RPCError(400, f"Failed to {verb} blueprint, blueprint is nil")
    blueprint = msg.obj("blueprint", Blueprint)
    blueprints.check_times(blueprint)
    blueprint.spec = blueprints.go_numbers(blueprint.spec)
    blueprint.status = blueprints.go_numbers(blueprint.status)
    return blueprint


async def _existing(ctx: ServerContext, colonyname: str, name: str) -> Blueprint:
    blueprint = await ctx.store.get_blueprint(colonyname, name)
    if blueprint is None:
        raise RPCError(404, "Blueprint not found")
    return blueprint


# --- definitions


@handles("addblueprintdefinitionmsg")
async def add_definition(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    if msg.raw.get("blueprintdefinition") is None:
        raise RPCError(400, "Failed to add blueprint definition, blueprint definition is nil")
    definition = msg.obj("blueprintdefinition", BlueprintDefinition)
    await require_colony_owner(ctx, signer, definition.metadata.colonyname)
    if not definition.metadata.name:
        raise RPCError(400, "metadata.name is required")
    if not definition.spec.names.kind:
        raise RPCError(400, "spec.names.kind is required")
    if not definition.blueprintdefinitionid:
        definition.blueprintdefinitionid = random_id()
    try:
        await ctx.store.add_blueprint_definition(definition)
    except AlreadyExists as e:
        raise RPCError(409, str(e)) from None
    return definition.to_dict()


@handles("getblueprintdefinitionmsg")
async def get_definition(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("colonyname")
    await member_or_owner(ctx, signer, colonyname)
    definition = await ctx.store.get_blueprint_definition(colonyname, msg.text("name"))
    if definition is None:
        raise RPCError(404, "Blueprint definition not found")
    return definition.to_dict()


@handles("getblueprintdefinitionsmsg")
async def get_definitions(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("colonyname")
    await member_or_owner(ctx, signer, colonyname)
    return [d.to_dict() for d in await ctx.store.get_blueprint_definitions(colonyname)]


@handles("removeblueprintdefinitionmsg")
async def remove_definition(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname, name = msg.text("namespace"), msg.text("name")
    await require_colony_owner(ctx, signer, colonyname)
    definition = await ctx.store.get_blueprint_definition(colonyname, name)
    if definition is None:
        raise RPCError(404, f"BlueprintDefinition '{name}' not found in namespace '{colonyname}'")
    kind = definition.spec.names.kind
    left = await ctx.store.get_blueprints(colonyname, kind)
    if left:
        raise RPCError(
            409,
            f"cannot remove BlueprintDefinition '{name}': {len(left)} blueprint(s) of kind "
            f"'{kind}' still exist",
        )
    await ctx.store.remove_blueprint_definition(colonyname, name)


# --- blueprints


@handles("addblueprintmsg")
async def add_blueprint(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    blueprint = _blueprint(msg, "add")
    meta = blueprint.metadata
    await member_or_owner(ctx, signer, meta.colonyname)
    if not meta.name:
        raise RPCError(400, "metadata.name is required")
    if blueprint.blueprintid:
        if await ctx.store.get_blueprint_by_id(blueprint.blueprintid) is not None:
            raise RPCError(409, f"blueprint with ID '{blueprint.blueprintid}' already exists")
    else:
        blueprint.blueprintid = random_id()
    definition = (
        await ctx.store.get_blueprint_definition_by_kind(meta.colonyname, blueprint.kind)
        if blueprint.kind
        else None
    )
    blueprints.check_blueprint(blueprint, definition)
    assert definition is not None
    if await ctx.store.get_blueprint(meta.colonyname, meta.name) is not None:
        raise RPCError(
            409, f"blueprint with name '{meta.name}' already exists in colony '{meta.colonyname}'"
        )
    await blueprints.ensure_location(ctx, blueprint)
    try:
        await ctx.store.add_blueprint(blueprint, blueprints.history(blueprint, signer, "create"))
    except AlreadyExists as e:
        raise RPCError(409, str(e)) from None
    handler = definition.spec.handler
    if handler.executortype and handler.functionname:
        name = await blueprints.initiator(ctx, meta.colonyname, signer) or ""
        await blueprints.ensure_cron(ctx, blueprint, definition, signer, name)
        await blueprints.submit(ctx, blueprints.reconcile_spec(blueprint, definition), signer, name)
    return blueprint.to_dict()


@handles("getblueprintmsg")
async def get_blueprint(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("namespace")
    await member_or_owner(ctx, signer, colonyname)
    return (await _existing(ctx, colonyname, msg.text("name"))).to_dict()


@handles("getblueprintsmsg")
async def get_blueprints(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("namespace")
    await member_or_owner(ctx, signer, colonyname)
    found = await ctx.store.get_blueprints(colonyname, msg.text("kind"), msg.text("locationname"))
    return [b.to_dict() for b in found]


@handles("updateblueprintmsg")
async def update_blueprint(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    blueprint = _blueprint(msg, "update")
    force = msg.flag("forcegeneration")
    meta = blueprint.metadata
    await member_or_owner(ctx, signer, meta.colonyname)
    old = await ctx.store.get_blueprint(meta.colonyname, meta.name)
    if old is None:
        raise RPCError(404, f"blueprint '{meta.name}' not found in namespace '{meta.colonyname}'")
    definition = (
        await ctx.store.get_blueprint_definition_by_kind(meta.colonyname, blueprint.kind)
        if blueprint.kind
        else None
    )
    blueprints.check_blueprint(blueprint, definition)
    assert definition is not None
    blueprint.blueprintid = old.blueprintid
    changed = force or not blueprints.same_spec(old.spec, blueprint.spec)
    meta.generation = old.metadata.generation + 1 if changed else old.metadata.generation
    entry = blueprints.history(blueprint, signer, "update") if changed else None
    if not await ctx.store.update_blueprint(blueprint, entry):
        raise RPCError(404, f"blueprint '{meta.name}' not found in namespace '{meta.colonyname}'")
    if changed:
        name = await blueprints.initiator(ctx, meta.colonyname, signer)
        handler = definition.spec.handler
        if name is not None and handler.executortype and handler.functionname:
            spec = blueprints.reconcile_spec(blueprint, definition)
            await blueprints.submit(ctx, spec, signer, name)
    return blueprint.to_dict()


@handles("removeblueprintmsg")
async def remove_blueprint(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("namespace")
    await member_or_owner(ctx, signer, colonyname)
    blueprint = await _existing(ctx, colonyname, msg.text("name"))
    await ctx.store.remove_blueprint(colonyname, blueprint.metadata.name)
    await blueprints.drop_cron(ctx, blueprint)
    definition = await ctx.store.get_blueprint_definition_by_kind(colonyname, blueprint.kind)
    if definition is not None and definition.spec.handler.executortype:
        name = await blueprints.initiator(ctx, colonyname, signer) or ""
        await blueprints.submit(ctx, blueprints.cleanup_spec(blueprint, definition), signer, name)


@handles("getblueprinthistorymsg")
async def get_history(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    limit = msg.integer("limit")
    blueprint = await ctx.store.get_blueprint_by_id(msg.text("blueprintid"))
    if blueprint is None:
        raise RPCError(404, "Blueprint not found")
    await member_or_owner(ctx, signer, blueprint.metadata.colonyname)
    entries = await ctx.store.get_blueprint_history(blueprint.blueprintid, limit)
    return [entry.to_dict() for entry in entries]


@handles("updateblueprintstatusmsg")
async def update_status(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("colonyname")
    status = msg.raw.get("status")
    if status is not None and not isinstance(status, dict):
        raise RPCError(400, "Failed to parse message: field status must be an object")
    await require_member(ctx, signer, colonyname)
    blueprint = await _existing(ctx, colonyname, msg.text("blueprintname"))
    status = blueprints.go_numbers(status or {})
    if not await ctx.store.update_blueprint_status(blueprint.blueprintid, status):
        raise RPCError(404, "Blueprint not found")


@handles("reconcileblueprintmsg")
async def reconcile(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname, force = msg.text("namespace"), msg.flag("force")
    await require_member(ctx, signer, colonyname)
    blueprint = await _existing(ctx, colonyname, msg.text("name"))
    definition = await ctx.store.get_blueprint_definition_by_kind(colonyname, blueprint.kind)
    if definition is None or not definition.spec.handler.executortype:
        raise RPCError(400, "Blueprint has no handler with executor type defined")
    if not definition.spec.handler.functionname:
        raise RPCError(400, "Blueprint has no handler with function name defined")
    if force:
        blueprint.metadata.generation += 1
        if not await ctx.store.update_blueprint(blueprint):
            raise RPCError(404, "Blueprint not found")
    name = await blueprints.initiator(ctx, colonyname, signer) or ""
    spec = blueprints.reconcile_spec(blueprint, definition, force=force)
    return (await blueprints.submit(ctx, spec, signer, name)).to_dict()
