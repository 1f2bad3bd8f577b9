"""Scale-out (issue 9): our server on PostgreSQL next to the Go reference server, replicas
against one, and dispatch across replicas (executor long-polls on B, submit on A)."""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

from bench.common import (
    HOST,
    Keys,
    Meter,
    PostgresCpu,
    Result,
    Run,
    Server,
    ServerProcess,
    clients,
    colonies_server,
    cpu_seconds,
    latency_result,
    log,
    new_executors,
    plural,
    register_executors,
    summarize,
)
from bench.latency import dispatch_samples
from bench.throughput import drain, drain_row, verdict

GOSERVER = Path(os.environ.get("COLONIES_GOSERVER", "/work/shared/reference/goserver"))
GO_EXECUTORS = (10, 50)  # the K of the Go comparison (issue 5's and 9's drain goals)
GO_RATIO_GOAL = 3.0  # ours on PostgreSQL, one replica, vs Go, processes/s
DISPATCH_GOAL_MS = (2.0, 5.0)  # cross-replica dispatch p50, p99
SCALE_GOAL = 1.0  # 2 replicas on 2 cores vs 1: no slower
GO_START_TIMEOUT = 120.0


# --- the Go reference ---------------------------------------------------------------------


class ExternalProcess(ServerProcess):
    """A server some other tool started (``goserver``): known by PID and port only."""

    def __init__(self, name: str, pid: int, port: int, log_path: Path) -> None:
        super().__init__(name, [], port, log_path)
        self._pid = pid

    @property
    def pid(self) -> int:
        return self._pid

    def stop(self) -> None:  # goserver stops it
        pass


class ClusterCpu:
    """CPU seconds of every process of a private PostgreSQL cluster: the postmaster (from
    ``postmaster.pid``) and its children (backends, WAL writer, checkpointer, ...)."""

    def __init__(self, postmaster: int) -> None:
        self.postmaster = postmaster
        self._seen: dict[int, float] = {}

    def pids(self) -> list[int]:
        found = [self.postmaster]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                text = stat.read_text()
                if int(text[text.rindex(")") + 2 :].split()[1]) == self.postmaster:
                    found.append(int(stat.parent.name))
        return found

    def sample(self) -> float:
        for pid in self.pids():
            with contextlib.suppress(OSError, ValueError):
                self._seen[pid] = cpu_seconds(pid)
        return sum(self._seen.values())


def read_env(path: Path) -> dict[str, str]:
    """``export NAME=VALUE`` lines of goserver's ``STATEDIR/env``."""
    env = {}
    for line in path.read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            name, _, value = line[len("export ") :].partition("=")
            env[name] = shlex.split(value)[0] if value else ""
    return env


@contextlib.asynccontextmanager
async def go_server(run: Run, name: str) -> AsyncIterator[tuple[Server, ClusterCpu]]:
    """``goserver start`` (the Go server on its own PostgreSQL), as a ``Server`` of ours: its
    server and colony keys, colony ``dev`` (made by goserver) and a fresh approved member."""
    state = run.fresh_dir(name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    started = time.perf_counter()
    with (state / "goserver.log").open("wb") as errors:
        proc = subprocess.run(
            [str(GOSERVER), "start", "--dir", str(state)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
            timeout=GO_START_TIMEOUT,
        )
    try:
        if proc.returncode != 0:
            tail = (state / "goserver.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"goserver start failed ({proc.returncode}):\n{tail}")
        seconds = time.perf_counter() - started
        values = read_env(state / "env")
        pgdata = Path((state / "pgdata").read_text().strip())
        # postmaster.pid: PID, data dir, start time, port, ...
        pm_lines = (pgdata / "postmaster.pid").read_text().splitlines()
        postmaster, pg_port = int(pm_lines[0]), int(pm_lines[3])
        port = int(values["COLONIES_SERVER_PORT"])
        pid = int((state / "server.pid").read_text().strip())
        keys = Keys(
            server=values["COLONIES_SERVER_PRVKEY"], colony=values["COLONIES_COLONY_PRVKEY"]
        )
        process = ExternalProcess("go", pid, port, state / "server.log")
        # the Go server keeps its tables in the cluster's ``postgres`` database
        pg = PostgresCpu(f"postgresql://postgres@{HOST}:{pg_port}/postgres", "postgres")
        server = Server([process], keys, seconds, pg)
        await register_executors(server, [keys.member], "member", ["member"])
        yield server, ClusterCpu(postmaster)
    finally:
        args = [str(GOSERVER), "stop", "--dir", str(state)] + ([] if run.keep else ["--rm"])
        subprocess.run(args, env=env, capture_output=True, timeout=60)


class ClusterMeter(Meter):
    """A ``Meter`` that also takes the whole private cluster's CPU (``cluster_cpu`` after)."""

    def __init__(self, server: Server, cluster: ClusterCpu) -> None:
        super().__init__(server.pids, server.pg)
        self.cluster = cluster
        self.cluster_cpu = 0.0

    def __enter__(self) -> ClusterMeter:
        self._cluster_start = self.cluster.sample()
        return super().__enter__()

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)  # type: ignore[arg-type]
        self.cluster_cpu = self.cluster.sample() - self._cluster_start


async def go(run: Run) -> list[Result]:
    """The drain load (K = 10 and 50, submit -> assign -> close, our AsyncClient on /api) on
    our server (the run's store and replicas) and on the Go reference, and the ratio."""
    if not os.access(GOSERVER, os.X_OK):
        log(f"[yellow]go: the reference server is absent ({GOSERVER}); skipped[/]")
        return []
    count = run.sizes.e2e_processes
    rows: list[Result] = []
    for k in GO_EXECUTORS:
        async with colonies_server(run, name=f"go-ours-{k}") as server:
            ours = await drain(server, k, count, run.sizes.warmup)
        rows.append(drain_row(f"drain vs Go: ours ({run.describe()})", server, k, count, ours))
        async with go_server(run, f"go-ref-{k}") as (go_ref, cluster):
            meter = ClusterMeter(go_ref, cluster)
            theirs = await drain(go_ref, k, count, run.sizes.warmup, meter)
        row = drain_row("drain vs Go: Go reference (PostgreSQL)", go_ref, k, count, theirs)
        row.notes = (
            f"{theirs.notes()}; {theirs.per_process_ms(count)} (backends; the whole cluster "
            f"{meter.cluster_cpu / count * 1000:.2f} ms)"
        )
        row.data["pg_cluster_cpu_ms_per_process"] = meter.cluster_cpu / count * 1000
        rows.append(row)
        ratio = (count / ours.wall) / (count / theirs.wall)
        goal = run.store == "postgres" and run.replicas == 1
        rows.append(
            Result(
                "drain vs Go: ratio ours / Go",
                f"K = {plural(k, 'executor')}, {run.describe()}",
                ratio,
                "x",
                f"goal ≥ {GO_RATIO_GOAL:g}x on PostgreSQL with 1 replica: "
                + (verdict(ratio >= GO_RATIO_GOAL) if goal else "n/a (other setup)"),
                data={"executors": k, "ours": count / ours.wall, "go": count / theirs.wall},
            )
        )
    return rows


# --- replicas -----------------------------------------------------------------------------


async def scale(run: Run) -> list[Result]:
    """The drain load (K = 10, 50) on PostgreSQL with 1 server process, then with N of them
    (``--replicas``, 2 unless more are asked for) on the same machine: as N replicas on their
    own ports (clients round-robin) and as one server with ``--workers N`` (one port, the
    kernel spreads the connections); each ratio N / 1."""
    count = run.sizes.e2e_processes
    n = max(2, run.replicas)
    rows: list[Result] = []
    setups = {"1 process": (1, 1), f"{n} replicas": (n, 1), f"--workers {n}": (1, n)}
    for k in GO_EXECUTORS:
        rates = {}
        for setup, (replicas, workers) in setups.items():
            async with colonies_server(
                run,
                name=f"scale-{k}-{replicas}-{workers}",
                store="postgres",
                replicas=replicas,
                workers=workers,
            ) as server:
                window = await drain(server, k, count, run.sizes.warmup)
            rates[setup] = count / window.wall
            row = drain_row(f"scale-out: drain on PostgreSQL, {setup}", server, k, count, window)
            rows.append(row)
        for setup in list(setups)[1:]:
            ratio = rates[setup] / rates["1 process"]
            rows.append(
                Result(
                    f"scale-out: {setup} / 1 process",
                    f"K = {plural(k, 'executor')}, {os.cpu_count()} cores",
                    ratio,
                    "x",
                    f"goal ≥ {SCALE_GOAL:g}x (no slower): {verdict(ratio >= SCALE_GOAL * 0.97)}"
                    " (within 3% counts as equal)",
                    data={"executors": k, "processes": n, "rates": rates},
                )
            )
    return rows


async def xdispatch(run: Run) -> list[Result]:
    """Idle executors long-poll on replica B; one process at a time is submitted on replica A
    (PostgreSQL, ``--replicas`` or 2); for comparison the same with the submit on B."""
    count = run.sizes.dispatch_samples
    replicas = max(2, run.replicas)
    xrun = replace(run, store="postgres", replicas=replicas)
    rows: list[Result] = []
    for k in (1, 10):
        async with colonies_server(xrun, name=f"xdispatch-{k}") as server:
            keys = await new_executors(server, k, "dispatch")
            a, b = server.urls[0], server.urls[1]
            async with (
                clients(a, [server.keys.member]) as [on_a],
                clients(b, [server.keys.member]) as [on_b],
                clients(b, keys) as executors,
            ):
                await dispatch_samples(on_a, executors, min(run.sizes.warmup, 50))
                log(f"xdispatch: {count} samples, {k} executors on B, submit on A")
                with server.meter() as meter:
                    across, across_sent = await dispatch_samples(on_a, executors, count)
                log(f"xdispatch: {count} samples, submit on B (same replica)")
                same, _ = await dispatch_samples(on_b, executors, count)
        stats, sent, local = summarize(across), summarize(across_sent), summarize(same)
        p50_goal, p99_goal = DISPATCH_GOAL_MS
        met = stats["p50"] <= p50_goal and stats["p99"] <= p99_goal
        rows.append(
            latency_result(
                "cross-replica dispatch (submit on A returned → assign on B returned)",
                f"{plural(k, 'idle executor')} long-polling on B, {count} samples, "
                f"{replicas} replicas on PostgreSQL",
                across,
                f"goal p50 ≤ {p50_goal:g} / p99 ≤ {p99_goal:g} ms: {verdict(met)}; "
                f"from submit sent p50 {sent['p50']:.2f} / p99 {sent['p99']:.2f} ms; "
                f"same replica (submit on B) p50 {local['p50']:.2f} / p99 {local['p99']:.2f} ms"
                f"; {meter.window.notes()}",
                from_send_ms=sent,
                same_replica_ms=local,
                executors=k,
                **meter.window.data(),
            )
        )
    return rows
