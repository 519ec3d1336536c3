"""MongoDB storage for pypet-rebuild: ``Environment(storage="mongodb://host/db")``.

Also answers ``mongomock://name`` (an in-process mongomock store shared by
name within one process) for tests and demonstrations without a server.
"""

from __future__ import annotations

from pypet_rebuild_mongo._connection import LAYOUT_NAME, LAYOUT_VERSION
from pypet_rebuild_mongo.backend import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_LARGE_VALUE_BYTES,
    MongoBackend,
    open_mongo,
)

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "DEFAULT_LARGE_VALUE_BYTES",
    "LAYOUT_NAME",
    "LAYOUT_VERSION",
    "MongoBackend",
    "open_mongo",
]
