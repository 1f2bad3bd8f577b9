"""The Go CLI's (v1.9.12) 109 commands exist here with the same names, listed from one table.

The table is the Go CLI's command tree (``colonies-go <group> --help``, recursively). A command
we leave out on purpose is in ``LEFT_OUT`` with its reason, and the README lists the same ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from colonies.cli import app

GO_COMMANDS = """
attribute add|attribute get|blueprint add|blueprint definition add|blueprint definition get|
blueprint definition ls|blueprint definition remove|blueprint doctor|blueprint get|
blueprint history|blueprint log|blueprint ls|blueprint reconcile|blueprint remove|blueprint set|
blueprint update|cluster info|colony add|colony check|colony chid|colony ls|colony remove|
colony stats|config|cron add|cron get|cron ls|cron remove|cron run|database create|
database drop|executor add|executor approve|executor chid|executor create|executor get|
executor ls|executor reject|executor remove|fs clean|fs get|fs info|fs label ls|fs label remove|
fs ls|fs remove|fs snapshot create|fs snapshot download|fs snapshot info|fs snapshot ls|
fs snapshot remove|fs snapshot removeall|fs sync|function exec|function ls|function register|
function remove|function submit|generator add|generator get|generator ls|generator pack|
generator remove|location add|location get|location ls|location remove|log add|log get|
log search|monitor start|process assign|process cancel|process close|process fail|process get|
process pause|process ps|process psc|process psf|process pss|process psw|process remove|
process removeall|process resume|process status|security generate|security id|server alive|
server chid|server start|server stats|server status|user add|user chid|user get|user ls|
user remove|version|workflow cancel|workflow get|workflow ps|workflow psc|workflow psf|
workflow pss|workflow psw|workflow remove|workflow removeall|workflow submit
"""
GO = [c.strip() for c in GO_COMMANDS.replace("\n", "").split("|")]

# Commands we do not have, each with the reason (the README lists the same).
LEFT_OUT: dict[str, str] = {}


def our_commands() -> set[str]:
    found: set[str] = set()

    def walk(command: Any, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)  # a group
        if subcommands is not None:
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
        else:
            found.add(" ".join(path))

    walk(typer.main.get_command(app), [])
    return found


def test_the_table_has_the_go_clis_109_commands() -> None:
    assert len(set(GO)) == len(GO) == 109


def test_every_go_command_exists_or_is_listed_as_left_out() -> None:
    missing = [c for c in GO if c not in our_commands() and c not in LEFT_OUT]
    assert missing == []
    assert len(GO) - len(LEFT_OUT) >= 105


def test_the_readme_names_each_command_left_out() -> None:
    readme = Path(__file__).parent.parent.joinpath("README.md").read_text()
    for command in LEFT_OUT:
        assert f"`colonies {command}`" in readme
