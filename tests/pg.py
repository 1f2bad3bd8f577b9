"""A fresh PostgreSQL database per use, on the server this machine type runs (127.0.0.1:5432,
trust auth, user postgres; ``COLONIES_TEST_POSTGRES`` overrides the maintenance URL).

Creating and dropping a database costs ~50 ms here, so every store and server under test gets
its own and nothing leaks between tests.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg

ADMIN_URL = os.environ.get(
    "COLONIES_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def database_url(name: str) -> str:
    """The admin URL with its database replaced by ``name``."""
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """Create an empty database, yield its URL, drop it (closing what is still connected)."""
    name = f"colonies_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(name)
    finally:
        drop_database(database_url(name))


_readers: dict[str, psycopg.Connection[Any]] = {}


def reader(url: str) -> psycopg.Connection[Any]:
    """One autocommit connection for a test to read the database of ``url`` through, kept
    until ``drop_database`` (a connection costs ~10 ms; fingerprints read hundreds of times)."""
    if url not in _readers:
        _readers[url] = psycopg.connect(url, autocommit=True)
    return _readers[url]


def drop_database(url: str) -> None:
    """Drop the database of ``url`` (one ``fresh_database`` made), closing its connections."""
    if (connection := _readers.pop(url, None)) is not None:
        connection.close()
    name = url.rpartition("/")[2]
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
