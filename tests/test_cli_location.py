"""``colonies location add|ls|get|remove`` against a live server."""

from __future__ import annotations

import json

from colonies import crypto
from colonies.client import Client
from colonies.model import Colony, Executor
from conftest import CLI, Identity, LiveServer, assert_error


def other_colony(live: LiveServer, name: str = "other") -> tuple[Identity, Identity]:
    """A second colony; returns its owner's key and the key of an approved executor in it."""
    owner, member = (Identity(crypto.generate_private_key()) for _ in range(2))
    with Client(live.url, live.server.prvkey) as client:
        client.add_colony(Colony(colonyid=owner.id, name=name))
    with Client(live.url, owner.prvkey) as client:
        client.add_executor(
            Executor(executorid=member.id, executortype="t", executorname="m", colonyname=name)
        )
        client.approve_executor(name, "m")
    return owner, member


def test_add_list_get_remove(cli: CLI) -> None:
    added = cli(
        "location", "add", "--name", "lab", "--desc", "Basement lab", "--long", "18.07",
        "--lat", "59.33",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    locationid = added.stdout.strip()
    assert len(locationid) == 64 and "Location lab added" in added.stderr
    assert cli("location", "add", "--name", "roof", "--json").exit_code == 0

    listed = cli("location", "ls", "--json")
    assert listed.exit_code == 0, listed.stderr
    by_name = {loc["name"]: loc for loc in json.loads(listed.stdout)}
    assert set(by_name) == {"lab", "roof"}
    assert by_name["lab"] == {
        "locationid": locationid,
        "name": "lab",
        "colonyname": "dev",
        "description": "Basement lab",
        "long": 18.07,
        "lat": 59.33,
    }
    table = cli("location", "ls")
    assert "Basement lab" in table.stdout and locationid in table.stdout

    got = cli("location", "get", "--name", "lab")
    assert got.exit_code == 0 and "59.33" in got.stdout and "Basement lab" in got.stdout
    assert json.loads(cli("location", "get", "--name", "lab", "--json").stdout) == by_name["lab"]

    removed = cli("location", "remove", "--name", "lab", "--yes")
    assert removed.exit_code == 0, removed.stderr
    assert [loc["name"] for loc in json.loads(cli("location", "ls", "--json").stdout)] == ["roof"]
    assert_error(cli("location", "get", "--name", "lab"), "location with name lab not found")


def test_empty_list(cli: CLI) -> None:
    result = cli("location", "ls")
    assert result.exit_code == 0 and result.stdout == ""
    assert "No locations" in result.stderr
    assert json.loads(cli("location", "ls", "--json").stdout) == []


def test_remove_asks_for_confirmation(cli: CLI) -> None:
    assert cli("location", "add", "--name", "lab").exit_code == 0
    assert_error(cli("location", "remove", "--name", "lab"), "pass --yes")
    assert len(json.loads(cli("location", "ls", "--json").stdout)) == 1


def test_errors(cli: CLI) -> None:
    assert_error(cli("location", "add", "--name", ""), "Invalid location name")
    assert cli("location", "add", "--name", "lab").exit_code == 0
    assert_error(cli("location", "add", "--name", "lab"), "lab")  # a duplicate name
    # A member may read but not change locations.
    member = cli.member.prvkey
    assert_error(
        cli("location", "add", "--name", "x", COLONIES_COLONY_PRVKEY=member), "access denied"
    )
    assert_error(
        cli("location", "remove", "--name", "lab", "--yes", COLONIES_COLONY_PRVKEY=member),
        "access denied",
    )
    assert_error(cli("location", "add", "--name", "x", COLONIES_COLONY_PRVKEY=None), "colony")
    assert_error(cli("location", "ls", COLONIES_COLONY_NAME=None), "COLONIES_COLONY_NAME")
    assert_error(cli("location", "ls", "--port", "1"), "cannot reach")


def test_colonies_are_isolated(cli: CLI) -> None:
    other, other_member = other_colony(cli.live)
    assert cli("location", "add", "--name", "lab").exit_code == 0
    # The other colony's owner and member can neither read nor change dev's locations ...
    for key in (other, other_member):
        assert_error(cli("location", "ls", COLONIES_PRVKEY=key.prvkey), "access denied")
        assert_error(cli("location", "get", "--name", "lab", COLONIES_PRVKEY=key.prvkey))
    assert_error(
        cli("location", "remove", "--name", "lab", "--yes", COLONIES_COLONY_PRVKEY=other.prvkey)
    )
    assert_error(cli("location", "add", "--name", "x", COLONIES_COLONY_PRVKEY=other.prvkey))
    # ... and its own list is separate.
    own = cli(
        "location", "add", "--name", "lab", COLONIES_COLONY_NAME="other",
        COLONIES_COLONY_PRVKEY=other.prvkey,
    )  # fmt: skip
    assert own.exit_code == 0, own.stderr
    listed = cli(
        "location", "ls", "--json", COLONIES_COLONY_NAME="other",
        COLONIES_PRVKEY=other_member.prvkey,
    )  # fmt: skip
    assert [loc["colonyname"] for loc in json.loads(listed.stdout)] == ["other"]
    assert len(json.loads(cli("location", "ls", "--json").stdout)) == 1
