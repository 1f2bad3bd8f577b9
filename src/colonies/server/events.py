"""Process state events for ``/pubsub`` subscribers (``subscribeprocessmsg`` and friends).

Subscribers get a queue; every state change is offered to the subscribers of that process (and
to the general subscribers of its executor type) whose wanted state it reaches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from colonies.model import Process


class ProcessEvents:
    def __init__(self) -> None:
        self._by_process: dict[str, set[tuple[int, asyncio.Queue[Process]]]] = {}
        self._by_type: dict[tuple[str, int], set[asyncio.Queue[Process]]] = {}

    @contextmanager
    def subscribe_process(self, processid: str, state: int) -> Iterator[asyncio.Queue[Process]]:
        queue: asyncio.Queue[Process] = asyncio.Queue()
        entry = (state, queue)
        self._by_process.setdefault(processid, set()).add(entry)
        try:
            yield queue
        finally:
            subs = self._by_process.get(processid)
            if subs is not None:
                subs.discard(entry)
                if not subs:
                    del self._by_process[processid]

    @contextmanager
    def subscribe_type(self, executortype: str, state: int) -> Iterator[asyncio.Queue[Process]]:
        queue: asyncio.Queue[Process] = asyncio.Queue()
        key = (executortype, state)
        self._by_type.setdefault(key, set()).add(queue)
        try:
            yield queue
        finally:
            subs = self._by_type.get(key)
            if subs is not None:
                subs.discard(queue)
                if not subs:
                    del self._by_type[key]

    def publish(self, process: Process) -> None:
        for state, queue in self._by_process.get(process.processid, ()):
            if state == process.state:
                queue.put_nowait(process)
        for queue in self._by_type.get((process.spec.conditions.executortype, process.state), ()):
            queue.put_nowait(process)
