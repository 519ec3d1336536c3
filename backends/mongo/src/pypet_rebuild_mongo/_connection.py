"""Connecting: URLs to databases, mongomock stores, the layout check, errors.

One URL names one database: ``mongodb://host:port/dbname`` (``pypet_rebuild``
when the URL names none) or ``mongomock://name``, an in-process mongomock
client that every open of the same name in this process shares, the way a
later script would see a server's data.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pymongo
from bson.errors import BSONError
from pymongo.errors import (
    ConfigurationError,
    ConnectionFailure,
    DuplicateKeyError,
    OperationFailure,
    PyMongoError,
)

from pypet_rebuild.errors import MissingPluginError, PypetRebuildError, SchemaVersionError, StorageError
from pypet_rebuild.plugins import mask_url

__all__ = [
    "DEFAULT_DATABASE",
    "LAYOUT_NAME",
    "LAYOUT_VERSION",
    "connect",
    "ensure_layout",
    "translate_errors",
]

DEFAULT_DATABASE = "pypet_rebuild"
LAYOUT_NAME = "pypet-rebuild-mongo"
LAYOUT_VERSION = 1
SCHEMA = "schema"
LAYOUT_ID = "layout"
LARGE_VALUES_BUCKET = "large_values"
COLLECTIONS = ("trajectories", "nodes", "runs", "run_items")
_AUTH_FAILURE_CODES = frozenset({13, 18})  # Unauthorized, AuthenticationFailed

_MOCK_CLIENTS: dict[str, Any] = {}
_MOCK_LOCK = threading.Lock()


def _mongomock() -> Any:
    try:
        import mongomock
        import mongomock.gridfs
    except ImportError as exc:
        raise MissingPluginError(
            "mongomock:// URLs need the package mongomock, which is not installed; "
            "install it with: pip install mongomock"
        ) from exc
    mongomock.gridfs.enable_gridfs_integration()
    return mongomock


def connect(url: str, *, server_selection_timeout_ms: int) -> tuple[Any, Any, bool]:
    """The client and database for ``url`` and whether closing the backend
    should close the client (never for shared mongomock stores)."""
    scheme, _, rest = url.partition("://")
    if scheme == "mongomock":
        mongomock = _mongomock()
        if rest:
            with _MOCK_LOCK:
                client = _MOCK_CLIENTS.setdefault(rest, mongomock.MongoClient())
        else:
            client = mongomock.MongoClient()  # private to this open, like memory://
        return client, client[DEFAULT_DATABASE], False
    query = {key.lower() for key, _ in parse_qsl(urlsplit(url).query)}
    options = {} if "serverselectiontimeoutms" in query else {"serverSelectionTimeoutMS": server_selection_timeout_ms}
    with translate_errors(url, "connecting"):
        try:
            client = pymongo.MongoClient(url, **options)
        except (ConfigurationError, ValueError) as exc:
            raise StorageError(f"cannot use the MongoDB URL {mask_url(url)!r}: {exc}") from exc
        return client, client.get_default_database(DEFAULT_DATABASE), True


def ensure_layout(database: Any, url: str) -> None:
    """Refuse a database written by another layout; set up an empty one.

    The layout record names this package and a version number, so that a
    future layout (or another program's ``trajectories`` collection) is
    recognised instead of being misread.
    """
    record = database[SCHEMA].find_one({"_id": LAYOUT_ID})
    if record is not None:
        found = (record.get("layout"), record.get("version"))
        if found != (LAYOUT_NAME, LAYOUT_VERSION):
            raise SchemaVersionError(
                f"the database of {mask_url(url)!r} holds layout {found[0]!r} version {found[1]!r}, "
                f"but this pypet-rebuild-mongo reads {LAYOUT_NAME!r} version {LAYOUT_VERSION}; "
                "use the pypet-rebuild-mongo version that wrote it, or point the URL at another database"
            )
        return
    if database["trajectories"].find_one({}, {"_id": 1}) is not None:
        raise SchemaVersionError(
            f"the database of {mask_url(url)!r} has a 'trajectories' collection but no "
            f"pypet-rebuild layout record, so it was not written by pypet-rebuild-mongo; "
            "point the URL at another database (mongodb://host/<dbname>)"
        )
    _create_indexes(database)
    try:
        database[SCHEMA].insert_one({"_id": LAYOUT_ID, "layout": LAYOUT_NAME, "version": LAYOUT_VERSION})
    except DuplicateKeyError:
        ensure_layout(database, url)  # another process set it up at the same moment


def _create_indexes(database: Any) -> None:
    # Not declared unique: each write stores one version per key by
    # construction, and mongomock checks unique indexes by scanning the whole
    # collection on every insert.
    database["nodes"].create_index([("traj", 1), ("path", 1), ("seq", 1)])
    database["runs"].create_index([("traj", 1), ("lo", 1), ("hi", 1)])
    database["runs"].create_index([("traj", 1), ("seq", 1)])
    database["run_items"].create_index([("traj", 1), ("run_path", 1), ("item", 1), ("seq", 1)])
    database["run_items"].create_index([("traj", 1), ("seq", 1)])
    database[f"{LARGE_VALUES_BUCKET}.files"].create_index([("metadata.traj", 1), ("metadata.seq", 1)])


@contextmanager
def translate_errors(url: str, doing: str) -> Iterator[None]:
    """Turn driver exceptions into ``StorageError``s that name the URL
    (password masked) and say what to check."""
    try:
        yield
    except PypetRebuildError:
        raise
    except ConnectionFailure as exc:
        raise StorageError(
            f"cannot reach the MongoDB server of {mask_url(url)!r} while {doing}: {exc}; "
            "check that the server is running and that host and port are right"
        ) from exc
    except OperationFailure as exc:
        if exc.code in _AUTH_FAILURE_CODES:
            raise StorageError(
                f"MongoDB refused the credentials of {mask_url(url)!r} while {doing}: {exc}; "
                "check user name, password and authSource in the URL"
            ) from exc
        raise StorageError(f"MongoDB failed while {doing} at {mask_url(url)!r}: {exc}") from exc
    except PyMongoError as exc:
        raise StorageError(f"MongoDB failed while {doing} at {mask_url(url)!r}: {exc}") from exc
    except BSONError as exc:
        raise StorageError(
            f"a value could not be written as BSON while {doing} at {mask_url(url)!r}: {exc}"
        ) from exc
