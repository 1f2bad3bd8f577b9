"""Workflows: process graphs (spec §4.6, §6.5): submit, read, list, remove, cancel, add a child.

The graph's life (children released, failures spread, its state) is ``lifecycle``'s; these
handlers check who may ask and explain refusals. Where the Go server answers a bad request or a
missing graph with 500, these answer 400 or 404 with the same text.
"""

from __future__ import annotations

from typing import Any

from colonies.model import FunctionSpec, ProcessGraph, ProcessState, WorkflowSpec
from colonies.rpc import RPCError
from colonies.server import graphs, lifecycle
from colonies.server.auth import require_colony_owner, require_member
from colonies.server.context import ServerContext
from colonies.server.handlers import Msg, handles
from colonies.server.handlers.processes import initiator_name, listing_count
from colonies.server.specs import check_spec, new_process
from colonies.timeutil import now_ns


async def member_graph(ctx: ServerContext, msg: Msg, signer: str, verb: str) -> ProcessGraph:
    """The message's graph, after checking the signer is a member of its colony."""
    graph = await ctx.store.get_processgraph(msg.text("processgraphid"))
    if graph is None:
        raise RPCError(404, f"Failed to {verb} processgraph, graph is nil")
    await require_member(ctx, signer, graph.colonyname)
    return graph


@handles("submitworkflowspecmsg")
async def submit_workflow(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    if msg.raw.get("spec") is None:
        raise RPCError(400, "Failed to submit workflow, msg.WorkflowSpec is nil")
    spec = msg.obj("spec", WorkflowSpec)
    initiator = await require_member(ctx, signer, spec.colonyname)
    graph = await lifecycle.submit_workflow(
        ctx, spec, initiatorid=signer, initiatorname=initiator_name(initiator)
    )
    return graph.to_dict()


@handles("getprocessgraphmsg")
async def get_processgraph(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    graph = await member_graph(ctx, msg, signer, "get")
    processes = await ctx.store.graph_processes(graph.processgraphid)
    return graphs.draw(graph, processes).to_dict()


@handles("getprocessgraphsmsg")
async def get_processgraphs(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("colonyname")
    await require_member(ctx, signer, colonyname)
    state = msg.integer("state")
    if state not in ProcessState._value2member_map_:
        raise RPCError(400, "invalid msg.State")
    count = listing_count(msg)
    found = await ctx.store.get_processgraphs(colonyname, state, count)
    return [graph.to_dict() for graph in found]


@handles("removeprocessgraphmsg")
async def remove_processgraph(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    graph = await member_graph(ctx, msg, signer, "remove")
    if graph.state == ProcessState.RUNNING:
        raise RPCError(400, "Failed to remove processgraph, cannot remove a running processgraph")
    await ctx.store.remove_processgraph(graph.processgraphid)


@handles("removeallprocessgraphsmsg")
async def remove_all_processgraphs(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = msg.text("colonyname")
    await require_colony_owner(ctx, signer, colonyname)
    state = msg.integer("state")  # absent is 0 (WAITING), as Go decodes it; -1 means all
    if state == ProcessState.RUNNING:
        raise RPCError(400, "not possible to remove running processgraphs")
    if state not in (-1, 0, 2, 3, 4):
        raise RPCError(400, "invalid state when deleting all processgraphs")
    await ctx.store.remove_processgraphs(colonyname, state)


@handles("cancelprocessgraphmsg")
async def cancel_processgraph(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    graph = await member_graph(ctx, msg, signer, "cancel")
    if graph.state in graphs.FINAL:
        state = ProcessState(graph.state).name
        raise RPCError(400, f"Failed to cancel processgraph, processgraph is {state}")
    await lifecycle.cancel_graph(ctx, graph.processgraphid)


@handles("addchildmsg")
async def add_child(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    if msg.raw.get("spec") is None:
        raise RPCError(400, "Failed to add child to processgraph, msg.FunctionSpec is nil")
    spec = msg.obj("spec", FunctionSpec)
    parentid = msg.text("parentprocessid")
    if spec.conditions.colonyname:  # Go checks the spec's colony first
        initiator = await require_member(ctx, signer, spec.conditions.colonyname)
    parent = await ctx.store.get_process(parentid)
    if parent is None:
        raise RPCError(404, "Failed to get process, process not found")
    if not spec.conditions.colonyname:  # ours: the child goes to the parent's colony
        spec.conditions.colonyname = parent.spec.conditions.colonyname
        initiator = await require_member(ctx, signer, spec.conditions.colonyname)
    if parent.spec.conditions.colonyname != spec.conditions.colonyname:
        raise RPCError(
            400,
            f"Failed to add child to processgraph, the child must be in the parent's colony "
            f"<{parent.spec.conditions.colonyname}>",
        )
    if parent.state != ProcessState.RUNNING:
        raise RPCError(400, f"Process with Id {parentid} is not running")
    if parent.assignedexecutorid != signer:
        raise RPCError(  # Go: 400; refusing a caller is a 403 here, as for close and fail
            403, f"Process with Id {parentid} is not assigned to executor with Id {signer}"
        )
    if not parent.processgraphid:
        raise RPCError(400, f"Process with Id {parentid} does not belong to a processgraph")
    graphid = msg.text("processgraphid") or parent.processgraphid
    if graphid != parent.processgraphid:
        raise RPCError(
            400, f"Process with Id {parentid} does not belong to processgraph with Id {graphid}"
        )
    graph = await ctx.store.get_processgraph(graphid)
    if graph is None:
        raise RPCError(404, "Failed to add child to processgraph, graph is nil")
    insert = msg.flag("insert")
    childid = "" if insert else msg.text("childprocessid")
    if childid:
        below = await ctx.store.get_process(childid)
        if below is None or below.processgraphid != graphid:
            raise RPCError(
                400, f"Process with Id {childid} does not belong to processgraph with Id {graphid}"
            )
        if below.state != ProcessState.WAITING:
            state = ProcessState(below.state).name
            raise RPCError(400, f"Process with Id {childid} is {state}, not WAITING")
    cpu, memory = check_spec(spec)
    child = new_process(
        spec,
        initiatorid=signer,
        initiatorname=initiator_name(initiator),
        now=now_ns(),
        cpu=cpu,
        memory=memory,
        processgraphid=graphid,
    )
    added = await lifecycle.add_child(
        ctx, graph, parent, child, executorid=signer, childprocessid=childid, insert=insert
    )
    if added is None:
        raise RPCError(400, f"Process with Id {parentid} is not running")
    return added.to_dict()
