"""ColonyFS on the client side: object stores for file bytes and the operations over them.

``colonies.fs.storage`` has the stores (S3 through boto3, imported only when used, and a local
directory) and ``from_env``; ``colonies.fs.ops`` the operations, shared by ``Client``,
``AsyncClient`` and ``colonies fs``. Stdlib only until an S3 store is made.
"""

from __future__ import annotations

from colonies.fs.ops import CleanPlan, FileInfo, FsError, Progress, SyncPlan
from colonies.fs.storage import (
    LocalStore,
    ObjectStore,
    S3Store,
    StorageError,
    from_env,
)

__all__ = [
    "CleanPlan",
    "FileInfo",
    "FsError",
    "LocalStore",
    "ObjectStore",
    "Progress",
    "S3Store",
    "StorageError",
    "SyncPlan",
    "from_env",
]
