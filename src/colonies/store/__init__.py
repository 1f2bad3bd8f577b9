"""Storage behind the server: the ``Store`` protocol and its implementations."""

from colonies.store.base import AlreadyExists, ProcessUpdate, Store
from colonies.store.sqlite import SQLiteStore

__all__ = ["AlreadyExists", "ProcessUpdate", "SQLiteStore", "Store"]
