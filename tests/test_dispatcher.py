"""The long-poll dispatcher on its own: who is woken for a new process, and wake-ups passed on."""

from __future__ import annotations

from colonies.model import Conditions, FunctionSpec, Process
from colonies.server.dispatcher import Dispatcher, Waiter, Wake
from colonies.units import UNLIMITED


def waiter(
    name: str = "e",
    *,
    colonyname: str = "dev",
    executortype: str = "t",
    locationname: str = "",
    cpu: int = UNLIMITED,
    memory: int = UNLIMITED,
) -> Waiter:
    return Waiter(colonyname, executortype, name, locationname, cpu=cpu, memory=memory)


def woken(*waiters: Waiter) -> list[str]:
    return [w.executorname for w in waiters if w.woken.done()]


async def test_the_longest_waiting_executor_of_the_colony_and_type_is_woken() -> None:
    d = Dispatcher()
    other_colony = waiter("c", colonyname="elsewhere")
    other_type = waiter("u", executortype="u")
    first, second = waiter("first"), waiter("second")
    for w in (other_colony, other_type, first, second):
        d.register(w)
    assert d.waiting() == 4
    wake = Wake("dev", "t")
    assert d.signal(wake) is True
    assert woken(other_colony, other_type, first, second) == ["first"]
    assert first.woken.result() == wake
    assert d.waiting() == 3  # the woken waiter left the queue
    assert d.signal(Wake("dev", "t")) is True
    assert woken(first, second) == ["first", "second"]
    assert d.signal(Wake("dev", "t")) is False  # nobody left to wake
    assert d.signal(Wake("nowhere", "t")) is False


async def test_a_wake_up_goes_only_to_a_waiter_that_can_take_the_process() -> None:
    d = Dispatcher()
    named = waiter("named")
    located = waiter("located", locationname="Lab")
    small = waiter("small", cpu=500, memory=2**30)
    for w in (small, located, named):
        d.register(w)
    assert d.signal(Wake("dev", "t", executornames=("named",))) is True
    assert woken(small, located, named) == ["named"]
    assert d.signal(Wake("dev", "t", locationname="lab")) is True  # location ignores case
    assert woken(small, located) == ["located"]
    assert d.signal(Wake("dev", "t", cpu=501)) is False  # small has 500m
    assert d.signal(Wake("dev", "t", memory=2**30 + 1)) is False
    assert d.signal(Wake("dev", "t", cpu=500, memory=2**30)) is True  # exactly enough
    assert woken(small) == ["small"]


async def test_a_waiter_without_a_location_takes_only_processes_without_one() -> None:
    d = Dispatcher()
    anywhere = waiter("anywhere")
    d.register(anywhere)
    assert d.signal(Wake("dev", "t", locationname="Lab")) is False
    assert d.signal(Wake("dev", "t")) is True


async def test_an_unused_wake_up_is_passed_to_the_next_waiter() -> None:
    d = Dispatcher()
    quitter, stayer = waiter("quitter"), waiter("stayer")
    d.register(quitter)
    d.register(stayer)
    d.signal(Wake("dev", "t"))
    d.unregister(quitter)  # its client went away before it used the wake-up
    assert woken(stayer) == ["stayer"] and d.waiting() == 0


async def test_a_used_or_cancelled_wake_up_is_not_passed_on() -> None:
    d = Dispatcher()
    worker, idle = waiter("worker"), waiter("idle")
    d.register(worker)
    d.register(idle)
    d.signal(Wake("dev", "t"))
    worker.used = True
    d.unregister(worker)
    assert woken(idle) == []
    never = waiter("never")
    d.register(never)
    never.woken.cancel()
    d.unregister(never)
    assert woken(idle) == [] and d.waiting() == 1
    d.unregister(idle)
    assert d.waiting() == 0
    d.unregister(idle)  # twice is harmless


async def test_unregistering_the_last_waiter_forgets_its_queue() -> None:
    d = Dispatcher()
    w = waiter()
    d.register(w)
    d.unregister(w)
    assert d._waiters == {}
    again = waiter()
    d.register(again)  # a new queue for the same key works as before
    assert d.signal(Wake("dev", "t")) is True


async def test_a_done_waiter_still_queued_is_skipped() -> None:
    d = Dispatcher()
    first, second = waiter("first"), waiter("second")
    d.register(first)
    d.register(second)
    first.woken.set_result(Wake("dev", "t"))  # woken, not yet unregistered
    assert d.signal(Wake("dev", "t")) is True
    assert second.woken.done()


def test_a_process_wakes_with_what_it_needs() -> None:
    process = Process(
        spec=FunctionSpec(
            conditions=Conditions(
                colonyname="dev",
                executortype="t",
                executornames=["*", "a"],
                locationname="Lab",
                cpu="1500m",
                mem="2Gi",
            )
        )
    )
    assert Wake.of(process) == Wake("dev", "t", ("a",), "Lab", 1500, 2 * 2**30)
    plain = Process(spec=FunctionSpec(conditions=Conditions(colonyname="dev", executortype="t")))
    assert Wake.of(plain) == Wake("dev", "t")


async def test_waiters_are_woken_in_the_order_they_came() -> None:
    d = Dispatcher()
    waiters = [waiter(f"e{i}") for i in range(4)]
    for w in waiters:
        d.register(w)
    for i in range(1, 5):
        d.signal(Wake("dev", "t"))
        assert woken(*waiters) == [f"e{j}" for j in range(i)]
