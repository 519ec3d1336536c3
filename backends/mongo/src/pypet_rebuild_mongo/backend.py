"""The MongoDB storage backend: ``mongodb://``, ``mongodb+srv://``, ``mongomock://``.

See docs/mongo.md for the collections and the guarantees. In short: one
database per URL; per-run values as column chunks written in bulk, one
versioned write per batch that becomes visible all at once (``_store``);
values as the core's portable tree in BSON, with arrays as binary fields and
values over ``large_value_bytes`` in GridFS.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from pypet_rebuild.errors import StorageError
from pypet_rebuild.plugins import mask_url
from pypet_rebuild.storage.base import Capability, StorageBackend
from pypet_rebuild.storage.records import NodeRecord, RunRecord, TrajectoryInfo
from pypet_rebuild_mongo._bson_values import decode_mapping, encode_mapping
from pypet_rebuild_mongo._connection import connect, ensure_layout, translate_errors
from pypet_rebuild_mongo._nodes import NodeStore
from pypet_rebuild_mongo._runs import RunStore
from pypet_rebuild_mongo._store import Store

__all__ = ["MongoBackend", "open_mongo", "DEFAULT_LARGE_VALUE_BYTES", "DEFAULT_CHUNK_BYTES"]

DEFAULT_LARGE_VALUE_BYTES = 8 * 2**20
DEFAULT_CHUNK_BYTES = 2**20
DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 2000
# A document holds at most one chunk's worth of values plus one value just
# under the GridFS threshold; both together must stay clear of MongoDB's 16 MB.
_DOCUMENT_BUDGET = 14 * 2**20

Method = TypeVar("Method", bound=Callable[..., Any])


def _guarded(doing: str) -> Callable[[Method], Method]:
    """Report driver failures of a method as ``StorageError``s naming the URL."""

    def decorate(method: Method) -> Method:
        @functools.wraps(method)
        def wrapper(self: MongoBackend, *args: Any, **kwargs: Any) -> Any:
            with translate_errors(self.url, doing):
                return method(self, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _info(doc: dict[str, Any]) -> TrajectoryInfo:
    return TrajectoryInfo(doc["_id"], doc["created"], doc.get("comment", ""), decode_mapping(doc.get("metadata")))


class MongoBackend(StorageBackend):
    """Trajectories in one MongoDB database (or one named mongomock store)."""

    capabilities = frozenset({Capability.COLUMNAR, Capability.PERSISTENT, Capability.TRANSACTIONS})

    def __init__(
        self,
        url: str,
        *,
        large_value_bytes: int = DEFAULT_LARGE_VALUE_BYTES,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        server_selection_timeout_ms: int = DEFAULT_SERVER_SELECTION_TIMEOUT_MS,
    ) -> None:
        super().__init__(url)
        sizes = {
            "large_value_bytes": large_value_bytes,
            "chunk_bytes": chunk_bytes,
            "server_selection_timeout_ms": server_selection_timeout_ms,
        }
        for option, value in sizes.items():
            if type(value) is not int or value <= 0:
                raise StorageError(f"{option} for {mask_url(url)!r} must be a positive int, got {value!r}")
        if large_value_bytes + chunk_bytes > _DOCUMENT_BUDGET:
            raise StorageError(
                f"large_value_bytes + chunk_bytes for {mask_url(url)!r} is {large_value_bytes + chunk_bytes}, "
                f"but must stay within {_DOCUMENT_BUDGET} so that every document fits MongoDB's 16 MB limit"
            )
        self._client, database, self._owns_client = connect(url, server_selection_timeout_ms=server_selection_timeout_ms)
        try:
            with translate_errors(url, "opening the database"):
                ensure_layout(database, url)
        except BaseException:
            self.close()
            raise
        self._store = Store(url, database)
        self._nodes = NodeStore(self._store, large_value_bytes)
        self._runs = RunStore(self._store, chunk_bytes=chunk_bytes, large_value_bytes=large_value_bytes)

    @property
    def database(self) -> Any:
        """The pymongo (or mongomock) ``Database``, for queries of your own:
        annotations and metadata are stored with escaped keys and values in
        the portable tree's BSON form, e.g. ``{"annotations.unit.v": "mV"}``."""
        return self._store.database

    def close(self) -> None:
        if self._owns_client and self._client is not None:
            self._client.close()
        self._client = None

    # -- trajectories -------------------------------------------------------------------

    @_guarded("listing trajectories")
    def list_trajectories(self) -> list[TrajectoryInfo]:
        docs = self._store.trajectories.find({}, {"created": 1, "comment": 1, "metadata": 1, "uid": 1})
        return [_info(doc) for doc in sorted(docs, key=lambda doc: (doc["created"], doc["uid"]))]

    @_guarded("creating a trajectory")
    def create_trajectory(self, info: TrajectoryInfo, *, overwrite: bool = False) -> None:
        doc = {
            "_id": info.name,
            # Other documents refer to this, so a replaced trajectory's leftovers
            # stay invisible. Kept as the ObjectId's hex string (same order,
            # same uniqueness): some wire-protocol servers (nx-27017) cannot
            # match ObjectIds outside ``_id``; trajectories written with an
            # ObjectId uid read the same, since every query uses the stored value.
            "uid": str(ObjectId()),
            "created": float(info.created),
            "comment": info.comment,
            "metadata": encode_mapping(info.metadata),
            "next_seq": 0,
            "open": [],
            "settling": [],
            "run_paths": [],
        }
        trajectories = self._store.trajectories
        if not overwrite:
            try:
                trajectories.insert_one(doc)
            except DuplicateKeyError:
                raise StorageError(
                    f"{mask_url(self.url)!r} already holds a trajectory {info.name!r}; pass overwrite=True "
                    "to replace it, resume=True to continue it, or choose another name"
                ) from None
            return
        replaced = trajectories.find_one_and_replace(
            {"_id": info.name}, doc, upsert=True, return_document=ReturnDocument.BEFORE
        )
        if replaced is not None:
            self._store.purge(replaced["uid"])

    @_guarded("deleting a trajectory")
    def delete_trajectory(self, name: str) -> None:
        doc = self._store.trajectories.find_one_and_delete({"_id": name})
        if doc is None:
            raise self._store.not_found(name)
        self._store.purge(doc["uid"])

    @_guarded("loading trajectory information")
    def load_info(self, name: str) -> TrajectoryInfo:
        return _info(self._store.snapshot(name).document)

    @_guarded("updating metadata")
    def update_metadata(self, name: str, metadata: dict[str, Any]) -> None:
        encoded = encode_mapping(metadata)
        if not encoded:
            self._store.snapshot(name)  # still: an unknown name is an error
            return
        update = {"$set": {f"metadata.{key}": value for key, value in encoded.items()}}
        if self._store.trajectories.update_one({"_id": name}, update).matched_count != 1:
            raise self._store.not_found(name)

    # -- nodes ----------------------------------------------------------------------------

    @_guarded("storing nodes")
    def store_nodes(self, name: str, records: Sequence[NodeRecord]) -> None:
        self._nodes.write(name, records)

    @_guarded("loading nodes")
    def load_nodes(self, name: str, *, prefix: str = "", with_data: bool = True) -> list[NodeRecord]:
        return self._nodes.load(name, prefix, with_data)

    @_guarded("loading items")
    def load_items(self, name: str, path: str, items: Sequence[str] | None = None) -> dict[str, Any]:
        return self._nodes.load_items(name, path, items)

    @_guarded("removing nodes")
    def remove_nodes(self, name: str, paths: Sequence[str]) -> None:
        self._nodes.remove(name, paths)

    # -- runs -----------------------------------------------------------------------------

    @_guarded("storing runs")
    def store_runs(self, name: str, runs: Sequence[RunRecord]) -> None:
        self._runs.store_batch(name, runs)

    @_guarded("loading run status")
    def load_run_infos(self, name: str) -> list[RunRecord]:
        return self._runs.load_infos(name)

    @_guarded("loading a run")
    def load_run(self, name: str, idx: int, *, with_data: bool = True) -> list[NodeRecord]:
        return self._runs.load_run(name, idx, with_data)

    @_guarded("listing run paths")
    def list_run_paths(self, name: str) -> list[str]:
        return self._runs.list_paths(name)

    @_guarded("loading a column")
    def load_column(self, name: str, run_path: str, item: str) -> tuple[np.ndarray, list[Any]]:
        return self._runs.load_column(name, run_path, item)

    @_guarded("loading a column")
    def load_column_array(self, name: str, run_path: str, item: str) -> tuple[np.ndarray, np.ndarray]:
        return self._runs.load_column_array(name, run_path, item)


_OPTIONS = ("large_value_bytes", "chunk_bytes", "server_selection_timeout_ms")


def open_mongo(url: str, **options: Any) -> MongoBackend:
    """The opener registered for the ``mongo`` backend; rejects unknown options by name."""
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise StorageError(
            f"unknown option(s) {unknown} for the MongoDB backend at {mask_url(url)!r}; it accepts {list(_OPTIONS)}"
        )
    return MongoBackend(url, **options)
