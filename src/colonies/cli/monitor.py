"""``colonies monitor start``: the server's statistics as Prometheus metrics.

Like the Go CLI's monitor, it polls ``getstatisticsmsg`` (server owner's key,
``COLONIES_SERVER_PRVKEY``) every ``COLONIES_MONITOR_INTERVAL`` seconds and serves the counts on
``COLONIES_MONITOR_PORT`` (``/metrics``) as gauges with the Go monitor's names
(``colonies_server_colonies``, ``colonies_server_processes_waiting``, ...). A gauge reads -1
while the statistics cannot be fetched, as in Go.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Annotated

import typer
from prometheus_client import CollectorRegistry, Gauge, ProcessCollector, start_http_server

from colonies.cli.context import SERVER_OWNER, Host, Port, ServerPrvKey, server_url
from colonies.cli.output import done, err, fail
from colonies.client import Client
from colonies.errors import ColoniesError
from colonies.model import Statistics
from colonies.server.metrics import GO_MONITOR_GAUGES

app = typer.Typer(help="Prometheus monitoring of a server.", no_args_is_help=True)

PORT_ENV, INTERVAL_ENV = "COLONIES_MONITOR_PORT", "COLONIES_MONITOR_INTERVAL"


class Monitor:
    """The last statistics fetched, exposed through a registry of gauges."""

    def __init__(self) -> None:
        self.statistics: Statistics | None = None
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # process_* metrics, as Go's default registry
        for name, documentation, attr in GO_MONITOR_GAUGES:
            gauge = Gauge(name, documentation, subsystem="colonies", registry=self.registry)
            gauge.set_function(partial(self.value, attr))

    def value(self, attr: str) -> float:
        statistics = self.statistics
        return -1.0 if statistics is None else float(getattr(statistics, attr))

    def poll(self, client: Client) -> None:
        """Fetch the statistics once; a failure leaves every gauge at -1 until the next poll."""
        try:
            self.statistics = client.statistics()
        except ColoniesError as e:
            self.statistics = None
            err.print(f"Failed to fetch the server's statistics: {e}", markup=False)


@app.command()
def start(
    monitorport: Annotated[
        int | None,
        typer.Option(
            "--monitorport", envvar=PORT_ENV, help="Port to serve /metrics on.", show_default=False
        ),
    ] = None,
    interval: Annotated[
        int | None,
        typer.Option(
            "--interval",
            envvar=INTERVAL_ENV,
            help="Seconds between statistics polls.",
            show_default=False,
        ),
    ] = None,
    host: Host = None,
    port: Port = None,
    serverprvkey: ServerPrvKey = None,
) -> None:
    """Serve the server's statistics to Prometheus until stopped (server key)."""
    if monitorport is None:
        fail(f"no monitor port: set {PORT_ENV} or pass --monitorport")
    if interval is None:
        fail(f"no poll interval: set {INTERVAL_ENV} or pass --interval")
    if not 0 < monitorport < 65536:
        fail(f"invalid monitor port {monitorport}: must be 1-65535")
    if interval <= 0:
        fail(f"invalid poll interval {interval}: must be at least 1 second")
    if not serverprvkey:
        fail(f"no {SERVER_OWNER.owner} key: set {SERVER_OWNER.envvar} or pass {SERVER_OWNER.flag}")
    url = server_url(host, port)
    monitor = Monitor()
    with Client(url, serverprvkey) as client:
        monitor.poll(client)
        try:
            server, thread = start_http_server(monitorport, registry=monitor.registry)
        except OSError as e:
            fail(f"cannot serve metrics on port {monitorport}: {e}")
        done(
            f"Prometheus metrics on port {monitorport} (/metrics), polling {url} every {interval} s"
        )
        try:
            while True:
                time.sleep(interval)
                monitor.poll(client)
        except KeyboardInterrupt:
            done("Monitor stopped")
        finally:
            server.shutdown()
            thread.join(5)
