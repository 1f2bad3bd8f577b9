"""``colonies server status|stats`` against a live server, and with none there."""

from __future__ import annotations

import json
from pathlib import Path

from colonies.client import Client
from colonies.model import Conditions, FunctionSpec
from conftest import CLI, assert_error, free_port


def test_status_table(cli: CLI) -> None:
    result = cli("server", "status")
    assert result.exit_code == 0, result.stderr
    assert cli.live.url in result.stdout
    assert "Build version" in result.stdout and "http" in result.stdout


def test_status_json(cli: CLI) -> None:
    result = cli("server", "status", "--json")
    assert result.exit_code == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["backends"][0]["type"] == "http"
    assert result.stderr == ""


def test_status_flags_override_the_environment(cli: CLI) -> None:
    result = cli("server", "status", "--host", "127.0.0.1", "--port", str(cli.live.port),
                 COLONIES_SERVER_HOST="nowhere.invalid", COLONIES_SERVER_PORT="1")  # fmt: skip
    assert result.exit_code == 0, result.stderr


def test_status_when_the_server_is_down(cli: CLI) -> None:
    port = free_port()
    result = cli("server", "status", COLONIES_SERVER_PORT=str(port))
    assert_error(result, f"cannot reach the ColonyOS server at http://127.0.0.1:{port}")


def test_stats_table_and_json(cli: CLI) -> None:
    with Client(cli.live.url, cli.member.prvkey) as client:
        client.submit(FunctionSpec(funcname="f", conditions=Conditions("dev", executortype="x")))
    table = cli("server", "stats")
    assert table.exit_code == 0, table.stderr
    assert "Waiting processes" in table.stdout
    stats = json.loads(cli("server", "stats", "--json").stdout)
    assert stats["colonies"] == 1 and stats["waitingprocesses"] == 1
    assert stats["executors"] == 1  # the CLI's member


def test_stats_with_the_wrong_key(cli: CLI) -> None:
    result = cli("server", "stats", COLONIES_SERVER_PRVKEY=cli.live.colony.prvkey)
    assert_error(result, "access denied", "server owner key", "COLONIES_SERVER_PRVKEY")


def test_stats_without_a_key(cli: CLI) -> None:
    result = cli("server", "stats", COLONIES_SERVER_PRVKEY=None)
    assert_error(result, "set COLONIES_SERVER_PRVKEY or pass --serverprvkey")


def test_start_refuses_a_limit_that_is_not_a_number(cli: CLI, tmp_path: Path) -> None:
    result = cli("server", "start", "--data-dir", str(tmp_path), "--serverid", "ab" * 32,
                 COLONIES_MAX_BODY_BYTES="16MB")  # fmt: skip
    assert_error(result, "COLONIES_MAX_BODY_BYTES must be a number, got '16MB'")
    result = cli("server", "start", "--data-dir", str(tmp_path), "--serverid", "ab" * 32,
                 COLONIES_MAX_SUBSCRIPTIONS_PER_KEY="1.5")  # fmt: skip
    assert_error(result, "COLONIES_MAX_SUBSCRIPTIONS_PER_KEY must be a whole number")
