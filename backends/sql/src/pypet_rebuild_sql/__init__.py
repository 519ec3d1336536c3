"""pypet-rebuild's SQL storage backend: SQLite files and PostgreSQL servers
(any SQLAlchemy 2 URL of a supported dialect) as trajectory stores.

Open it through the core with a URL: ``Environment(storage="sqlite:///results.db")``
or ``load_trajectory("postgresql+psycopg2://user@host/lab")``. SQLAlchemy is
imported on first use, not when the plugin is registered.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["SCHEMA_VERSION", "TABLE_PREFIX", "SQLBackend"]

_LAZY = {"SQLBackend": "pypet_rebuild_sql.backend", "SCHEMA_VERSION": "pypet_rebuild_sql._schema",
         "TABLE_PREFIX": "pypet_rebuild_sql._schema"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
