"""``colonies monitor start``: run it against a live server, scrape /metrics like Prometheus."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from colonies import crypto
from colonies.client import Client
from colonies.model import Conditions, FunctionSpec
from colonies.server.metrics import GO_MONITOR_GAUGES
from conftest import CLI, LiveServer, add_executor, assert_error, free_port
from polling import until

# The Go monitor's metric names (pkg/monitoring: subsystem "colonies").
GO_NAMES = {
    "colonies_server_colonies",
    "colonies_server_executors",
    "colonies_server_processes_waiting",
    "colonies_server_processes_running",
    "colonies_server_processes_successful",
    "colonies_server_processes_failed",
    "colonies_server_workflows_waiting",
    "colonies_server_workflows_running",
    "colonies_server_workflows_successful",
    "colonies_server_workflows_failed",
}

Scrape = Callable[[], dict[str, float]]


def monitor(live: LiveServer, serverkey: str, port: int | None = None) -> Iterator[Scrape]:
    """``colonies monitor start`` as a user runs it (its own process); yields a scraper."""
    monitorport = free_port()
    env = {
        **os.environ,
        "COLONIES_SERVER_HOST": live.host,
        "COLONIES_SERVER_PORT": str(port or live.port),
        "COLONIES_TLS": "false",
        "COLONIES_SERVER_PRVKEY": serverkey,
        "COLONIES_MONITOR_PORT": str(monitorport),
        "COLONIES_MONITOR_INTERVAL": "1",
    }
    env.pop("COLONIES_SERVER_HTTP_PORT", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "colonies.cli", "monitor", "start"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{monitorport}/metrics"

    def scrape() -> dict[str, float]:
        text = httpx.get(url, timeout=5).text
        return {
            sample.name: sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def serving() -> bool:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            scrape()
        except httpx.TransportError:
            return False
        return True

    try:
        until(serving, 20, "the monitor to serve /metrics")
        yield scrape
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


@pytest.fixture
def scrape(live: LiveServer) -> Iterator[Scrape]:
    yield from monitor(live, live.server.prvkey)


def test_metrics_follow_the_server(live: LiveServer, scrape: Scrape) -> None:
    metrics = scrape()
    served = {name for name, _, _ in GO_MONITOR_GAUGES}
    assert served == {n.removeprefix("colonies_") for n in GO_NAMES}
    assert set(metrics) >= GO_NAMES
    assert any(name.startswith("process_") for name in metrics)  # as Go's default registry
    until(lambda: scrape()["colonies_server_colonies"] == 1, what="the first poll")
    assert scrape()["colonies_server_processes_waiting"] == 0

    worker = add_executor(live, "worker", "py")
    spec = FunctionSpec(funcname="f", conditions=Conditions(colonyname="dev", executortype="py"))
    with Client(live.url, worker.prvkey) as client:
        first = client.submit(spec)
        client.submit(spec)
        until(lambda: scrape()["colonies_server_processes_waiting"] == 2, what="2 waiting")
        assert scrape()["colonies_server_executors"] == 1
        client.assign("dev", 5)
        until(lambda: scrape()["colonies_server_processes_running"] == 1, what="1 running")
        client.close(first.processid)
        until(lambda: scrape()["colonies_server_processes_successful"] == 1, what="1 successful")
        metrics = scrape()
    assert metrics["colonies_server_processes_waiting"] == 1
    assert metrics["colonies_server_processes_running"] == 0
    assert metrics["colonies_server_processes_failed"] == 0


def test_gauges_read_minus_one_without_statistics(live: LiveServer) -> None:
    """A key that is not the server's (or a server that is down) gives -1, like Go's monitor."""
    for scrape in monitor(live, crypto.generate_private_key()):
        metrics = scrape()
        assert {metrics[name] for name in GO_NAMES} == {-1.0}
    for scrape in monitor(live, live.server.prvkey, port=free_port()):
        assert scrape()["colonies_server_colonies"] == -1.0


def test_settings_are_checked(cli: CLI) -> None:
    assert_error(cli("monitor", "start", COLONIES_MONITOR_INTERVAL="1"), "COLONIES_MONITOR_PORT")
    assert_error(cli("monitor", "start", COLONIES_MONITOR_PORT="9100"), "COLONIES_MONITOR_INTERVAL")
    env = {"COLONIES_MONITOR_PORT": "9100", "COLONIES_MONITOR_INTERVAL": "1"}
    assert_error(cli("monitor", "start", COLONIES_SERVER_PRVKEY=None, **env), "server owner key")
    assert_error(cli("monitor", "start", "--interval", "0", **env), "poll interval")
    assert_error(cli("monitor", "start", "--monitorport", "70000", **env), "monitor port")
