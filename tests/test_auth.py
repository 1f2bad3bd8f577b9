"""The authorization checks (server/auth.py) on their own, against a real store: each role's
yes and no, with the status and the Go server's wording."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from colonies.model import Colony, Executor, ExecutorState, Process, User
from colonies.rpc import RPCError
from colonies.server import ServerConfig, auth
from colonies.server.context import ServerContext
from colonies.store.sqlite import SQLiteStore

SERVER, OWNER, OTHER_OWNER = "5" * 64, "0" * 64, "9" * 64
STATES = {
    "approved": ExecutorState.APPROVED,
    "pending": ExecutorState.PENDING,
    "rejected": ExecutorState.REJECTED,
    "unregistered": ExecutorState.UNREGISTERED,
}


def ident(name: str) -> str:
    return name.encode().hex().ljust(64, "0")[:64]


@pytest.fixture
async def ctx(tmp_path: Path) -> AsyncIterator[ServerContext]:
    """Colony "dev" with an executor in each state and a user "alice"; colony "other" with an
    approved executor "outsider" and, under the ID of dev's approved executor, a pending one."""
    store = SQLiteStore(tmp_path / "auth.db")
    await store.set_server_id(SERVER)
    await store.add_colony(Colony(colonyid=OWNER, name="dev"))
    await store.add_colony(Colony(colonyid=OTHER_OWNER, name="other"))
    for name, state in STATES.items():
        await store.add_executor(
            Executor(executorid=ident(name), executorname=name, colonyname="dev", state=state)
        )
    await store.add_user(User(colonyname="dev", userid=ident("alice"), name="alice"))
    await store.add_executor(
        Executor(
            executorid=ident("outsider"),
            executorname="outsider",
            colonyname="other",
            state=ExecutorState.APPROVED,
        )
    )
    await store.add_executor(
        Executor(
            executorid=ident("pending"),
            executorname="double",
            colonyname="other",
            state=ExecutorState.APPROVED,
        )
    )
    yield ServerContext(store=store, config=ServerConfig(server_id=SERVER))
    await store.close()


async def refused(call: object, status: int = 403) -> str:
    with pytest.raises(RPCError) as refusal:
        await call  # type: ignore[misc]
    assert refusal.value.status == status
    return refusal.value.message


def test_denied_is_a_403() -> None:
    error = auth.denied("no")
    assert (error.status, error.message) == (403, "no")


async def test_server_owner(ctx: ServerContext) -> None:
    await auth.require_server_owner(ctx, SERVER)
    for signer in (OWNER, ident("approved"), ""):
        message = await refused(auth.require_server_owner(ctx, signer))
        assert message == "Access denied, not server owner"


async def test_no_server_owner_without_a_server_id(ctx: ServerContext) -> None:
    await ctx.store.set_server_id("")
    assert await refused(auth.require_server_owner(ctx, "")) == "Access denied, not server owner"


async def test_colony(ctx: ServerContext) -> None:
    assert await auth.require_colony(ctx, "dev") == Colony(colonyid=OWNER, name="dev")
    message = await refused(auth.require_colony(ctx, "nope"))
    assert message == "Colony with name <nope> does not exists"
    assert await refused(auth.require_colony(ctx, "")) == "Colony with name <> does not exists"


async def test_colony_owner(ctx: ServerContext) -> None:
    assert (await auth.require_colony_owner(ctx, OWNER, "dev")).name == "dev"
    for signer in (OTHER_OWNER, SERVER, ident("approved")):
        message = await refused(auth.require_colony_owner(ctx, signer, "dev"))
        assert message == "Access denied, not colony owner"
    message = await refused(auth.require_colony_owner(ctx, OWNER, "nope"))
    assert message == "Colony with name <nope> does not exists"
    assert await refused(auth.require_colony_owner(ctx, OWNER, "")) == "Empty Colony name"


async def test_members_of_the_colony(ctx: ServerContext) -> None:
    executor = await auth.require_member(ctx, ident("approved"), "dev")
    assert isinstance(executor, Executor) and executor.executorname == "approved"
    user = await auth.require_member(ctx, ident("alice"), "dev")
    assert isinstance(user, User) and user.name == "alice"
    for signer in ("pending", "rejected", "unregistered", "outsider", "stranger"):
        message = await refused(auth.require_member(ctx, ident(signer), "dev"))
        assert message == "Access denied, not a member of Colony with name <dev>", signer
    await refused(auth.require_member(ctx, ident("approved"), "nope"))
    # "pending" is an approved executor of "other" under the same ID
    other = await auth.require_member(ctx, ident("pending"), "other")
    assert isinstance(other, Executor) and other.executorname == "double"
    await refused(auth.require_member(ctx, ident("approved"), "other"))


async def test_members_that_need_not_be_approved(ctx: ServerContext) -> None:
    for name in ("approved", "pending", "rejected"):
        member = await auth.require_member(ctx, ident(name), "dev", approved=False)
        assert isinstance(member, Executor) and member.executorname == name
    assert isinstance(await auth.require_member(ctx, ident("alice"), "dev", approved=False), User)
    for signer in ("unregistered", "outsider", "stranger"):
        await refused(auth.require_member(ctx, ident(signer), "dev", approved=False))


async def test_a_member_call_refreshes_an_executor_that_has_polled(ctx: ServerContext) -> None:
    await ctx.store.mark_alive("dev", ident("approved"), 1)  # it polled, long ago
    await auth.require_member(ctx, ident("approved"), "dev")
    executor = await ctx.store.get_executor("dev", "approved")
    assert executor is not None and executor.lastheardfromtime > "1970-01-01T00:00:01Z"


async def test_a_member_call_does_not_make_a_client_key_a_worker(ctx: ServerContext) -> None:
    """An approved executor that never polled (a key used only as a client) is not marked
    heard by its calls, so it can never be taken for a stale worker."""
    await auth.require_member(ctx, ident("approved"), "dev")
    executor = await ctx.store.get_executor("dev", "approved")
    assert executor is not None and executor.lastheardfromtime == "0001-01-01T00:00:00Z"


async def test_executors(ctx: ServerContext) -> None:
    executor = await auth.require_executor(ctx, ident("approved"), "dev")
    assert executor.executorname == "approved"
    message = await refused(auth.require_executor(ctx, ident("alice"), "dev"))
    assert message == "Access denied, the caller is not an executor"
    await refused(auth.require_executor(ctx, ident("pending"), "dev"))


def test_assigned_executor() -> None:
    running = Process(processid="p", isassigned=True, assignedexecutorid=ident("approved"))
    auth.require_assigned(running, ident("approved"))
    for process, signer in (
        (running, ident("other")),
        (Process(processid="p", isassigned=False, assignedexecutorid=ident("x")), ident("x")),
    ):
        with pytest.raises(RPCError) as refusal:
            auth.require_assigned(process, signer)
        assert (refusal.value.status, refusal.value.message) == (
            403,
            "Access denied, process p is not assigned to the calling executor",
        )
