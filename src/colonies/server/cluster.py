"""What ``getclustermsg`` reports (spec §4.12): the replicas serving this store, and the leader.

The reply has the Go server's shape (``pkg/cluster/config.go``), so the Go CLI's ``cluster
info`` reads it, but it describes our replicas honestly. We run no etcd and no relay, so
``port`` (etcd client), ``peerport`` and ``relayport`` are 0.

- SQLite: one node, this server.
- PostgreSQL: one node per replica whose listening connection (``pgsignals``) is open, found in
  ``pg_stat_activity`` by its application name; the leader is the replica whose leader
  connection (``leader``) holds the advisory lock. A replica knows only its own API port; the
  others' are 0.
"""

from __future__ import annotations

import socket
from typing import Any

from colonies.model import Cluster
from colonies.model import ClusterNode as Node
from colonies.server.context import ServerContext
from colonies.server.leader import LOCK_KEY
from colonies.server.pgsignals import LISTENER_PREFIX, PostgresSignals

LEADER_PREFIX = "colonies leader "


def _host(configured: str) -> str:
    """The host a client would use: the listening address, or this machine's name when the
    server listens on every interface."""
    return configured if configured not in ("", "0.0.0.0", "::") else socket.gethostname()


def _where(application_name: str, prefix: str) -> str:
    """``<pid>@<host>`` of a replica's connection name (cut at 63 bytes, as PostgreSQL does)."""
    rest = application_name[len(prefix) :]
    return rest.split(" ", 1)[1] if prefix == LISTENER_PREFIX and " " in rest else rest


def _same_process(a: str, b: str) -> bool:
    """Two ``pid@host`` texts, either possibly cut short, name the same process."""
    return bool(a and b) and (a.startswith(b) or b.startswith(a))


def reply(nodes: list[Node], leader: Node | None) -> dict[str, Any]:
    return Cluster(nodes=nodes, leader=leader or Node()).to_dict()


async def cluster(ctx: ServerContext) -> dict[str, Any]:
    signals = ctx.signals
    if not isinstance(signals, PostgresSignals):
        me = Node(name=socket.gethostname(), host=_host(ctx.config.host), apiport=ctx.config.port)
        return reply([me], me)
    return await _replicas(ctx, signals)


async def _replicas(ctx: ServerContext, signals: PostgresSignals) -> dict[str, Any]:
    import psycopg

    own_name = signals.listener_name[len(LISTENER_PREFIX) :]
    me = Node(name=own_name, host=_host(ctx.config.host), apiport=ctx.config.port)
    async with await psycopg.AsyncConnection.connect(
        signals.conninfo, autocommit=True, application_name="colonies cluster info"
    ) as conn:
        cursor = await conn.execute(
            "SELECT application_name FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name LIKE %s ORDER BY backend_start",
            (LISTENER_PREFIX + "%",),
        )
        listeners = [str(row[0]) for row in await cursor.fetchall()]
        cursor = await conn.execute(
            "SELECT a.application_name FROM pg_locks AS l JOIN pg_stat_activity AS a"
            " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.objsubid = 1",
            (LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF),
        )
        row = await cursor.fetchone()
        leader_where = _where(str(row[0]), LEADER_PREFIX) if row else ""
    nodes: list[Node] = []
    leader: Node | None = None
    for name in listeners:
        if name == signals.listener_name:
            node = me
        else:
            where = _where(name, LISTENER_PREFIX)
            host = where.split("@", 1)[1] if "@" in where else ""
            node = Node(name=name[len(LISTENER_PREFIX) :], host=host)
        nodes.append(node)
        if _same_process(_where(name, LISTENER_PREFIX), leader_where):
            leader = node
    if me not in nodes:  # our listening connection is down right now: we still serve
        nodes.insert(0, me)
    if ctx.leader.is_leader:
        leader = me
    return reply(nodes, leader)
