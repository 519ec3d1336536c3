"""Turning a storage URL into a configured SQLAlchemy engine, and SQL errors
into pypet-rebuild errors that name the URL and say what to do.

Why a module of its own: the engine is where the per-database concerns live
(SQLite's WAL mode, busy timeout and write locks; connection timeouts for
servers; which DBAPI driver a URL needs and how to install it), so that the
backend itself speaks one dialect-neutral language.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Engine, make_url

from pypet_rebuild.errors import (
    DamagedDataError, MissingPluginError, PypetRebuildError, StorageError, StorageLockedError,
)
from pypet_rebuild.plugins import mask_url

from pypet_rebuild_sql._schemes import ALIASES

__all__ = ["WRITE_OPTION", "create_storage_engine", "translate_errors"]

_DEFAULT_DRIVER = {"sqlite": "pysqlite", "postgresql": "psycopg2", "mysql": "mysqldb", "mariadb": "mysqldb"}
_PREFERRED_DRIVERS = {
    "postgresql": (("psycopg2", "psycopg2"), ("psycopg", "psycopg"), ("pg8000", "pg8000")),
    "mysql": (("mysqldb", "MySQLdb"), ("pymysql", "pymysql")),
    "mariadb": (("mysqldb", "MySQLdb"), ("pymysql", "pymysql")),
}
_PIP_NAMES = {
    "psycopg2": "psycopg2-binary",
    "psycopg": "psycopg[binary]",
    "pg8000": "pg8000",
    "psycopg2cffi": "psycopg2cffi",
    "mysqldb": "mysqlclient",
    "pymysql": "PyMySQL",
    "mysqlconnector": "mysql-connector-python",
    "mariadbconnector": "mariadb",
    "cymysql": "cymysql",
    "pyodbc": "pyodbc",
    "pysqlcipher": "sqlcipher3-binary",
}
_SYNC_EXAMPLE = {"sqlite": "sqlite:///", "postgresql": "postgresql+psycopg2://", "mysql": "mysql+pymysql://",
                 "mariadb": "mariadb+pymysql://"}

# Execution option that makes SQLite take its write lock when a transaction
# begins, instead of failing to upgrade a read lock halfway through.
WRITE_OPTION = "pypet_rebuild_write"
_SQLITE_BUSY_TIMEOUT = 60.0  # seconds another writer may hold the file before we give up
_CONNECT_TIMEOUT = 10  # seconds to reach a database server


def _installed_default_driver(dialect: str) -> str:
    """The driver for a URL that names none: SQLAlchemy's own default differs
    between releases (psycopg2 or psycopg for PostgreSQL), so prefer one
    that is installed, and the one ``pypet-rebuild[sql]`` installs first."""
    for driver, module in _PREFERRED_DRIVERS.get(dialect, ()):
        if importlib.util.find_spec(module) is not None:
            return driver
    return _DEFAULT_DRIVER.get(dialect, "")


def _sqlalchemy_url(text: str) -> URL:
    """The SQLAlchemy URL for a storage URL or a plain ``.db``/``.sqlite`` path."""
    if "://" not in text:
        return URL.create("sqlite", database=os.path.abspath(text))
    try:
        url = make_url(text)
    except sa_exc.ArgumentError as exc:
        raise StorageError(f"{mask_url(text)!r} is not a valid database URL: {exc}") from exc
    dialect, _, driver = url.drivername.partition("+")
    dialect = ALIASES.get(dialect, dialect)
    if not driver:
        driver = _installed_default_driver(dialect)
    url = url.set(drivername=f"{dialect}+{driver}" if driver else dialect)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        if not url.database.startswith("file:"):
            url = url.set(database=os.path.abspath(url.database))
    return url


def _load_dialect(url: URL, shown: str) -> type:
    dialect = url.get_backend_name()
    driver = url.get_driver_name()
    try:
        dialect_class = url.get_dialect()
    except sa_exc.NoSuchModuleError as exc:
        raise MissingPluginError(
            f"no SQLAlchemy dialect opens {shown!r}: {exc}; use sqlite:///path.db or "
            "postgresql+psycopg2://user:password@host/database"
        ) from exc
    if getattr(dialect_class, "is_async", False):
        raise StorageError(
            f"{shown!r} names the asynchronous driver {driver!r}, but pypet-rebuild stores from "
            f"ordinary synchronous code; use a synchronous driver, e.g. {_SYNC_EXAMPLE.get(dialect, '')}..."
        )
    try:
        dialect_class.import_dbapi()
    except ImportError as exc:
        package = _PIP_NAMES.get(driver, driver)
        raise MissingPluginError(
            f"{shown!r} needs the database driver {driver!r}, which is not installed ({exc}); "
            f"install it with: pip install '{package}'"
        ) from exc
    return dialect_class


def _configure_sqlite(engine: Engine) -> None:
    """WAL lets readers go on while one process writes; our own BEGIN lets a
    write transaction take the lock up front (``BEGIN IMMEDIATE``) so that
    concurrent writers queue on the busy timeout instead of deadlocking."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_storage_engine(text: str, options: dict[str, Any]) -> Engine:
    """A new engine for ``text``; ``options`` go to ``sqlalchemy.create_engine``
    except ``timeout`` (SQLite busy timeout / server connect timeout, seconds)."""
    shown = mask_url(text)
    url = _sqlalchemy_url(text)
    _load_dialect(url, shown)
    options = dict(options)
    timeout = options.pop("timeout", None)
    connect_args = dict(options.pop("connect_args", {}))
    backend_name = url.get_backend_name()
    if backend_name == "sqlite":
        connect_args.setdefault("timeout", _SQLITE_BUSY_TIMEOUT if timeout is None else timeout)
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            os.makedirs(os.path.dirname(url.database), exist_ok=True)
    elif url.get_driver_name() in ("psycopg2", "psycopg"):
        connect_args.setdefault("connect_timeout", int(_CONNECT_TIMEOUT if timeout is None else timeout))
    try:
        engine = sa.create_engine(url, connect_args=connect_args, **options)
    except (TypeError, sa_exc.ArgumentError) as exc:
        raise StorageError(f"cannot open {shown!r} with the options {sorted(options)}: {exc}") from exc
    if backend_name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _reason(exc: sa_exc.SQLAlchemyError, url: str) -> str:
    """The database's own message on one line, without the SQL statement and
    its parameters (which may hold large blobs), and never the password."""
    origin = getattr(exc, "orig", None)
    text = " ".join(str(origin if origin is not None else exc).split())
    password = urlsplit(url).password if "://" in url else None
    return text.replace(password, "***") if password else text


def _is_sqlite(url: str) -> bool:
    return "://" not in url or url.split("://", 1)[0].split("+", 1)[0] == "sqlite"


_NUL_HINT = (
    "PostgreSQL text cannot hold NUL characters ('\\x00'); remove them from trajectory names, "
    "paths, comments and error texts (stored values may hold them); nothing was changed"
)

_DAMAGED_HINTS = ("malformed", "file is not a database", "could not decode")


def _damaged(shown: str, action: str, detail: str) -> StorageError:
    return StorageError(
        f"{action} in {shown!r} failed: the stored data is damaged ({detail}); restore the database "
        "from a backup (for SQLite, the sqlite3 shell's '.recover' may save what still reads)"
    )


@contextlib.contextmanager
def translate_errors(url: str, action: str, *, reading: bool = False) -> Iterator[None]:
    """Re-raise SQLAlchemy errors as ``StorageError`` naming the (masked) URL.

    While ``reading``, anything a driver or decoder raises on stored bytes
    (a ``UnicodeDecodeError`` from a damaged page) means damaged data.
    """
    shown = mask_url(url)
    try:
        yield
    except DamagedDataError as exc:
        raise DamagedDataError(f"{action} in {shown!r} failed: {exc}") from exc
    except PypetRebuildError:
        raise
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        if reading:
            raise _damaged(shown, action, f"{type(exc).__name__}: {exc}") from exc
        if isinstance(exc, ValueError) and "NUL" in str(exc):
            raise StorageError(
                f"{action} in {shown!r} failed: this database cannot store NUL characters ('\\x00') in "
                f"text ({exc}); remove them; nothing was changed"
            ) from exc
        raise
    except sa_exc.OperationalError as exc:
        reason = _reason(exc, url)
        if any(hint in reason.lower() for hint in _DAMAGED_HINTS):
            raise _damaged(shown, action, reason) from exc
        if "database is locked" in reason:
            raise StorageLockedError(
                f"{action} in {shown!r} failed: another process kept the database locked ({reason}); "
                "retry later, or pass storage_options={'timeout': <seconds>} to wait longer"
            ) from exc
        if exc.statement is None and _is_sqlite(url):
            raise StorageError(
                f"cannot open the SQLite database {shown!r} ({reason}); check that the path names a "
                "file (not a folder) in a folder you may write to"
            ) from exc
        if exc.statement is None or "authentication" in reason:
            raise StorageError(
                f"cannot connect to {shown!r} ({reason}); check that the database server is running "
                "and reachable, and that host, port, database name, user and password in the URL are right"
            ) from exc
        raise StorageError(f"{action} in {shown!r} failed: {reason}; nothing was changed") from exc
    except sa_exc.SQLAlchemyError as exc:
        reason = _reason(exc, url)
        if "0x00" in reason:
            raise StorageError(f"{action} in {shown!r} failed: {_NUL_HINT}") from exc
        if any(hint in reason.lower() for hint in _DAMAGED_HINTS):
            raise _damaged(shown, action, reason) from exc
        raise StorageError(f"{action} in {shown!r} failed: {reason}; nothing was changed") from exc
    except ValueError as exc:  # raised by psycopg2 before a statement is sent
        if "NUL" not in str(exc):
            raise
        raise StorageError(f"{action} in {shown!r} failed: {_NUL_HINT}") from exc
