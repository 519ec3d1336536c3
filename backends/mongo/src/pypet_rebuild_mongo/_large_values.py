"""Values too large for a document, in the GridFS bucket ``large_values``.

A MongoDB document may not exceed 16 MB. A value whose BSON form would pass
the backend's ``large_value_bytes`` threshold is written as one GridFS file
(the core's self-describing ``pack`` blob, never pickled unless the user
allowed it for that item) and the document holds ``{"gridfs": file_id}``.

Each file's metadata names its trajectory, the write (``seq``) that uploaded
it and, for run values, the run: rolling back or replacing a write finds its
files without reading the documents that refer to them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import gridfs

from pypet_rebuild.values import pack, unpack

__all__ = ["LargeValues"]


class LargeValues:
    """The GridFS bucket of one database."""

    def __init__(self, database: Any, bucket: str) -> None:
        # The legacy GridFS API: mongomock's GridFS integration supports it,
        # while GridFSBucket fails on mongomock with pymongo 4.x.
        self._fs = gridfs.GridFS(database, collection=bucket)
        self._files = database[f"{bucket}.files"]

    def put(self, value: Any, *, allow_pickle: bool, **metadata: Any) -> Any:
        """Upload one value; returns the file id to store in its place."""
        return self._fs.put(pack(value, allow_pickle=allow_pickle), metadata=metadata)

    def get(self, file_id: Any, *, metadata: bool = False) -> Any:
        """Download one value; ``metadata`` (explored ranges) refuses any pickle."""
        return unpack(self._fs.get(file_id).read(), metadata=metadata)

    def delete(self, file_ids: Iterable[Any]) -> None:
        """Delete files by id; ids already gone are ignored (repairs may repeat)."""
        for file_id in file_ids:
            self._fs.delete(file_id)

    def delete_where(self, **metadata: Any) -> None:
        """Delete every file whose metadata matches, e.g. ``traj=uid, seq=3``;
        a list value matches any of its elements."""
        query = {
            f"metadata.{key}": {"$in": list(value)} if isinstance(value, (list, tuple, set)) else value
            for key, value in metadata.items()
        }
        self.delete([doc["_id"] for doc in self._files.find(query, {"_id": 1})])
