"""Server-level messages (spec §4.12): version, server info, statistics, cluster."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from colonies import __version__
from colonies.model import Backend, ServerInfo
from colonies.server.auth import require_server_owner
from colonies.server.cluster import cluster
from colonies.server.context import ServerContext
from colonies.server.handlers import Msg, handles
from colonies.server.handlers.colonies import statistics


@handles("versionmsg")
async def version(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    return {
        "buildversion": ctx.config.build_version or __version__,
        "buildtime": ctx.config.build_time,
        "msgtype": "versionmsg",
    }


@handles("getserverinfomsg")
async def server_info(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    build_time = ctx.config.build_time or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    info = ServerInfo(
        buildversion=ctx.config.build_version,
        buildtime=build_time,
        backends=[Backend(type="http", host=ctx.config.host, port=ctx.config.port)],
    )
    return info.to_dict()


@handles("getstatisticsmsg")
async def get_statistics(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    await require_server_owner(ctx, signer)
    return (await statistics(ctx, None)).to_dict()


# --- cluster (spec §4.12) ---


@handles("getclustermsg")
async def get_cluster(ctx: ServerContext, msg: Msg, signer: str) -> Any:
    await require_server_owner(ctx, signer)
    return await cluster(ctx)
