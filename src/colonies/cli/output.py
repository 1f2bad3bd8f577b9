"""Shared CLI output: human text on stderr, results on stdout, one-line errors."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

err = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear error line on stderr and exit non-zero."""
    err.print(f"[bold red]Error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)
