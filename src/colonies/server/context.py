"""What every handler works with: the store, the configuration, signals, this replica's memory."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field

from colonies.model import Colony, Executor, Process, ProcessState
from colonies.server.cache import TTLCache
from colonies.server.channels import ChannelHub
from colonies.server.dispatcher import Dispatcher, Wake
from colonies.server.events import ProcessEvents
from colonies.server.leader import AlwaysLeader, Leadership
from colonies.server.metrics import ServerMetrics
from colonies.server.signals import LocalSignals, Signals
from colonies.store.base import Store
from colonies.timeutil import now_ns

CACHE_TTL = 1.0  # a bound on staleness should a membership signal from a replica be lost
ALIVE_INTERVAL = 1.0  # lastheardfromtime is written at most this often per executor


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    try:
        return float(value) if value else default
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None


def _env_int(name: str, default: int) -> int:
    number = _env_number(name, default)
    if number != int(number):
        raise ValueError(f"{name} must be a whole number, got {number}")
    return int(number)


@dataclass
class ServerConfig:
    """Server settings; ``from_env`` reads the ``COLONIES_*`` variables the Go server reads."""

    server_id: str = ""
    host: str = "0.0.0.0"
    port: int = 50080
    allow_executor_reregister: bool = False
    # Request sizes (docs/security.md): data messages (submit, output, close, logs, attributes)
    # up to max_body_bytes, records (executors, functions, users...) up to max_record_bytes,
    # control messages up to max_control_bytes. From offload_bytes on, a request is verified and
    # decoded in a worker thread, one such request at a time.
    max_body_bytes: int = 16 * 1024 * 1024
    max_record_bytes: int = 256 * 1024
    max_control_bytes: int = 8 * 1024
    offload_bytes: int = 256 * 1024
    sweep_interval: float = 1.0
    # Executors not heard from for this long (seconds) are soft-removed by the sweeper and their
    # RUNNING processes re-queued (Go's COLONIES_STALE_EXECUTOR_DURATION); <= 0 disables it.
    stale_executor_duration: float = 600.0
    build_version: str = "dev"
    build_time: str = ""
    # Ceilings on the WebSockets (/pubsub, /rpc); docs/security.md lists their variables.
    max_subscriptions_per_socket: int = 64
    max_subscriptions_per_key: int = 1024
    max_rpc_in_flight_per_socket: int = 64
    max_rpc_in_flight_per_key: int = 256
    max_bad_frames_per_socket: int = 100

    @classmethod
    def from_env(cls) -> ServerConfig:
        port = os.environ.get("COLONIES_SERVER_HTTP_PORT") or os.environ.get(
            "COLONIES_SERVER_PORT", "50080"
        )
        return cls(
            server_id=os.environ.get("COLONIES_SERVER_ID", ""),
            port=int(port),
            allow_executor_reregister=_env_flag("COLONIES_ALLOW_EXECUTOR_REREGISTER"),
            max_body_bytes=_env_int("COLONIES_MAX_BODY_BYTES", cls.max_body_bytes),
            max_record_bytes=_env_int("COLONIES_MAX_RECORD_BYTES", cls.max_record_bytes),
            max_control_bytes=_env_int("COLONIES_MAX_CONTROL_BYTES", cls.max_control_bytes),
            offload_bytes=_env_int("COLONIES_OFFLOAD_BYTES", cls.offload_bytes),
            stale_executor_duration=_env_number(
                "COLONIES_STALE_EXECUTOR_DURATION", cls.stale_executor_duration
            ),
            build_version=os.environ.get("BUILD_VERSION", "dev"),
            build_time=os.environ.get("BUILD_TIME", ""),
            max_subscriptions_per_socket=_env_int(
                "COLONIES_MAX_SUBSCRIPTIONS_PER_SOCKET", cls.max_subscriptions_per_socket
            ),
            max_subscriptions_per_key=_env_int(
                "COLONIES_MAX_SUBSCRIPTIONS_PER_KEY", cls.max_subscriptions_per_key
            ),
            max_rpc_in_flight_per_socket=_env_int(
                "COLONIES_MAX_RPC_IN_FLIGHT_PER_SOCKET", cls.max_rpc_in_flight_per_socket
            ),
            max_rpc_in_flight_per_key=_env_int(
                "COLONIES_MAX_RPC_IN_FLIGHT_PER_KEY", cls.max_rpc_in_flight_per_key
            ),
            max_bad_frames_per_socket=_env_int(
                "COLONIES_MAX_BAD_FRAMES_PER_SOCKET", cls.max_bad_frames_per_socket
            ),
        )


@dataclass
class ServerContext:
    """One replica's state: the shared store, its signals, and what lives in its memory
    (long-poll waiters, subscriptions, cached records). Implements ``signals.Replica``."""

    store: Store
    config: ServerConfig
    signals: Signals = field(init=False)
    leader: Leadership = field(default_factory=AlwaysLeader)
    dispatcher: Dispatcher = field(default_factory=Dispatcher)
    events: ProcessEvents = field(default_factory=ProcessEvents)
    channels: ChannelHub = field(default_factory=ChannelHub)  # channels (spec §4.10)
    resumed: dict[str, asyncio.Event] = field(default_factory=dict)
    offloaded: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    colonies: TTLCache[str, Colony | None] = field(default_factory=lambda: TTLCache(CACHE_TTL))
    executors: TTLCache[tuple[str, str], Executor | None] = field(
        default_factory=lambda: TTLCache(CACHE_TTL)
    )
    paused: TTLCache[str, bool] = field(default_factory=lambda: TTLCache(CACHE_TTL))
    last_alive: dict[tuple[str, str, bool], float] = field(default_factory=dict)
    # (colony, executor name, funcname) -> [(wait s, run s)], written by the sweeper
    function_runs: dict[tuple[str, str, str], list[tuple[float, float]]] = field(
        default_factory=dict
    )

    metrics: ServerMetrics = field(init=False)
    draining: bool = False  # set by drain() when the server begins to stop

    def __post_init__(self) -> None:
        self.signals = LocalSignals(self)
        self.metrics = ServerMetrics(self.config.port)

    async def server_id(self) -> str:
        return await self.store.get_server_id()

    async def colony(self, name: str) -> Colony | None:
        return await self.colonies.get(name, lambda: self.store.get_colony(name))

    async def executor(self, colonyname: str, executorid: str) -> Executor | None:
        """The colony's executor record of an ID (cached: every request's signer is looked up).

        Always per colony: another colony may register the same (public) ID, and that must not
        change who is a member here.
        """
        return await self.executors.get(
            (colonyname, executorid), lambda: self.store.get_executor_by_id(colonyname, executorid)
        )

    async def is_paused(self, colonyname: str) -> bool:
        return await self.paused.get(colonyname, lambda: self.store.is_paused(colonyname))

    @property
    def alive_interval(self) -> float:
        """How often an executor's lastheardfromtime is written (while it is heard from)."""
        stale = self.config.stale_executor_duration
        return min(ALIVE_INTERVAL, stale / 4) if stale > 0 else ALIVE_INTERVAL

    async def mark_alive(self, colonyname: str, executorid: str, *, serving: bool = True) -> None:
        """Record that an executor was heard from: it polled or reported (``serving``), or made
        another call as a member, which only refreshes an executor that has polled before (an
        executor key used only as a client is never taken for a stale worker, as in Go)."""
        now = time.monotonic()
        key = (colonyname, executorid, serving)
        if now - self.last_alive.get(key, 0.0) >= self.alive_interval:
            if len(self.last_alive) >= 10_000:
                self.last_alive.clear()
            self.last_alive[key] = now
            await self.store.mark_alive(colonyname, executorid, now_ns(), refresh=not serving)

    def drain(self) -> None:
        """The server is stopping: long-polls end now (no process for them), not at their
        timeout, so that a shutdown takes milliseconds and cancels nothing."""
        self.draining = True
        self.dispatcher.wake_all()
        for event in self.resumed.values():
            event.set()

    def resume_event(self, colonyname: str) -> asyncio.Event:
        return self.resumed.setdefault(colonyname, asyncio.Event())

    # --- signals.Replica: what a signal does in this process

    def on_process(self, process: Process) -> None:
        if process.state == ProcessState.WAITING and not process.waitforparents:
            self.on_wake(Wake.of(process))
        self.on_event(process)

    def on_wake(self, wake: Wake) -> None:
        self.dispatcher.signal(wake)

    def on_event(self, process: Process) -> None:
        self.events.publish(process)

    def wants(self, processid: str, colonyname: str, executortype: str, state: int) -> bool:
        return self.events.wants(processid, colonyname, executortype, state)

    def on_membership(self) -> None:
        self.colonies.clear()
        self.executors.clear()
        self.paused.clear()

    def on_pause(self, colonyname: str, paused: bool) -> None:
        self.paused.clear()
        event = self.resume_event(colonyname)
        if paused:
            event.clear()
        else:
            event.set()

    def on_channel(self, processid: str, name: str | None) -> None:
        self.channels.wake(processid, name)

    def on_lost_signals(self) -> None:
        self.on_membership()
        self.channels.wake_all()
        self.dispatcher.wake_all()
        for event in self.resumed.values():
            event.set()  # held assigners look at the pause flag again
