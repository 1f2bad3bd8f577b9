"""Long-poll wake-ups for assign: one new process wakes exactly one matching waiting executor.

Waking every poller on every submit made the Go server do millions of useless database updates
(spec §8.4); waking one is enough because one process can only be assigned once. The cost of
waking only one is that a wake-up must never be dropped: a waiter that was woken but does not use
its wake-up (its client went away, or it found other work first) hands it to the next waiter.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from colonies.model import Process
from colonies.units import UNLIMITED, parse_cpu, parse_memory


@dataclass(frozen=True)
class Wake:
    """What a new WAITING process needs from an executor, to wake only one that can take it."""

    colonyname: str
    executortype: str
    executornames: tuple[str, ...] = ()
    locationname: str = ""
    cpu: int = 0  # millicores
    memory: int = 0  # bytes

    @classmethod
    def of(cls, process: Process) -> Wake:
        """The wake-up for ``process`` (its cpu/mem conditions were checked at submit)."""
        cond = process.spec.conditions
        return cls(
            cond.colonyname,
            cond.executortype,
            tuple(n for n in cond.executornames if n != "*"),
            cond.locationname,
            parse_cpu(cond.cpu),
            parse_memory(cond.mem),
        )


@dataclass(eq=False)
class Waiter:
    """One long-polling executor."""

    colonyname: str
    executortype: str
    executorname: str
    locationname: str
    cpu: int = UNLIMITED  # what the poll said it has free (availablecpu / availablemem)
    memory: int = UNLIMITED
    woken: asyncio.Future[Wake] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    used: bool = False

    def accepts(self, wake: Wake) -> bool:
        if wake.cpu > self.cpu or wake.memory > self.memory:
            return False
        if wake.executornames and self.executorname not in wake.executornames:
            return False
        return not wake.locationname or wake.locationname.lower() == self.locationname.lower()


class Dispatcher:
    """Waiters per (colony, executor type), oldest first, so wake-ups go round the pollers.

    Each queue is an insertion-ordered dict used as a set: a poll that ends (answered, timed
    out, hung up) leaves in O(1), which matters with thousands of executors polling at once.
    """

    def __init__(self) -> None:
        self._waiters: dict[tuple[str, str], dict[Waiter, None]] = {}

    def register(self, waiter: Waiter) -> None:
        self._waiters.setdefault((waiter.colonyname, waiter.executortype), {})[waiter] = None

    def unregister(self, waiter: Waiter) -> None:
        """Forget ``waiter``; pass its wake-up on if it got one and did not use it."""
        key = (waiter.colonyname, waiter.executortype)
        queue = self._waiters.get(key)
        if queue is not None and waiter in queue:  # not if signal() or wake_all() took it
            del queue[waiter]
            if not queue:
                del self._waiters[key]
        if waiter.woken.done() and not waiter.woken.cancelled() and not waiter.used:
            self.signal(waiter.woken.result())

    def signal(self, wake: Wake) -> bool:
        """Wake the longest-waiting executor that can take the process; False if none."""
        queue = self._waiters.get((wake.colonyname, wake.executortype))
        if not queue:
            return False
        for waiter in queue:
            if not waiter.woken.done() and waiter.accepts(wake):
                waiter.woken.set_result(wake)
                del queue[waiter]
                return True
        return False

    def wake_all(self) -> None:
        """Wake every waiter to look in the store again (signals from elsewhere were lost)."""
        for (colonyname, executortype), queue in list(self._waiters.items()):
            for waiter in queue:
                if not waiter.woken.done():
                    waiter.woken.set_result(Wake(colonyname, executortype))
            del self._waiters[(colonyname, executortype)]

    def waiting(self) -> int:
        return sum(len(q) for q in self._waiters.values())
