"""What every handler works with: the store, the server's identity and the in-memory signals."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field

from colonies.model import Process, ProcessState
from colonies.server.dispatcher import Dispatcher, Wake
from colonies.server.events import ProcessEvents
from colonies.store.base import Store


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


@dataclass
class ServerConfig:
    """Server settings; ``from_env`` reads the ``COLONIES_*`` variables the Go server reads."""

    server_id: str = ""
    host: str = "0.0.0.0"
    port: int = 50080
    allow_executor_reregister: bool = False
    max_body_bytes: int = 16 * 1024 * 1024
    sweep_interval: float = 1.0
    build_version: str = "dev"
    build_time: str = ""

    @classmethod
    def from_env(cls) -> ServerConfig:
        port = os.environ.get("COLONIES_SERVER_HTTP_PORT") or os.environ.get(
            "COLONIES_SERVER_PORT", "50080"
        )
        return cls(
            server_id=os.environ.get("COLONIES_SERVER_ID", ""),
            port=int(port),
            allow_executor_reregister=_env_flag("COLONIES_ALLOW_EXECUTOR_REREGISTER"),
            build_version=os.environ.get("BUILD_VERSION", "dev"),
            build_time=os.environ.get("BUILD_TIME", ""),
        )


@dataclass
class ServerContext:
    store: Store
    config: ServerConfig
    dispatcher: Dispatcher = field(default_factory=Dispatcher)
    events: ProcessEvents = field(default_factory=ProcessEvents)
    resumed: dict[str, asyncio.Event] = field(default_factory=dict)

    async def server_id(self) -> str:
        return await self.store.get_server_id()

    def process_changed(self, process: Process) -> None:
        """Tell subscribers, and wake one assigner when a process (re)enters the queue."""
        if process.state == ProcessState.WAITING and not process.waitforparents:
            cond = process.spec.conditions
            names = tuple(n for n in cond.executornames if n != "*")
            self.dispatcher.signal(
                Wake(cond.colonyname, cond.executortype, names, cond.locationname)
            )
        self.events.publish(process)

    def resume_event(self, colonyname: str) -> asyncio.Event:
        return self.resumed.setdefault(colonyname, asyncio.Event())
