"""Which URLs the SQL backend answers, kept free of SQLAlchemy imports so
that registering the plugin costs nothing until a database is opened."""

from __future__ import annotations

__all__ = ["DRIVERS", "ALIASES", "URL_SCHEMES", "FILE_SUFFIXES"]

# The dialects whose SQL this backend's tables are written for, with every
# driver SQLAlchemy knows for them; a driver that is missing or asynchronous
# is reported with what to install or use instead.
_MYSQL_DRIVERS = (
    "mysqldb", "pymysql", "mysqlconnector", "mariadbconnector", "cymysql", "pyodbc", "asyncmy", "aiomysql",
)
DRIVERS = {
    "sqlite": ("pysqlite", "aiosqlite", "pysqlcipher"),
    "postgresql": ("psycopg2", "psycopg", "pg8000", "psycopg2cffi", "asyncpg", "psycopg_async"),
    "mysql": _MYSQL_DRIVERS,
    "mariadb": _MYSQL_DRIVERS,
}
# ``postgres://`` is what many hosting services hand out; SQLAlchemy wants ``postgresql``.
ALIASES = {"postgres": "postgresql"}

URL_SCHEMES = tuple(
    scheme
    for dialect, drivers in [*DRIVERS.items(), *((alias, DRIVERS[real]) for alias, real in ALIASES.items())]
    for scheme in (dialect, *(f"{dialect}+{driver}" for driver in drivers))
)
FILE_SUFFIXES = (".db", ".sqlite")
