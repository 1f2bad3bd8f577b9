"""Signals across replicas on PostgreSQL ``LISTEN``/``NOTIFY``: no relay, no extra port.

Each replica applies its own signals at once (as ``LocalSignals``) and sends them to the others
on channel ``colonies``. Notes are sent after the store committed, batched: whatever the event
loop queued while the previous batch was on its way goes in the next one, several notes per
notification (PostgreSQL allows 8000 bytes a payload) and every notification of a batch in one
round trip. A receiving replica skips its own notes (``origin``).

A process note carries what a long-poll wake-up needs (colony, executor type, names, location,
cpu, memory) and, when it fits, the process itself for ``/pubsub`` subscribers; a process too
large to carry is read from the store, and only if a subscriber here wants it. A channel note
names the process and channel that got entries; subscribers read those from the store.

Lost notes: while the listening connection is down, anything may have been missed, so after
reconnecting the replica wakes every waiter and drops its caches (``Replica.on_lost_signals``).
A replica whose sending connection fails keeps its notes and retries; if its outbox overflows it
drops them and tells the others they lost signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from typing import Any

from colonies.model import Process, ProcessState
from colonies.server.dispatcher import Wake
from colonies.server.signals import LocalSignals, Replica
from colonies.store.base import Store

log = logging.getLogger("colonies.signals")

CHANNEL = "colonies"
MAX_PAYLOAD = 7900  # bytes; PostgreSQL refuses a payload of 8000 or more
OUTBOX_LIMIT = 100_000  # notes kept while PostgreSQL is unreachable
RETRY = 0.5  # seconds between reconnection attempts
PEERS_CHECK = 2.0  # seconds between counts of the other replicas' listening connections
HELLO_TIMEOUT = 2.0  # seconds a starting replica waits for the others to know it
LISTENER_PREFIX = "colonies listen "
START_TIMEOUT = 10.0  # seconds to wait for the listening connection at start


class PostgresSignals(LocalSignals):
    def __init__(self, replica: Replica, store: Store, conninfo: str) -> None:
        super().__init__(replica)
        self.store, self.conninfo = store, conninfo
        self.origin = uuid.uuid4().hex[:16]
        # Connection names in pg_stat_activity (at most 63 bytes): operators see the replicas,
        # and each replica counts the others by their listening connections.
        where = f"{self.origin[:6]} {os.getpid()}@{socket.gethostname()}"
        self.listener_name = f"{LISTENER_PREFIX}{where}"[:63]
        self.sender_name = f"colonies notify {where}"[:63]
        self.peers = 0  # other replicas listening; while there are none, nothing is sent
        self._acks: set[str] = set()
        self._acked = asyncio.Event()
        self._expected_acks = 0
        self.listening = asyncio.Event()
        self._outbox: list[dict[str, Any]] = []
        self._overflowed = False
        self._pending = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # --- sending

    def process_changed(self, process: Process) -> None:
        super().process_changed(process)
        if not self.peers:
            return
        cond = process.spec.conditions
        note: dict[str, Any] = {
            "k": "p",
            "i": process.processid,
            "s": process.state,
            "c": cond.colonyname,
            "t": cond.executortype,
            "p": process,
        }
        if process.state == ProcessState.WAITING and not process.waitforparents:
            wake = Wake.of(process)
            note["w"] = [list(wake.executornames), wake.locationname, wake.cpu, wake.memory]
        self._queue(note)

    def membership_changed(self) -> None:
        super().membership_changed()
        self._queue({"k": "m"})

    def pause_changed(self, colonyname: str, paused: bool) -> None:
        super().pause_changed(colonyname, paused)
        self._queue({"k": "z", "c": colonyname, "z": paused})

    def channel_appended(self, processid: str, name: str) -> None:
        super().channel_appended(processid, name)
        # A name too long for a notification wakes every channel of the process instead.
        self._queue({"k": "c", "i": processid, "n": name if len(name) <= 1024 else None})

    def _queue(self, note: dict[str, Any]) -> None:
        if not self.peers:
            return  # nobody to tell: a replica that starts later asks the store, then hears
        if len(self._outbox) >= OUTBOX_LIMIT:
            self._outbox.clear()
            self._overflowed = True
        self._outbox.append(note)
        self._pending.set()

    def _payloads(self, notes: list[dict[str, Any]]) -> list[str]:
        """Pack notes into as few payloads as fit, in order. Notes are ASCII JSON (``_encode``
        escapes the rest), so a length in characters is the length in bytes."""
        payloads: list[str] = []
        batch: list[str] = []
        size = 0
        for note in notes:
            encoded = _encode(note)
            if len(encoded) > MAX_PAYLOAD - 64:
                note = {k: v for k, v in note.items() if k != "p"}  # the receiver reads it
                encoded = _encode(note)
            if batch and size + len(encoded) + 64 > MAX_PAYLOAD:
                payloads.append(self._envelope(batch))
                batch, size = [], 0
            batch.append(encoded)
            size += len(encoded) + 1
        if batch:
            payloads.append(self._envelope(batch))
        return payloads

    def _envelope(self, encoded_notes: list[str]) -> str:
        return f'{{"o":"{self.origin}","n":[{",".join(encoded_notes)}]}}'

    async def _send_forever(self) -> None:
        import psycopg

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, application_name=self.sender_name
                ) as conn:
                    if self._overflowed:
                        self._overflowed = False
                        self._outbox.insert(0, {"k": "l"})
                    checked = 0.0
                    while True:
                        if not self._outbox:
                            self._pending.clear()
                            with contextlib.suppress(TimeoutError):
                                await asyncio.wait_for(self._pending.wait(), PEERS_CHECK)
                        if time.monotonic() - checked >= PEERS_CHECK:
                            self.peers = await self._count_peers(conn)
                            checked = time.monotonic()
                        if not self._outbox:
                            continue
                        notes, self._outbox = self._outbox, []
                        try:
                            # One round trip per batch; the payloads travel as one JSON text
                            # (a text[] parameter costs psycopg a regex escape per element).
                            await conn.execute(
                                "SELECT pg_notify(%s, p) FROM json_array_elements_text(%s::json) p",
                                (CHANNEL, json.dumps(self._payloads(notes))),
                            )
                        except BaseException:
                            self._outbox[:0] = notes  # sent again once reconnected
                            raise
            except (OSError, psycopg.Error) as e:
                log.warning("cannot send signals to other replicas (retrying): %s", e)
            await asyncio.sleep(RETRY)

    async def _count_peers(self, conn: Any) -> int:
        cursor = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name LIKE %s AND application_name <> %s",
            (LISTENER_PREFIX + "%", self.listener_name),
        )
        row = await cursor.fetchone()
        return int(row[0]) if row else 0

    # --- receiving

    async def _listen_forever(self) -> None:
        import psycopg

        missed = False
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, application_name=self.listener_name
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.peers = await self._count_peers(conn)
                    self.listening.set()
                    if missed:
                        self.replica.on_lost_signals()
                    async for notify in conn.notifies():
                        self._receive(notify.payload)
            except (OSError, psycopg.Error) as e:
                log.warning("not hearing other replicas (reconnecting): %s", e)
            self.listening.clear()
            missed = True
            await asyncio.sleep(RETRY)

    def _receive(self, payload: str) -> None:
        try:
            message = json.loads(payload)
            if message["o"] == self.origin:
                return
            self.peers = max(self.peers, 1)
            for note in message["n"]:
                if note["k"] in ("h", "a"):
                    self._greeting(message["o"], note)
                    continue
                self._apply(note)
        except (ValueError, KeyError, TypeError):
            log.exception("ignoring a malformed signal: %.200s", payload)

    def _greeting(self, origin: str, note: dict[str, Any]) -> None:
        """A hello from a starting replica gets an answer; answers to our hello are counted."""
        if note["k"] == "h":
            self._queue({"k": "a", "to": origin})
        elif note["to"] == self.origin:
            self._acks.add(origin)
            if len(self._acks) >= self._expected_acks:
                self._acked.set()

    def _apply(self, note: dict[str, Any]) -> None:
        kind = note["k"]
        if kind == "p":
            if "w" in note:
                names, location, cpu, memory = note["w"]
                self.replica.on_wake(
                    Wake(note["c"], note["t"], tuple(names), location, cpu, memory)
                )
            if self.replica.wants(note["i"], note["c"], note["t"], note["s"]):
                if "p" in note:
                    self.replica.on_event(Process.from_dict(note["p"]))
                else:
                    self._tasks.append(asyncio.create_task(self._read_and_publish(note)))
        elif kind == "m":
            self.replica.on_membership()
        elif kind == "z":
            self.replica.on_pause(note["c"], bool(note["z"]))
        elif kind == "l":
            self.replica.on_lost_signals()
        elif kind == "c":
            self.replica.on_channel(note["i"], note["n"])

    async def _read_and_publish(self, note: dict[str, Any]) -> None:
        """A process too large for a note: read it, and publish it if it is still in the
        state the note announced (a later note announces any later state)."""
        task = asyncio.current_task()
        try:
            process = await self.store.get_process(note["i"])
            if process is not None and process.state == note["s"]:
                self.replica.on_event(process)
        finally:
            if task in self._tasks:
                self._tasks.remove(task)

    # --- lifetime

    def healthy(self) -> bool:
        """Not while the listening connection is down: this replica would miss wake-ups, so a
        load balancer should send clients elsewhere."""
        return self.listening.is_set()

    async def start(self) -> None:
        """Start sending and listening; returns once this replica hears the others."""
        self._tasks = [
            asyncio.create_task(self._send_forever()),
            asyncio.create_task(self._listen_forever()),
        ]
        try:
            await asyncio.wait_for(self.listening.wait(), START_TIMEOUT)
        except TimeoutError:
            await self.close()
            raise RuntimeError(
                f"cannot listen for other replicas' signals on PostgreSQL ({START_TIMEOUT:.0f} s)"
            ) from None
        await self._greet()

    async def _greet(self) -> None:
        """Make sure the other replicas send to this one before it serves: say hello to those
        listening, and wait (a little) for each to answer. A replica alone sends nothing, and
        one that hears a hello sends everything after it."""
        self._expected_acks = self.peers
        if self._expected_acks:
            self._queue({"k": "h"})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._acked.wait(), HELLO_TIMEOUT)

    async def close(self) -> None:
        if self._outbox:  # let the last changes reach the others
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flushed(), 2)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _flushed(self) -> None:
        while self._outbox:
            await asyncio.sleep(0.01)


def _encode(note: dict[str, Any]) -> str:
    if "p" in note and isinstance(note["p"], Process):
        note = {**note, "p": note["p"].to_dict()}
    return json.dumps(note, separators=(",", ":"), ensure_ascii=True)
