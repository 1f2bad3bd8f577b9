"""Signals without a network: what a note carries, how notes are packed into notifications, and
what a receiving replica does with each kind. (Across real replicas: tests/test_replicas.py.)"""

from __future__ import annotations

import json
from typing import Any

from colonies.model import Conditions, FunctionSpec, Process, ProcessState
from colonies.server.dispatcher import Wake
from colonies.server.pgsignals import MAX_PAYLOAD, PostgresSignals
from colonies.server.signals import LocalSignals


class Recorder:
    """A Replica that writes down what it was told."""

    def __init__(self, wanted: bool = True) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.wanted = wanted

    def on_process(self, process: Process) -> None:
        self.calls.append(("process", process.processid))

    def on_wake(self, wake: Wake) -> None:
        self.calls.append(("wake", wake))

    def on_event(self, process: Process) -> None:
        self.calls.append(("event", (process.processid, process.state, process.output)))

    def wants(self, processid: str, colonyname: str, executortype: str, state: int) -> bool:
        return self.wanted

    def on_membership(self) -> None:
        self.calls.append(("membership", None))

    def on_pause(self, colonyname: str, paused: bool) -> None:
        self.calls.append(("pause", (colonyname, paused)))

    def on_lost_signals(self) -> None:
        self.calls.append(("lost", None))

    def on_channel(self, processid: str, name: str | None) -> None:
        self.calls.append(("channel", (processid, name)))


def process(i: int, state: int = ProcessState.WAITING, size: int = 0) -> Process:
    spec = FunctionSpec(
        funcname="f",
        args=["x" * size] if size else [],
        conditions=Conditions(
            colonyname="dev", executortype="w", executornames=["a"], cpu="500m", mem="1Gi"
        ),
    )
    return Process(processid=f"{i:064x}", state=state, spec=spec, output=[i])


def peer(replica: Recorder) -> PostgresSignals:
    """Signals of a replica that knows another replica listens (so it sends)."""
    signals = PostgresSignals(replica, store=None, conninfo="")  # type: ignore[arg-type]
    signals.peers = 1
    return signals


def sent(signals: PostgresSignals) -> list[str]:
    """The payloads the sender would NOTIFY for what is queued."""
    return signals._payloads(signals._outbox)


def test_local_signals_apply_at_once() -> None:
    replica = Recorder()
    signals = LocalSignals(replica)
    signals.process_changed(process(1))
    signals.membership_changed()
    signals.pause_changed("dev", True)
    assert [kind for kind, _ in replica.calls] == ["process", "membership", "pause"]


def test_a_replica_applies_its_own_signals_and_sends_them() -> None:
    here, there = Recorder(), Recorder()
    sender = peer(here)
    receiver = peer(there)
    sender.process_changed(process(1))
    sender.process_changed(process(2, ProcessState.SUCCESS))
    sender.membership_changed()
    sender.pause_changed("dev", False)
    assert [kind for kind, _ in here.calls] == ["process", "process", "membership", "pause"]
    payloads = sent(sender)
    assert len(payloads) == 1  # several notes in one notification
    for payload in payloads:
        receiver._receive(payload)
    wake = Wake("dev", "w", ("a",), "", 500, 2**30)
    assert there.calls == [
        ("wake", wake),
        ("event", (f"{1:064x}", ProcessState.WAITING, [1])),
        ("event", (f"{2:064x}", ProcessState.SUCCESS, [2])),  # closed: no wake-up
        ("membership", None),
        ("pause", ("dev", False)),
    ]


def test_a_replica_ignores_its_own_notifications() -> None:
    replica = Recorder()
    signals = peer(replica)
    signals.membership_changed()
    replica.calls.clear()
    for payload in sent(signals):
        signals._receive(payload)
    assert replica.calls == []


def test_notes_are_packed_under_postgresqls_payload_limit_in_order() -> None:
    there = Recorder()
    sender = peer(Recorder())
    receiver = peer(there)
    for i in range(300):
        sender.process_changed(process(i, ProcessState.RUNNING, size=i % 7 * 300))
    payloads = sent(sender)
    assert len(payloads) > 1
    assert all(len(p.encode()) < MAX_PAYLOAD for p in payloads)
    for payload in payloads:
        receiver._receive(payload)
    assert [c[1][0] for c in there.calls] == [f"{i:064x}" for i in range(300)]


def test_a_process_too_large_is_announced_without_its_body() -> None:
    sender = peer(Recorder())
    sender.process_changed(process(1, ProcessState.SUCCESS, size=20_000))
    (payload,) = sent(sender)
    (note,) = json.loads(payload)["n"]
    assert "p" not in note
    assert (note["i"], note["s"]) == (f"{1:064x}", ProcessState.SUCCESS)


def test_events_nobody_here_wants_are_not_offered() -> None:
    there = Recorder(wanted=False)
    sender = peer(Recorder())
    receiver = peer(there)
    sender.process_changed(process(1, ProcessState.SUCCESS))
    for payload in sent(sender):
        receiver._receive(payload)
    assert there.calls == []


def test_a_malformed_notification_is_ignored(caplog: Any) -> None:
    there = Recorder()
    receiver = peer(there)
    receiver._receive("not json")
    receiver._receive('{"o": "x", "n": [{"k": "p"}]}')
    receiver._receive('{"o": "x", "n": [{"k": "l"}]}')
    assert there.calls == [("lost", None)]
    assert "malformed signal" in caplog.text


def test_a_replica_alone_sends_nothing() -> None:
    replica = Recorder()
    alone = PostgresSignals(replica, store=None, conninfo="")  # type: ignore[arg-type]
    alone.process_changed(process(1))
    alone.membership_changed()
    assert [kind for kind, _ in replica.calls] == ["process", "membership"]  # applied here
    assert sent(alone) == []


def test_a_hello_is_answered_and_answers_are_counted() -> None:
    old, new = peer(Recorder()), peer(Recorder())
    new._expected_acks = 1
    new._queue({"k": "h"})
    for payload in sent(new):
        old._receive(payload)
    assert old._outbox == [{"k": "a", "to": new.origin}]
    for payload in sent(old):
        new._receive(payload)
    assert new._acked.is_set()


def test_non_ascii_text_is_measured_as_sent() -> None:
    """Notes are ASCII JSON, so the packing counts what PostgreSQL receives."""
    sender = peer(Recorder())
    emoji = process(1, ProcessState.SUCCESS)
    emoji.output = ["😀" * 700]  # 2,800 UTF-8 bytes, 8,400 escaped: over the limit
    sender.process_changed(emoji)
    small = process(2, ProcessState.SUCCESS)
    small.output = ["é" * 100]
    sender.process_changed(small)
    payloads = sent(sender)
    assert all(p.isascii() and len(p) < MAX_PAYLOAD for p in payloads)
    notes = [note for p in payloads for note in json.loads(p)["n"]]
    assert ["p" in note for note in notes] == [False, True]


# --- channels (spec §4.10) ---


def test_a_channel_append_wakes_subscribers_here_and_on_other_replicas() -> None:
    here, there = Recorder(), Recorder()
    LocalSignals(here).channel_appended("p1", "out")
    assert here.calls == [("channel", ("p1", "out"))]
    sender, receiver = peer(Recorder()), peer(there)
    sender.channel_appended("p1", "out")
    sender.channel_appended("p2", "x" * 5000)  # too long for a note: every channel of p2
    payloads = sent(sender)
    assert all(len(p.encode()) < MAX_PAYLOAD for p in payloads)
    for payload in payloads:
        receiver._receive(payload)
    assert there.calls == [("channel", ("p1", "out")), ("channel", ("p2", None))]
