"""Storage behind the server: the ``Store`` protocol and its implementations."""

from __future__ import annotations

from pathlib import Path

from colonies.store.base import AlreadyExists, ProcessUpdate, Store
from colonies.store.sqlite import SQLiteStore

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: str | Path) -> bool:
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def open_store(target: str | Path) -> Store:
    """A PostgreSQL URL opens a ``PostgresStore`` (its pool connects on first use); anything
    else is the path of a SQLite file. psycopg is imported only for PostgreSQL."""
    if is_postgres_url(target):
        from colonies.store.postgres import PostgresStore

        return PostgresStore(str(target))
    return SQLiteStore(target)


__all__ = [
    "AlreadyExists",
    "ProcessUpdate",
    "SQLiteStore",
    "Store",
    "is_postgres_url",
    "open_store",
]
