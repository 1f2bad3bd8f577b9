"""Process channels (spec §4.10): what append, read and subscribe share, and this replica's
channel memory (subscribers waiting for entries, per-process rate limits).

A process declares its channels in ``spec.channels`` at submit. Unlike the Go server, which
keeps channels in one server's memory (lost on restart, unseen by other replicas), entries are
rows in the store (``Store.append_channel_entry``): they survive restarts, every replica reads
the same log, and an append wakes the channel's subscribers on every replica through
``Signals.channel_appended``. A channel holds at most ``MAX_ENTRIES`` entries; they are removed
with their process (process removal, colony removal). A channel stays readable by the submitter
and the executor after the process closed (Go deletes it at close); appends then fail as in Go.
The rate limit is per process and per replica, in memory, as Go's is per server.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from colonies.model import Process, ProcessState
from colonies.rpc import RPCError

MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # Go's CHANNEL_MAX_MESSAGE_SIZE
MAX_ENTRIES = 10_000  # Go's CHANNEL_MAX_LOG_ENTRIES
MAX_CHANNELS = 100  # Go's CHANNEL_MAX_CHANNELS_PER_PROCESS
RATE_PER_SECOND = 100.0  # Go's CHANNEL_RATE_LIMIT_MESSAGES_PER_SECOND
RATE_BURST = 500.0  # Go's CHANNEL_RATE_LIMIT_BURST_SIZE
DEFAULT_SUBSCRIBE_TIMEOUT = 30  # seconds, when a subscription asks for 0 (Go)
MAX_NAME_BYTES = 1024  # ours: a channel name is a key in the store's index
MAX_BUCKETS = 10_000  # rate limiters kept before full (idle) ones are forgotten
PAGE = 100  # entries per store read while a subscription catches up

CLOSED_STATES = frozenset({ProcessState.SUCCESS, ProcessState.FAILED, ProcessState.CANCELLED})


def declared(process: Process, name: str) -> None:
    """Refuse a channel the process did not declare (404), or one past the 100th (400), with
    the Go server's texts; a name declared twice is one channel. Names longer than
    ``MAX_NAME_BYTES`` are refused (400): Go has no bound, a database index has one."""
    names = list(dict.fromkeys(process.spec.channels))
    if name not in names:
        raise RPCError(404, "Channel not found")
    if names.index(name) >= MAX_CHANNELS:
        raise RPCError(400, "process has too many channels")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise RPCError(400, f"Channel name is too long (max {MAX_NAME_BYTES} bytes)")


def authorized(process: Process, signer: str) -> bool:
    """Only the process's initiator and its assigned executor use its channels."""
    return signer == process.initiatorid or (
        bool(process.assignedexecutorid) and signer == process.assignedexecutorid
    )


@dataclass
class _Bucket:
    """Go's token bucket: starts full, refills ``RATE_PER_SECOND``, holds ``RATE_BURST``."""

    tokens: float = field(default_factory=lambda: RATE_BURST)
    stamp: float = field(default_factory=time.monotonic)

    def refill(self, now: float) -> None:
        self.tokens = min(RATE_BURST, self.tokens + (now - self.stamp) * RATE_PER_SECOND)
        self.stamp = now

    def take(self, now: float) -> bool:
        self.refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(eq=False)
class Watch:
    """One subscription's wake-up: set when its channel may have new entries."""

    processid: str
    name: str
    signer: str
    event: asyncio.Event = field(default_factory=asyncio.Event)


class ChannelHub:
    """This replica's channel memory: subscribers by channel, and rate limits by process."""

    def __init__(self) -> None:
        self._watches: dict[tuple[str, str], set[Watch]] = {}
        self._held: dict[str, int] = {}
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, processid: str) -> bool:
        """Take a token from the process's bucket (100/s, burst 500); False when empty."""
        now = time.monotonic()
        bucket = self._buckets.get(processid)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:  # a full bucket is as good as a new one
                for key, old in list(self._buckets.items()):
                    old.refill(now)
                    if old.tokens >= RATE_BURST:
                        del self._buckets[key]
            bucket = self._buckets[processid] = _Bucket(stamp=now)
        return bucket.take(now)

    def watch(self, processid: str, name: str, signer: str) -> Watch:
        watch = Watch(processid, name, signer)
        self._watches.setdefault((processid, name), set()).add(watch)
        self._held[signer] = self._held.get(signer, 0) + 1
        return watch

    def unwatch(self, watch: Watch) -> None:
        key = (watch.processid, watch.name)
        watches = self._watches.get(key)
        if watches is None or watch not in watches:
            return
        watches.discard(watch)
        if not watches:
            del self._watches[key]
        left = self._held[watch.signer] - 1
        if left:
            self._held[watch.signer] = left
        else:
            del self._held[watch.signer]

    def held(self, signer: str) -> int:
        """Channel subscriptions this key holds on this replica."""
        return self._held.get(signer, 0)

    def wake(self, processid: str, name: str | None) -> None:
        """New entries in a channel (``None``: in some channel of the process)."""
        if name is not None:
            for watch in self._watches.get((processid, name), ()):
                watch.event.set()
            return
        for (pid, _), watches in self._watches.items():
            if pid == processid:
                for watch in watches:
                    watch.event.set()

    def wake_all(self) -> None:
        """Signals may have been lost: every subscriber looks at the store again."""
        for watches in self._watches.values():
            for watch in watches:
                watch.event.set()
