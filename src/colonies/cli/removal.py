"""``removeall`` commands (processes, workflows): which state the flags chose, and the Go CLI's
"type YES" confirmation."""

from __future__ import annotations

import sys

import typer

from colonies.cli.output import fail
from colonies.model import ProcessState


def chosen_state(
    *, waiting: bool, successful: bool, failed: bool, cancelled: bool
) -> ProcessState | None:
    """The one state the flags name, or ``None`` for every state; more than one is an error."""
    chosen = [
        state
        for flag, state in (
            (waiting, ProcessState.WAITING),
            (successful, ProcessState.SUCCESS),
            (failed, ProcessState.FAILED),
            (cancelled, ProcessState.CANCELLED),
        )
        if flag
    ]
    if len(chosen) > 1:
        fail("pass at most one of --waiting, --successful, --failed, --cancelled")
    return chosen[0] if chosen else None


def confirm(question: str) -> None:
    """Ask for "YES" like the Go CLI; without a terminal to ask on, refuse instead of guessing."""
    if not stdin_is_terminal():
        fail("refusing to remove without confirmation: stdin is not a terminal, pass --yes")
    answer = typer.prompt(
        f"{question} Type YES to confirm", default="", show_default=False, err=True
    )
    if answer != "YES":
        fail("aborted, nothing removed")


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()
