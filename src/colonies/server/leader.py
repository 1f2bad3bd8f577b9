"""Which replica runs the duties that must run once: deadline sweeps, stale-executor cleanup (and
the crons and generators to come).

A single server is always the leader. Replicas on PostgreSQL elect one with a session-level
advisory lock: whoever holds it leads; when the leader dies its connection closes, PostgreSQL
releases the lock, and the next replica to try (each tries every ``RETRY`` seconds) takes over.
No etcd, no extra port: the database the replicas share already orders them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import Any, Protocol

log = logging.getLogger("colonies.leader")

LOCK_KEY = 0x636F6C6F6E6C6472  # "colonldr"; not the store's migration lock ("colonies")
RETRY = 1.0  # seconds between attempts to take the lock, and between checks that it is held


class Leadership(Protocol):
    @property
    def is_leader(self) -> bool: ...
    async def start(self) -> None: ...
    async def close(self) -> None: ...


class AlwaysLeader:
    """A single server: nothing to elect."""

    is_leader = True

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class AdvisoryLockLeader:
    """Leads while it holds ``pg_advisory_lock(LOCK_KEY)`` on its own connection."""

    def __init__(self, conninfo: str, *, retry: float = RETRY) -> None:
        self.conninfo, self.retry = conninfo, retry
        # Operators see who leads: the holder of the lock in pg_locks, named in
        # pg_stat_activity.application_name.
        self.application_name = f"colonies leader {os.getpid()}@{socket.gethostname()}"[:63]
        self._leading = False
        self._task: asyncio.Task[None] | None = None

    @property
    def is_leader(self) -> bool:
        return self._leading

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._leading = False

    async def _run(self) -> None:
        import psycopg

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, application_name=self.application_name
                ) as conn:
                    await self._hold(conn)
            except (OSError, psycopg.Error) as e:
                if self._leading:
                    log.warning("lost leadership: %s", e)
                self._leading = False
            await asyncio.sleep(self.retry)

    async def _hold(self, conn: Any) -> None:
        """Try for the lock until it is ours, then check every period that the connection
        (and so the lock) still lives; an error ends leadership at once."""
        while True:
            if not self._leading:
                cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
                row = await cursor.fetchone()
                if row is not None and row[0]:
                    self._leading = True
                    log.info("this replica is the leader")
            else:
                await conn.execute("SELECT 1")
            await asyncio.sleep(self.retry)
