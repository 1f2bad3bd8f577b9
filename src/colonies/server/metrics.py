"""Prometheus metrics of one server replica (``GET /metrics``, the official client's text format).

Requests, their latency, open long-polls and WebSockets are counted here as they happen, per
replica (each replica is scraped on its own). The colony-wide numbers (colonies, executors,
processes and workflows by state) carry the Go monitor's names and meanings
(``colonies_server_*``) and are read from the store when scraped, so every replica reports the
same values for them.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from colonies import __version__

if TYPE_CHECKING:
    from colonies.server.context import ServerContext

CONTENT_TYPE = CONTENT_TYPE_LATEST
# From a cached read (~0.1 ms) to a long-poll's full wait.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120)
# The Go monitor's gauges (pkg/monitoring; namespace "colonies"): name, help, Statistics field.
# ``colonies monitor start`` serves the same ones from a remote server's statistics.
GO_MONITOR_GAUGES = (
    ("server_colonies", "Number of colonies", "colonies"),
    ("server_executors", "Number of executors", "executors"),
    ("server_processes_waiting", "Number of waiting processes", "waitingprocesses"),
    ("server_processes_running", "Number of running processes", "runningprocesses"),
    ("server_processes_successful", "Number of successful processes", "successfulprocesses"),
    ("server_processes_failed", "Number of failed processes", "failedprocesses"),
    ("server_workflows_waiting", "Number of waiting workflows", "waitingworkflows"),
    ("server_workflows_running", "Number of running workflows", "runningworkflows"),
    ("server_workflows_successful", "Number of successful workflows", "successfulworkflows"),
    ("server_workflows_failed", "Number of failed workflows", "failedworkflows"),
)


class ServerMetrics:
    """One replica's registry; ``render`` refreshes the store-read gauges and encodes all."""

    def __init__(self, port: int) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "colonies_requests",
            "RPC requests answered, by message type and HTTP status",
            ["msgtype", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "colonies_request_duration_seconds",
            "Time from a verified request to its reply, by message type",
            ["msgtype"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.longpolls = Gauge(
            "colonies_longpolls_open", "Assign long-polls waiting for a process", registry=r
        )
        self.websockets = Gauge(
            "colonies_websockets_open", "Open WebSockets, by endpoint", ["endpoint"], registry=r
        )
        self.waiting_queue = Gauge(
            "colonies_queue_waiting", "Processes waiting to be assigned (all colonies)", registry=r
        )
        self.leader = Gauge(
            "colonies_replica_leader", "1 on the replica that runs timers and crons", registry=r
        )
        self.info = Gauge(
            "colonies_replica_info", "This replica", ["replica", "version"], registry=r
        )
        self.info.labels(f"{socket.gethostname()}:{port}", __version__).set(1)
        self.go = {
            field: Gauge(name, documentation, subsystem="colonies", registry=r)
            for name, documentation, field in GO_MONITOR_GAUGES
        }
        for endpoint in ("pubsub", "rpc"):
            self.websockets.labels(endpoint)

    def observe(self, msgtype: str, status: int, seconds: float) -> None:
        """Count one answered request that took ``seconds`` from verification to reply."""
        self.requests.labels(msgtype, str(status)).inc()
        self.latency.labels(msgtype).observe(seconds)

    def refused(self, status: int) -> None:
        """Count a request refused before its type could be trusted (bad envelope, signature)."""
        self.requests.labels("", str(status)).inc()

    async def render(self, ctx: ServerContext) -> bytes:
        from colonies.server.handlers.colonies import statistics

        stats = await statistics(ctx, None)
        for field, gauge in self.go.items():
            gauge.set(getattr(stats, field))
        self.waiting_queue.set(stats.waitingprocesses)
        self.leader.set(1 if ctx.leader.is_leader else 0)
        return generate_latest(self.registry)
