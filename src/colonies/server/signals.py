"""Signals: how a committed change reaches whoever waits for it, on this replica or any other.

Five kinds of signal follow a change in the store: a process entered the queue (wake one
long-polling assigner), a process changed state (``/pubsub`` subscribers), a colony or executor
changed (drop cached records), a colony was paused or resumed (release or hold assigners), an
entry was appended to a process channel (wake that channel's ``/pubsub`` subscribers, which read
the new entries from the store).
Handlers and the lifecycle only ever call ``Signals``; what a signal does on one replica is
``Replica``'s business (dispatcher, events, caches).

``LocalSignals`` is a single server. ``PostgresSignals`` (``colonies.server.pgsignals``) applies
each signal locally at once and sends it to the other replicas with PostgreSQL ``NOTIFY``.
"""

from __future__ import annotations

from typing import Protocol

from colonies.model import Process
from colonies.server.dispatcher import Wake


class Replica(Protocol):
    """What one server process does when a signal arrives (``ServerContext`` implements it)."""

    def on_process(self, process: Process) -> None:
        """Wake an assigner if ``process`` is assignable; offer it to subscribers."""

    def on_wake(self, wake: Wake) -> None:
        """Wake one assigner that can take a process with these needs."""

    def on_event(self, process: Process) -> None:
        """Offer a process state change to subscribers."""

    def wants(self, processid: str, colonyname: str, executortype: str, state: int) -> bool:
        """Whether any subscription here would take this process event."""

    def on_membership(self) -> None:
        """Forget cached colony and executor records."""

    def on_pause(self, colonyname: str, paused: bool) -> None:
        """Forget the cached pause flag; release assigners held by a resumed colony."""

    def on_lost_signals(self) -> None:
        """Signals from elsewhere may have been missed: wake every waiter to look again."""

    def on_channel(self, processid: str, name: str | None) -> None:
        """Wake the subscribers of a process channel (``None``: of every channel of the
        process): it has new entries in the store."""


class Signals(Protocol):
    """Called after the store committed a change (never before: a waiter woken early would
    find nothing and go back to sleep)."""

    def process_changed(self, process: Process) -> None: ...
    def membership_changed(self) -> None: ...
    def pause_changed(self, colonyname: str, paused: bool) -> None: ...
    def channel_appended(self, processid: str, name: str) -> None: ...
    def healthy(self) -> bool:
        """Whether signals reach this replica (``GET /health`` answers 503 otherwise)."""

    async def start(self) -> None: ...
    async def close(self) -> None: ...


class LocalSignals:
    """One server process: every signal is applied at once, in the caller's turn."""

    def __init__(self, replica: Replica) -> None:
        self.replica = replica

    def process_changed(self, process: Process) -> None:
        self.replica.on_process(process)

    def membership_changed(self) -> None:
        self.replica.on_membership()

    def pause_changed(self, colonyname: str, paused: bool) -> None:
        self.replica.on_pause(colonyname, paused)

    def channel_appended(self, processid: str, name: str) -> None:
        self.replica.on_channel(processid, name)

    def healthy(self) -> bool:
        return True

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None
