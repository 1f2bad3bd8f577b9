"""``GET /metrics``: Prometheus text, parsed with the official client's parser."""

from __future__ import annotations

import contextlib
import threading
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from colonies.client import Client
from colonies.errors import NoProcessAvailable
from colonies.model import Conditions, FunctionSpec
from conftest import LiveServer, add_executor


def scrape(live: LiveServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    reply = httpx.get(live.url + "/metrics", timeout=10)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_latency_and_the_go_monitors_gauges(live: LiveServer) -> None:
    key = add_executor(live, "worker", "py")
    spec = FunctionSpec(
        funcname="add", conditions=Conditions(colonyname=live.colonyname, executortype="py")
    )
    with Client(live.url, key.prvkey) as client:
        for _ in range(3):
            client.submit(spec)
        process = client.assign(live.colonyname, timeout=5)
        client.close(process.processid, [1])
        httpx.post(live.url + "/api", content=b"{}", timeout=10)  # refused before its type is known

    samples = scrape(live)
    assert value(samples, "colonies_requests_total", msgtype="submitfuncspecmsg", status="200") == 3
    assert value(samples, "colonies_requests_total", msgtype="assignprocessmsg", status="200") == 1
    assert value(samples, "colonies_requests_total", msgtype="", status="400") == 1
    count = value(samples, "colonies_request_duration_seconds_count", msgtype="submitfuncspecmsg")
    assert count == 3
    assert value(samples, "colonies_server_colonies") == 1
    assert value(samples, "colonies_server_executors") == 1
    assert value(samples, "colonies_server_processes_waiting") == 2
    assert value(samples, "colonies_server_processes_successful") == 1
    assert value(samples, "colonies_queue_waiting") == 2
    assert value(samples, "colonies_replica_leader") == 1


def test_open_long_polls_and_websockets_are_gauged(live: LiveServer) -> None:
    key = add_executor(live, "worker", "py")

    def long_poll() -> None:
        # nothing to assign: it times out, which is the point
        with Client(live.url, key.prvkey) as client, contextlib.suppress(NoProcessAvailable):
            client.assign(live.colonyname, timeout=3)

    poller = threading.Thread(target=long_poll)
    poller.start()
    with connect(live.url.replace("http", "ws") + "/pubsub", open_timeout=10):
        deadline = time.monotonic() + 5
        while True:
            samples = scrape(live)
            if value(samples, "colonies_longpolls_open") == 1:
                break
            assert time.monotonic() < deadline, "the long-poll was never counted"
            time.sleep(0.05)
        assert value(samples, "colonies_websockets_open", endpoint="pubsub") == 1
        assert value(samples, "colonies_websockets_open", endpoint="rpc") == 0
    poller.join(10)
    deadline = time.monotonic() + 5
    while value(scrape(live), "colonies_websockets_open", endpoint="pubsub") != 0:
        assert time.monotonic() < deadline, "the closed socket was never uncounted"
        time.sleep(0.05)
    assert value(scrape(live), "colonies_longpolls_open") == 0
