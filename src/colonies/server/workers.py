"""Several server processes on one port (``colonies server start --workers N``).

One Python process runs one event loop on one core; a second core needs a second process. Each
worker is a whole server (its own loop, store connections and long-polls) on the same
PostgreSQL, which already carries what replicas must share: a submit on one worker wakes a
long-poll on another through LISTEN/NOTIFY (``store.signals``). SQLite has no such channel, so
workers need PostgreSQL.

The supervisor binds one ``SO_REUSEPORT`` socket per worker, so the kernel spreads new
connections evenly over them (one shared listening socket wakes every worker on each connection
and lets the busiest accept most), and so a port already taken is reported here, once. It
starts each worker with its socket, restarts one that dies, and on SIGINT/SIGTERM stops them
all (each drains its long-polls) and returns.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from types import FrameType

from starlette.routing import BaseRoute

from colonies.server.context import ServerConfig
from colonies.server.runner import TLSFiles, serve

log = logging.getLogger("colonies.server")

STOP_GRACE = 10.0  # s a worker gets to drain after SIGTERM before it is killed
RESTART_PAUSE = 1.0  # s between restarts of a worker that keeps dying


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket others may bind to the same address (``SO_REUSEPORT``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_worker(
    sock: socket.socket,
    url: str,
    config: ServerConfig,
    web: Callable[[], list[BaseRoute]] | None,
    log_level: str,
    log_format: str,
    tls: TLSFiles | None,
) -> None:
    """One worker: a server on PostgreSQL ``url`` serving ``sock`` until SIGTERM.

    It leaves the terminal's process group, so that Ctrl-C reaches only the supervisor, which
    then stops each worker once (a second signal would make uvicorn skip draining), and it
    stops by itself if the supervisor dies (it would otherwise go on holding the port).
    """
    os.setpgrp()
    supervisor = os.getppid()
    threading.Thread(target=_stop_when_orphaned, args=(supervisor,), daemon=True).start()
    from colonies.store.postgres import PostgresStore

    store = PostgresStore(url)
    routes = web() if web is not None else None
    serve(
        store,
        config,
        web=routes,
        log_level=log_level,
        log_format=log_format,
        tls=tls,
        sockets=[sock],
    )


def _stop_when_orphaned(supervisor: int) -> None:
    while os.getppid() == supervisor:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def serve_workers(
    count: int,
    url: str,
    config: ServerConfig,
    *,
    web: Callable[[], list[BaseRoute]] | None = None,
    log_level: str = "warning",
    log_format: str = "text",
    tls: TLSFiles | None = None,
) -> int:
    """Run ``count`` workers on ``config.host:config.port`` until SIGINT/SIGTERM; the exit
    status (0 when every worker stopped cleanly). ``web`` makes extra routes in each worker."""
    sockets = [reuseport_socket(config.host, config.port) for _ in range(count)]
    spawn = multiprocessing.get_context("spawn")  # no fork: the parent's state stays its own
    stopping = False

    def start(sock: socket.socket) -> BaseProcess:
        args = (sock, url, config, web, log_level, log_format, tls)
        worker = spawn.Process(target=run_worker, args=args, name="colonies-worker", daemon=False)
        worker.start()
        return worker

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    workers = [start(sock) for sock in sockets]
    try:
        while not stopping:
            time.sleep(0.2)
            for i, worker in enumerate(workers):
                if worker.exitcode is not None and not stopping:
                    log.error(
                        "worker %d exited with %s: restarting it", worker.pid, worker.exitcode
                    )
                    time.sleep(RESTART_PAUSE)
                    workers[i] = start(sockets[i])
    finally:
        for worker in workers:
            if worker.exitcode is None and worker.pid is not None:
                worker.terminate()  # SIGTERM: uvicorn drains, the store closes
        deadline = time.monotonic() + STOP_GRACE
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
            if worker.exitcode is None:
                worker.kill()
                worker.join()
        for sock in sockets:
            sock.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    # -SIGTERM: a worker still starting when the stop came (before uvicorn took the signal).
    return 0 if all(w.exitcode in (0, -signal.SIGTERM) for w in workers) else 1
