"""Which processes an executor may be given (spec §6.1): CPU, memory and location conditions.

A process's ``conditions.cpu``/``conditions.mem`` are compared with what the executor says it has
free *in the assign request* (``availablecpu``/``availablemem``; empty means unlimited), not with
the hardware in its registered capabilities. ``conditions.locationname`` must be empty or equal
to the executor's ``locationname``, ignoring case.
"""

from __future__ import annotations

import asyncio

import pytest

from colonies import crypto
from colonies.client import AsyncClient, Client
from colonies.errors import NoProcessAvailable
from colonies.model import Capabilities, Conditions, Executor, FunctionSpec, Hardware
from conftest import Identity, LiveServer
from polling import eventually, pollers_waiting


def register(
    live: LiveServer,
    name: str,
    *,
    locationname: str = "",
    capabilities: Capabilities | None = None,
) -> Identity:
    """An approved executor of type "test", registered through the API by the colony owner."""
    key = Identity(crypto.generate_private_key())
    with Client(live.url, live.colony.prvkey) as owner:
        owner.add_executor(
            Executor(
                executorid=key.id,
                executortype="test",
                executorname=name,
                colonyname=live.colonyname,
                locationname=locationname,
                capabilities=capabilities or Capabilities(),
            )
        )
        owner.approve_executor(live.colonyname, name)
    return key


def spec(label: str, **conditions: str) -> FunctionSpec:
    return FunctionSpec(
        funcname="f",
        label=label,
        conditions=Conditions(colonyname="dev", executortype="test", **conditions),
    )


def nothing_for(client: Client, **available: str) -> None:
    """One assign attempt (no long-poll) that must find nothing the executor may take."""
    with pytest.raises(NoProcessAvailable):
        client.assign("dev", timeout=-1, **available)


@pytest.mark.parametrize(
    ("condition", "needed", "too_little", "exactly"),
    [
        ("cpu", "2000m", "1999m", "2000m"),
        ("cpu", "1500m", "1", "1.5"),  # plain cores are millicores x 1000
        ("mem", "1Gi", "1023Mi", "1024Mi"),
        ("mem", "2GB", "1999MB", "2000000000"),
    ],
)
def test_a_process_goes_only_to_an_executor_with_enough_free(
    live: LiveServer, condition: str, needed: str, too_little: str, exactly: str
) -> None:
    key = register(live, "worker")
    available = "availablecpu" if condition == "cpu" else "availablemem"
    with Client(live.url, key.prvkey) as client:
        process = client.submit(spec("big", **{condition: needed}))
        nothing_for(client, **{available: too_little})
        assert client.get_process(process.processid).isassigned is False
        assigned = client.assign("dev", timeout=-1, **{available: exactly})
        assert assigned.processid == process.processid


def test_empty_available_resources_mean_unlimited(live: LiveServer) -> None:
    key = register(live, "worker")
    with Client(live.url, key.prvkey) as client:
        process = client.submit(spec("huge", cpu="64000m", mem="512Gi"))
        assert client.assign("dev", timeout=-1).processid == process.processid


def test_both_cpu_and_memory_must_fit(live: LiveServer) -> None:
    key = register(live, "worker")
    with Client(live.url, key.prvkey) as client:
        process = client.submit(spec("both", cpu="1000m", mem="1Gi"))
        nothing_for(client, availablecpu="4000m", availablemem="512Mi")
        nothing_for(client, availablecpu="500m", availablemem="8Gi")
        got = client.assign("dev", timeout=-1, availablecpu="1000m", availablemem="1Gi")
        assert got.processid == process.processid


def test_a_process_that_does_not_fit_does_not_block_the_queue(live: LiveServer) -> None:
    """The oldest process is too big for this executor: it gets the next one that fits."""
    key = register(live, "small")
    with Client(live.url, key.prvkey) as client:
        big = client.submit(spec("big", cpu="4000m", mem="4Gi"))
        small = client.submit(spec("small", cpu="500m", mem="256Mi"))
        got = client.assign("dev", timeout=-1, availablecpu="1000m", availablemem="1Gi")
        assert got.processid == small.processid
        nothing_for(client, availablecpu="1000m", availablemem="1Gi")
        assert client.assign("dev", timeout=-1).processid == big.processid


def test_registered_hardware_does_not_limit_assignment(live: LiveServer) -> None:
    """Capabilities describe the executor; only the assign request's free resources count."""
    tiny = Capabilities(hardware=[Hardware(cpu="100m", mem="64Mi", cores=1)])
    key = register(live, "tiny", capabilities=tiny)
    with Client(live.url, key.prvkey) as client:
        process = client.submit(spec("big", cpu="8000m", mem="16Gi"))
        assert client.assign("dev", timeout=-1).processid == process.processid


def test_a_located_process_goes_only_to_an_executor_at_that_location(live: LiveServer) -> None:
    nowhere = register(live, "nowhere")
    elsewhere = register(live, "elsewhere", locationname="Garage")
    here = register(live, "here", locationname="lab")  # another case than the process's
    with Client(live.url, nowhere.prvkey) as client:
        process = client.submit(spec("located", locationname="Lab"))
        nothing_for(client)
        nothing_for(client, prvkey=elsewhere.prvkey)
        got = client.assign("dev", timeout=-1, prvkey=here.prvkey)
        assert got.processid == process.processid
        assert got.assignedexecutorid == here.id


def test_a_process_without_a_location_goes_anywhere(live: LiveServer) -> None:
    located = register(live, "located", locationname="Lab")
    with Client(live.url, located.prvkey) as client:
        process = client.submit(spec("anywhere"))
        assert client.assign("dev", timeout=-1).processid == process.processid


async def test_a_waiting_poller_elsewhere_is_not_woken_for_a_located_process(
    live: LiveServer,
) -> None:
    """The long-poll wake-up goes to the executor at the process's location, even when an
    executor elsewhere has been waiting longer."""
    elsewhere = register(live, "elsewhere", locationname="Garage")
    here = register(live, "here", locationname="Lab")
    async with (
        AsyncClient(live.url, elsewhere.prvkey) as first,
        AsyncClient(live.url, here.prvkey) as second,
    ):
        waiting_elsewhere = asyncio.create_task(first.assign("dev", timeout=3))
        await eventually(lambda: pollers_waiting(live) == 1)
        waiting_here = asyncio.create_task(second.assign("dev", timeout=30))
        await eventually(lambda: pollers_waiting(live) == 2)
        process = await second.submit(spec("located", locationname="lab"))
        got = await asyncio.wait_for(waiting_here, 10)
        assert got.processid == process.processid
        with pytest.raises(NoProcessAvailable):
            await waiting_elsewhere


async def test_a_waiting_poller_without_room_does_not_swallow_the_wake_up(
    live: LiveServer,
) -> None:
    """An executor with too little free CPU has waited longest; the one with room still gets
    the new process while it waits, not when its poll times out."""
    small = register(live, "small")
    large = register(live, "large")
    async with (
        AsyncClient(live.url, small.prvkey) as first,
        AsyncClient(live.url, large.prvkey) as second,
    ):
        waiting_small = asyncio.create_task(first.assign("dev", timeout=3, availablecpu="500m"))
        await eventually(lambda: pollers_waiting(live) == 1)
        waiting_large = asyncio.create_task(second.assign("dev", timeout=30))
        await eventually(lambda: pollers_waiting(live) == 2)
        process = await second.submit(spec("big", cpu="2000m"))
        got = await asyncio.wait_for(waiting_large, 10)
        assert got.processid == process.processid
        with pytest.raises(NoProcessAvailable):
            await waiting_small
