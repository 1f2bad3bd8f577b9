"""Channels (spec §4.10): append to and read a process's message log.

Who: an approved member of the process's colony that is the process's initiator or its
assigned executor. Refusals carry the Go server's texts; its 500s for the limits are the
statuses that say what happened here (413 too large, 429 rate limit, 409 full, 400 too many
channels: README, Differences). ``colonies.server.channels`` holds
what ``/pubsub`` subscriptions share with these, and where this differs from Go.
"""

from __future__ import annotations

from typing import Any

from colonies.model import ChannelEntry, Process, WireError
from colonies.rpc import RPCError
from colonies.server import channels
from colonies.server.auth import require_member
from colonies.server.context import ServerContext
from colonies.server.handlers import Msg, handles
from colonies.timeutil import now_ns


async def open_channel(ctx: ServerContext, msg: Msg, signer: str) -> tuple[Process, str]:
    """The process of a member's request and the channel's name, once both exist."""
    process = await ctx.store.get_process(msg.text("processid"))
    if process is None:
        raise RPCError(404, "Process not found")
    await require_member(ctx, signer, process.spec.conditions.colonyname)
    name = msg.text("name")
    channels.declared(process, name)
    return process, name


def payload_of(msg: Msg) -> bytes:
    """The payload as Go decodes a ``[]byte``: base64 text, or a list of byte values."""
    try:
        return ChannelEntry.from_dict({"payload": msg.raw.get("payload")}).payload
    except WireError:
        raise RPCError(400, "Failed to append to channel, invalid JSON") from None


@handles("channelappendmsg")
async def channel_append(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    entry = ChannelEntry(
        sequence=msg.integer("sequence"),
        inreplyto=msg.integer("inreplyto"),
        senderid=signer,
        payload=payload_of(msg),
        type=msg.text("payloadtype") or "data",
    )
    process, name = await open_channel(ctx, msg, signer)
    if process.state in channels.CLOSED_STATES:
        raise RPCError(404, "Channel not found")  # Go removed it when the process closed
    if len(entry.payload) > channels.MAX_MESSAGE_BYTES:
        raise RPCError(413, "message payload exceeds maximum size")
    if not channels.authorized(process, signer):
        raise RPCError(403, "Not authorized to write to channel")
    if not ctx.channels.allow(process.processid):
        raise RPCError(429, "rate limit exceeded")
    try:
        index = await ctx.store.append_channel_entry(
            process.processid, name, entry, now_ns(), channels.MAX_ENTRIES
        )
    except LookupError:  # closed or removed since it was read
        raise RPCError(404, "Channel not found") from None
    if index is None:
        raise RPCError(409, "channel log is full")
    ctx.signals.channel_appended(process.processid, name)
    return None


@handles("channelreadmsg")
async def channel_read(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    process, name = await open_channel(ctx, msg, signer)
    if not channels.authorized(process, signer):
        raise RPCError(403, "Not authorized to read from channel")
    entries = await ctx.store.read_channel(
        process.processid, name, msg.integer("afterseq"), msg.integer("limit")
    )
    return [entry.to_dict() for entry in entries]
