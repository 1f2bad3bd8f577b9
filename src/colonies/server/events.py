"""Process state events for ``/pubsub`` subscribers (``subscribeprocessmsg`` and friends).

A subscription is registered for one process, or for one colony's executor type, and a wanted
state; every state change is offered to the subscriptions it matches. Each subscription records
the key that holds it, so a server can cap how many one key holds across all its sockets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import TypeVar

from colonies.model import Process

K = TypeVar("K", bound=Hashable)

QUEUE_LIMIT = 1024  # events waiting for one subscriber before it counts as stalled


class Subscription:
    """A subscriber's queue of processes that reached its state, oldest first.

    A subscriber that cannot keep up (its socket is not read) does not grow the server: once
    ``QUEUE_LIMIT`` events wait, later ones are dropped and ``stalled`` is set, and the owner
    of the subscription ends it.
    """

    def __init__(self, owner: str, state: int, on_close: Callable[[Subscription], None]) -> None:
        self.owner, self.state = owner, state
        self.queue: asyncio.Queue[Process] = asyncio.Queue(QUEUE_LIMIT)
        self.stalled = False
        self._on_close: Callable[[Subscription], None] | None = on_close

    def offer(self, process: Process) -> None:
        try:
            self.queue.put_nowait(process)
        except asyncio.QueueFull:
            self.stalled = True

    def close(self) -> None:
        """Stop receiving events (idempotent)."""
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close(self)


class ProcessEvents:
    def __init__(self) -> None:
        self._by_process: dict[str, set[Subscription]] = {}
        self._by_type: dict[tuple[str, str, int], set[Subscription]] = {}
        self._held: dict[str, int] = {}  # subscriptions per owner key

    def __len__(self) -> int:
        """How many subscriptions are registered."""
        return sum(self._held.values())

    def held(self, owner: str) -> int:
        """How many subscriptions ``owner`` holds."""
        return self._held.get(owner, 0)

    def subscribe_process(self, owner: str, processid: str, state: int) -> Subscription:
        """Events of one process reaching ``state``; ``close()`` the result when done."""
        return self._add(self._by_process, processid, owner, state)

    def subscribe_type(
        self, owner: str, colonyname: str, executortype: str, state: int
    ) -> Subscription:
        """Events of every process of one colony and executor type reaching ``state``."""
        return self._add(self._by_type, (colonyname, executortype, state), owner, state)

    def _add(
        self, index: dict[K, set[Subscription]], key: K, owner: str, state: int
    ) -> Subscription:
        def remove(sub: Subscription) -> None:
            subs = index.get(key)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del index[key]
            left = self._held[owner] - 1
            if left:
                self._held[owner] = left
            else:
                del self._held[owner]

        sub = Subscription(owner, state, remove)
        index.setdefault(key, set()).add(sub)
        self._held[owner] = self._held.get(owner, 0) + 1
        return sub

    def wants(self, processid: str, colonyname: str, executortype: str, state: int) -> bool:
        """Whether ``publish`` of such a process would reach any subscription."""
        if any(sub.state == state for sub in self._by_process.get(processid, ())):
            return True
        return (colonyname, executortype, state) in self._by_type

    def publish(self, process: Process) -> None:
        for sub in self._by_process.get(process.processid, ()):
            if sub.state == process.state:
                sub.offer(process)
        cond = process.spec.conditions
        for sub in self._by_type.get((cond.colonyname, cond.executortype, process.state), ()):
            sub.offer(process)
