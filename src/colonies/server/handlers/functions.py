"""Functions, attributes and logs (spec §4.7)."""

from __future__ import annotations

from typing import Any

from colonies.model import Attribute, Function, Log, ProcessState
from colonies.rpc import RPCError
from colonies.server.auth import require_member
from colonies.server.context import ServerContext
from colonies.server.handlers import Msg, handles
from colonies.server.handlers.processes import (
    assigned_process,
    attribute_id,
    random_id,
)
from colonies.timeutil import NS, now_ns

MAX_LOG_COUNT = 500
MAX_SEARCH_COUNT = 100
MAX_DAYS = 30


@handles("addfunctionmsg")
async def add_function(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    function = msg.obj("fun", Function)
    await require_member(ctx, signer, function.colonyname)
    executor = await ctx.store.get_executor(function.colonyname, function.executorname)
    if executor is None or executor.executorid != signer:
        raise RPCError(403, "Not allowed to add a function to another executor")
    if not function.funcname:
        raise RPCError(400, "Invalid function: funcname must be set")
    function.functionid = function.functionid or random_id()
    function.locationname = executor.locationname
    await ctx.store.add_function(function)
    return function.to_dict()


@handles("getfunctionsmsg")
async def get_functions(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("colonyname")
    await require_member(ctx, signer, colonyname)
    functions = await ctx.store.get_functions(colonyname, msg.text("executorname"))
    return [f.to_dict() for f in functions]


@handles("removefunctionmsg")
async def remove_function(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    function = await ctx.store.get_function(msg.text("functionid"))
    if function is None:
        raise RPCError(404, "Failed to remove function, function does not exist")
    await require_member(ctx, signer, function.colonyname)
    executor = await ctx.store.get_executor(function.colonyname, function.executorname)
    if executor is None or executor.executorid != signer:
        raise RPCError(403, "Access denied, a function can only be removed by its own executor")
    await ctx.store.remove_function(function.functionid)


@handles("addattributemsg")
async def add_attribute(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    attribute = msg.obj("attribute", Attribute)
    msg.raw["processid"] = attribute.targetid
    process = await assigned_process(ctx, msg, signer)
    if process.state != ProcessState.RUNNING:
        raise RPCError(403, "Failed to add attribute, process is not running")
    attribute.attributeid = attribute_id(attribute.targetid, attribute.key, attribute.attributetype)
    attribute.targetcolonyname = process.spec.conditions.colonyname
    attribute.targetprocessgraphid = process.processgraphid
    await ctx.store.add_attribute(attribute)
    return attribute.to_dict()


@handles("getattributemsg")
async def get_attribute(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    attribute = await ctx.store.get_attribute(msg.text("attributeid"))
    if attribute is None:
        raise RPCError(404, "Failed to get attribute, attribute not found")
    await require_member(ctx, signer, attribute.targetcolonyname)
    return attribute.to_dict()


@handles("addlogmsg")
async def add_log(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    process = await assigned_process(ctx, msg, signer)
    if process.state != ProcessState.RUNNING:
        raise RPCError(403, "Failed to add log, process is not running")
    executor = await ctx.executor(process.spec.conditions.colonyname, signer)
    await ctx.store.add_log(
        Log(
            processid=process.processid,
            colonyname=process.spec.conditions.colonyname,
            executorname=executor.executorname if executor else "",
            message=msg.text("message"),
            timestamp=now_ns(),
        )
    )


@handles("addexecutorlogmsg")
async def add_executor_log(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname, name = msg.text("colonyname"), msg.text("executorname")
    await require_member(ctx, signer, colonyname)
    executor = await ctx.store.get_executor(colonyname, name)
    if executor is None or executor.executorid != signer:
        raise RPCError(403, "Access denied, an executor can only log as itself")
    await ctx.store.add_log(
        Log(
            colonyname=colonyname,
            executorname=name,
            message=msg.text("message"),
            timestamp=now_ns(),
        )
    )


@handles("getlogsmsg")
async def get_logs(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    count = msg.integer("count")
    if not 0 <= count <= MAX_LOG_COUNT:
        raise RPCError(400, f"Invalid count {count}, must be 0-{MAX_LOG_COUNT}")
    colonyname, processid = msg.text("colonyname"), msg.text("processid")
    executorname = msg.text("executorname")
    if executorname:
        await require_member(ctx, signer, colonyname)
        if await ctx.store.get_executor(colonyname, executorname) is None:
            raise RPCError(404, "Failed to get logs, executor does not exist")
    else:
        process = await ctx.store.get_process(processid)
        if process is None:
            raise RPCError(404, "Failed to get logs, process does not exist")
        colonyname = process.spec.conditions.colonyname
        await require_member(ctx, signer, colonyname)
    logs = await ctx.store.get_logs(
        colonyname,
        processid="" if executorname else processid,
        executorname=executorname,
        count=count,
        since=msg.integer("since"),
        latest=msg.flag("latest"),
    )
    return [log.to_dict() for log in logs]


@handles("searchlogsmsg")
async def search_logs(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("colonyname")
    await require_member(ctx, signer, colonyname)
    count, days = msg.integer("count"), msg.integer("days")
    if not 0 <= count <= MAX_SEARCH_COUNT or not 0 <= days <= MAX_DAYS:
        raise RPCError(
            400, f"Invalid search: count must be 0-{MAX_SEARCH_COUNT}, days 0-{MAX_DAYS}"
        )
    since = now_ns() - days * 86_400 * NS
    logs = await ctx.store.search_logs(colonyname, msg.text("text"), since, count)
    return [log.to_dict() for log in logs]
