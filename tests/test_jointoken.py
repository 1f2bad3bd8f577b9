"""Join tokens: an executor joins with the owner's signed token instead of the colony key."""

from __future__ import annotations

import time

import pytest

from colonies import crypto, jointoken
from colonies.client import Client
from colonies.errors import AccessDeniedError
from colonies.model import Conditions, Executor, ExecutorState, FunctionSpec
from conftest import Identity, LiveServer


def record(
    key: Identity, name: str = "tab-1", executortype: str = "wasm", colonyname: str = "dev"
) -> Executor:
    return Executor(
        executorid=key.id, executorname=name, executortype=executortype, colonyname=colonyname
    )


def test_token_round_trip_and_checks() -> None:
    owner = crypto.generate_private_key()
    token = jointoken.create(owner, "dev", "wasm", 60)
    parsed = jointoken.verify(
        token, colonyid=crypto.id_from_private_key(owner), colonyname="dev", executortype="wasm"
    )
    assert parsed.colonyname == "dev" and parsed.expires > time.time()
    other = crypto.id_from_private_key(crypto.generate_private_key())
    cases = [
        (dict(colonyid=other, colonyname="dev", executortype="wasm"), "not signed by the owner"),
        (dict(colonyid=parsed.signer(), colonyname="prod", executortype="wasm"), "for colony"),
        (dict(colonyid=parsed.signer(), colonyname="dev", executortype="cli"), "executor type"),
    ]
    for kwargs, message in cases:
        with pytest.raises(jointoken.TokenError, match=message):
            jointoken.verify(token, **kwargs)  # type: ignore[arg-type]
    expired = jointoken.create(owner, "dev", "wasm", 1, now=time.time() - 10)
    with pytest.raises(jointoken.TokenError, match="expired"):
        jointoken.verify(expired, colonyid=parsed.signer(), colonyname="dev", executortype="wasm")
    claims, _, signature = token.partition(".")
    forged_claims = jointoken.create(crypto.generate_private_key(), "dev", "wasm", 3600)
    tampered = forged_claims.partition(".")[0] + "." + signature
    with pytest.raises(jointoken.TokenError, match="not signed by the owner"):
        jointoken.verify(tampered, colonyid=parsed.signer(), colonyname="dev", executortype="wasm")
    for garbage in ("", "abc", "!!!.zz", claims):
        with pytest.raises(jointoken.TokenError):
            jointoken.verify(
                garbage, colonyid=parsed.signer(), colonyname="dev", executortype="wasm"
            )


def test_server_registers_and_approves_with_a_token(live: LiveServer) -> None:
    token = jointoken.create(live.colony.prvkey, "dev", "wasm", 600)
    key = Identity(crypto.generate_private_key())
    with Client(live.url, key.prvkey) as client:
        joined = client.add_executor_by_token(record(key), token)
        assert joined.state == ExecutorState.APPROVED
        client.submit(
            FunctionSpec(
                funcname="echo", conditions=Conditions(colonyname="dev", executortype="wasm")
            )
        )
        assert client.assign("dev", timeout=2).assignedexecutorid == key.id
        # the same token brings a second tab; a reload (same key, kept by the page) re-registers
        second = Identity(crypto.generate_private_key())
        client.add_executor_by_token(record(second, "tab-2"), token, prvkey=second.prvkey)
        again = client.add_executor_by_token(record(key), token)
        assert again.state == ExecutorState.APPROVED
        # but another key cannot take a held name over (tests/test_membership_security.py)
        other = Identity(crypto.generate_private_key())
        with pytest.raises(AccessDeniedError, match="held by another executor's key"):
            client.add_executor_by_token(record(other), token, prvkey=other.prvkey)
        names = {e.executorname: e.executorid for e in client.get_executors("dev")}
        assert names["tab-1"] == key.id and names["tab-2"] == second.id


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda live: jointoken.create(
                live.colony.prvkey, "dev", "wasm", 1, now=time.time() - 60
            ),
            "expired",
        ),
        (
            lambda live: jointoken.create(crypto.generate_private_key(), "dev", "wasm", 600),
            "not signed by the owner",
        ),
        (lambda live: jointoken.create(live.colony.prvkey, "dev", "cli", 600), "executor type"),
        (lambda live: jointoken.create(live.colony.prvkey, "other", "wasm", 600), "for colony"),
        (lambda live: "not-a-token", "malformed"),
    ],
)
def test_server_refuses_bad_tokens(live: LiveServer, build, message: str) -> None:  # type: ignore[no-untyped-def]
    key = Identity(crypto.generate_private_key())
    with Client(live.url, key.prvkey) as client, pytest.raises(AccessDeniedError, match=message):
        client.add_executor_by_token(record(key), build(live))


def test_token_cannot_register_someone_elses_key_or_type(live: LiveServer) -> None:
    token = jointoken.create(live.colony.prvkey, "dev", "wasm", 600)
    key, impostor = Identity(crypto.generate_private_key()), Identity(crypto.generate_private_key())
    with Client(live.url, impostor.prvkey) as client:
        with pytest.raises(AccessDeniedError, match="must sign its own registration"):
            client.add_executor_by_token(record(key), token)
        with Client(live.url, live.colony.prvkey) as owner:
            owner.add_executor(record(key, "gpu-1", executortype="gpu"))
        with pytest.raises(AccessDeniedError):
            client.add_executor_by_token(record(impostor, "gpu-1", executortype="wasm"), token)
