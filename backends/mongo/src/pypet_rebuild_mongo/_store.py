"""Versioned writes: all or nothing without multi-document transactions.

MongoDB without a replica set writes each document atomically but offers no
transaction across documents. So every write of nodes or runs is numbered
(``seq``, counted per trajectory) and goes through three steps, each ending
in one atomic update of the trajectory document:

1. *begin*: take the next ``seq`` and list it under ``open``. Documents
   written with an open ``seq`` are invisible to every reader.
2. write the new documents (new versions; nothing is overwritten), then
   *commit*: move ``seq`` from ``open`` to ``settling``. From this instant
   the write is visible as a whole.
3. *settle*: delete the versions the write replaced (and their GridFS
   files), then drop ``seq`` from ``settling``.

Readers take a ``Snapshot`` of the trajectory document and see documents
with ``seq < next_seq`` that are not ``open``; where a key (node path, run
index) has several versions, the highest ``seq`` wins. A trajectory with
nothing settling (the normal case) holds exactly one visible version per
key, so readers skip that resolution. A writer killed at any point leaves
its ``seq`` listed; a later write rolls back what is still open (once it
is older than ``STALE_WRITE_SECONDS``: other processes may be writing the
same trajectory at the same time) and finishes what is settling. Settling only ever deletes versions that a
newer committed one hides, and a run's entries in a chunk document are
rewritten (``replace_one``, atomic per document) without those versions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from pypet_rebuild.errors import StorageError, TrajectoryNotFoundError
from pypet_rebuild.plugins import mask_url
from pypet_rebuild_mongo._connection import LARGE_VALUES_BUCKET
from pypet_rebuild_mongo._large_values import LargeValues

__all__ = ["Settler", "Snapshot", "Store", "latest_versions"]

logger = logging.getLogger(__name__)

# An open write older than this is taken for abandoned by a killed process.
STALE_WRITE_SECONDS = 600.0


@dataclass(frozen=True)
class Snapshot:
    """What one read sees of a trajectory: its document at one instant."""

    name: str
    uid: Any
    next_seq: int
    open: frozenset[int]
    settling: frozenset[int]
    document: dict[str, Any] = field(repr=False)

    @property
    def single_versions(self) -> bool:
        """Whether every visible key has one version (nothing is settling), so
        readers need not pick the highest ``seq``. Open writes do not matter:
        ``query`` already hides them."""
        return not self.settling

    def query(self, **conditions: Any) -> dict[str, Any]:
        """A filter for this trajectory's documents that this snapshot may see.

        The caller's conditions come first: the server does not care about the
        order, but mongomock tests them in order on every document it scans.
        """
        seq: dict[str, Any] = {"$lt": self.next_seq}
        if self.open:
            seq["$nin"] = sorted(self.open)
        return {**conditions, "traj": self.uid, "seq": seq}


class Settler(Protocol):
    """Node or run storage: removes the older versions of what write ``seq``
    stored. Called after each commit and by repairs, so it must be idempotent."""

    def settle(self, snapshot: Snapshot, seq: int) -> None: ...


def latest_versions(documents: Iterable[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    """The highest-``seq`` document per value of ``key``."""
    latest: dict[Any, dict[str, Any]] = {}
    for document in documents:
        held = latest.get(document[key])
        if held is None or document["seq"] > held["seq"]:
            latest[document[key]] = document
    return latest


class Store:
    """The collections of one database and the write protocol over them."""

    def __init__(self, url: str, database: Any) -> None:
        self.url = url
        self.database = database
        self.trajectories = database["trajectories"]
        self.nodes = database["nodes"]
        self.runs = database["runs"]
        self.run_items = database["run_items"]
        self.large = LargeValues(database, LARGE_VALUES_BUCKET)
        self.settlers: list[Settler] = []

    def names(self) -> list[str]:
        return sorted(doc["_id"] for doc in self.trajectories.find({}, {"_id": 1}))

    def not_found(self, name: str) -> TrajectoryNotFoundError:
        return TrajectoryNotFoundError(f"{mask_url(self.url)!r} holds no trajectory {name!r}; it holds {self.names()}")

    def snapshot(self, name: str) -> Snapshot:
        document = self.trajectories.find_one({"_id": name})
        if document is None:
            raise self.not_found(name)
        return Snapshot(
            name,
            document["uid"],
            document["next_seq"],
            frozenset(document.get("open", ())),
            frozenset(document.get("settling", ())),
            document,
        )

    # -- the write protocol -------------------------------------------------------

    @contextmanager
    def writing(self, snapshot: Snapshot) -> Iterator[int]:
        """Begin a write and roll it back if the body raises before committing."""
        if snapshot.open or snapshot.settling:
            self._repair(snapshot)
        seq = self._begin(snapshot)
        try:
            yield seq
        except BaseException:
            try:
                self._rollback(snapshot, seq)
            except Exception:  # the server is gone: the next write rolls it back
                logger.warning("could not roll back write %d of %r; the next write will", seq, snapshot.name)
            raise

    def _begin(self, snapshot: Snapshot) -> int:
        """Take the next ``seq`` and list it as open in one atomic update.

        A compare-and-swap on ``next_seq``: taking the number and opening it
        in two updates would let a reader see ``next_seq`` past a write that
        is not yet listed as open, and then read that write half-done.
        Another writer taking the same number first makes the swap miss;
        then the next number is tried.
        """
        while True:
            current = self.trajectories.find_one({"_id": snapshot.name, "uid": snapshot.uid}, {"next_seq": 1})
            if current is None:
                raise self._vanished(snapshot)
            seq = current["next_seq"]
            taken = self.trajectories.update_one(
                {"_id": snapshot.name, "uid": snapshot.uid, "next_seq": seq},
                {"$set": {"next_seq": seq + 1, f"opened.{seq}": time.time()}, "$push": {"open": seq}},
            )
            if taken.matched_count == 1:
                return int(seq)

    def commit(self, snapshot: Snapshot, seq: int, run_paths: Iterable[str] = ()) -> None:
        """Make write ``seq`` visible, all at once; the last step inside ``writing``."""
        update: dict[str, Any] = {"$pull": {"open": seq}, "$push": {"settling": seq}, "$unset": {f"opened.{seq}": ""}}
        paths = sorted(set(run_paths))
        if paths:
            update["$addToSet"] = {"run_paths": {"$each": paths}}
        result = self.trajectories.update_one({"_id": snapshot.name, "uid": snapshot.uid, "open": seq}, update)
        if result.matched_count != 1:
            if self.trajectories.find_one({"_id": snapshot.name, "uid": snapshot.uid}, {"_id": 1}) is not None:
                raise StorageError(
                    f"write {seq} of trajectory {snapshot.name!r} in {mask_url(self.url)!r} took longer than "
                    f"{STALE_WRITE_SECONDS:.0f} s, so another writer took it for abandoned and rolled it "
                    "back; nothing of it was stored; store smaller batches"
                )
            raise self._vanished(snapshot)

    def settle(self, snapshot: Snapshot, seq: int) -> None:
        """Remove what committed write ``seq`` replaced, through each
        registered settler (node and run storage). Failing here loses nothing
        (the write is visible and complete): the next write retries."""
        try:
            for settler in self.settlers:
                settler.settle(snapshot, seq)
            self.trajectories.update_one({"_id": snapshot.name, "uid": snapshot.uid}, {"$pull": {"settling": seq}})
        except Exception as exc:
            logger.warning("write %d of %r is stored; removing what it replaced failed (%s)", seq, snapshot.name, exc)

    def _vanished(self, snapshot: Snapshot) -> StorageError:
        return StorageError(
            f"trajectory {snapshot.name!r} in {mask_url(self.url)!r} was deleted or overwritten by "
            "another process while this one was writing to it; nothing was stored"
        )

    def _rollback(self, snapshot: Snapshot, seq: int) -> None:
        owner = {"_id": snapshot.name, "uid": snapshot.uid, "open": seq}
        if self.trajectories.find_one(owner, {"_id": 1}) is None:
            return  # committed after all (or the trajectory is gone): nothing to undo
        for collection in (self.nodes, self.runs, self.run_items):
            collection.delete_many({"traj": snapshot.uid, "seq": seq})
        self.large.delete_where(traj=snapshot.uid, seq=seq)
        self.trajectories.update_one(owner, {"$pull": {"open": seq}, "$unset": {f"opened.{seq}": ""}})

    def _repair(self, snapshot: Snapshot) -> None:
        """Finish what killed writers left.

        Other writers may be at work on the same trajectory: an open write is
        rolled back only once it is older than ``STALE_WRITE_SECONDS`` (until
        then it is invisible anyway). Settling is safe to repeat at any time.
        """
        opened = snapshot.document.get("opened") or {}
        now = time.time()
        for seq in sorted(snapshot.open):
            since = opened.get(str(seq))
            if since is not None and now - since < STALE_WRITE_SECONDS:
                continue
            logger.warning("rolling back write %d of %r, left unfinished by a stopped process", seq, snapshot.name)
            self._rollback(snapshot, seq)
        for seq in sorted(snapshot.settling):
            self.settle(snapshot, seq)

    # -- whole trajectories ----------------------------------------------------------

    def purge(self, uid: Any) -> None:
        """Delete every document of a trajectory whose document is already gone
        (so none of this is visible while it happens)."""
        for collection in (self.nodes, self.runs, self.run_items):
            collection.delete_many({"traj": uid})
        self.large.delete_where(traj=uid)
