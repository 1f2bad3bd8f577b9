"""ColonyFS metadata and snapshots (spec §4.9): files, labels and snapshots of a colony.

The server keeps metadata only: a file revision's bytes are in an object store (S3, or a local
directory for ``colonies dev``) that clients write and read themselves; its ``ref`` says where.
Every message needs membership of its colony, and every lookup is within that colony, so no
colony can see or change another's files. Texts are the Go server's; where it answers 500 for
a missing object or a malformed request, these answer 404 / 400 (README, Differences).
"""

from __future__ import annotations

from typing import Any

from colonies.model import File, Snapshot
from colonies.rpc import RPCError
from colonies.server.auth import require_member
from colonies.server.context import ServerContext
from colonies.server.handlers import Msg, handles
from colonies.server.specs import random_id
from colonies.store.base import AlreadyExists
from colonies.timeutil import format_ns, now_ns


async def member_colony(ctx: ServerContext, msg: Msg, signer: str) -> str:
    colonyname = msg.text("colonyname")
    await require_member(ctx, signer, colonyname)
    return colonyname


# --- files -----------------------------------------------------------------------------------


@handles("addfilemsg")
async def add_file(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    if msg.raw.get("file") is None:
        raise RPCError(400, "Failed to add file, msg.File is nil")
    file = msg.obj("file", File)
    await require_member(ctx, signer, file.colonyname)
    if not file.name:
        raise RPCError(400, "Failed to add file, file name is empty")
    if not file.label:
        raise RPCError(400, "Failed to add file, file label is empty")
    if file.size < 0:
        raise RPCError(400, f"Failed to add file, invalid size {file.size}")
    file.fileid = random_id()
    file.added = format_ns(now_ns())
    return (await ctx.store.add_file(file)).to_dict()


@handles("getfilemsg")
async def get_file(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = await member_colony(ctx, msg, signer)
    fileid, label, name = msg.text("fileid"), msg.text("label"), msg.text("name")
    latest = msg.flag("latest")
    if fileid:
        file = await ctx.store.get_file(colonyname, fileid)
        files = [file] if file else []
    elif label and name:
        files = await ctx.store.get_files_by_name(colonyname, label, name, latest=latest)
    else:
        raise RPCError(400, "malformatted get file msg")
    if not files:
        raise RPCError(404, "Failed to get file")
    return [f.to_dict() for f in files]


@handles("getfilesmsg")
async def get_files(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = await member_colony(ctx, msg, signer)
    return [d.to_dict() for d in await ctx.store.get_file_data(colonyname, msg.text("label"))]


@handles("getfilelabelsmsg")
async def get_file_labels(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = await member_colony(ctx, msg, signer)
    labels = await ctx.store.get_file_labels(colonyname, msg.text("name"), exact=msg.flag("exact"))
    return [label.to_dict() for label in labels]


@handles("removefilemsg")
async def remove_file(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = await member_colony(ctx, msg, signer)
    fileid, label, name = msg.text("fileid"), msg.text("label"), msg.text("name")
    if fileid:
        await ctx.store.remove_file(colonyname, fileid)
    elif label and name:
        await ctx.store.remove_files_by_name(colonyname, label, name)
    else:
        raise RPCError(400, "malformatted remove file msg")
    return None


# --- snapshots -------------------------------------------------------------------------------


@handles("createsnapshotmsg")
async def create_snapshot(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = await member_colony(ctx, msg, signer)
    name = msg.text("name")
    if not name:
        raise RPCError(400, "Failed to create snapshot, snapshot name is empty")
    label = msg.text("label")
    if len(label) > 1 and label.endswith("/"):  # "/a/" names the label "/a"
        label = label[:-1]
    snapshot = Snapshot(
        snapshotid=random_id(),
        colonyname=colonyname,
        label=label,
        name=name,
        added=format_ns(now_ns()),
    )
    try:
        return (await ctx.store.create_snapshot(snapshot)).to_dict()
    except AlreadyExists as e:
        raise RPCError(400, str(e)) from None


@handles("getsnapshotmsg")
async def get_snapshot(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = await member_colony(ctx, msg, signer)
    snapshotid, name = msg.text("snapshotid"), msg.text("name")
    if snapshotid:
        snapshot = await ctx.store.get_snapshot(colonyname, snapshotid)
        what = f"Id <{snapshotid}>"
    elif name:
        snapshot = await ctx.store.get_snapshot_by_name(colonyname, name)
        what = f"name <{name}>"
    else:
        raise RPCError(400, "Failed to get snapshot, malformatted msg")
    if snapshot is None:
        raise RPCError(
            404, f"Snapshot not found with {what} in Colony <{colonyname}> does not exists"
        )
    return snapshot.to_dict()


@handles("getsnapshotsmsg")
async def get_snapshots(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = await member_colony(ctx, msg, signer)
    return [s.to_dict() for s in await ctx.store.get_snapshots(colonyname)]


@handles("removesnapshotmsg")
async def remove_snapshot(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = await member_colony(ctx, msg, signer)
    snapshotid, name = msg.text("snapshotid"), msg.text("name")
    if snapshotid:
        await ctx.store.remove_snapshot(colonyname, snapshotid)
    elif name:
        await ctx.store.remove_snapshot_by_name(colonyname, name)
    else:
        raise RPCError(400, "Failed to remove snapsnot, malformatted msg")
    return None


@handles("removeallsnapshotmsg")
async def remove_all_snapshots(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    colonyname = await member_colony(ctx, msg, signer)
    await ctx.store.remove_snapshots(colonyname)
    return None
