"""Registers the ``sql`` storage backend with pypet-rebuild's plugin host."""

from __future__ import annotations

from typing import Any

from pypet_rebuild.plugins import hookimpl
from pypet_rebuild.registries import StorageRegistry

from pypet_rebuild_sql._schemes import FILE_SUFFIXES, URL_SCHEMES

__all__ = ["open_sql_storage", "pypet_rebuild_register_storage_backends"]


def open_sql_storage(url: str, **options: Any) -> Any:
    """Open ``url`` (a SQLAlchemy URL or a ``.db``/``.sqlite`` path).

    Imported lazily so that listing plugins does not import SQLAlchemy.
    """
    from pypet_rebuild_sql.backend import SQLBackend

    return SQLBackend(url, **options)


@hookimpl
def pypet_rebuild_register_storage_backends(registry: StorageRegistry) -> None:
    # Skip schemes another installed backend already claimed rather than
    # refusing to load: ``mysql`` and friends are a courtesy, not a promise.
    schemes = [s for s in URL_SCHEMES if registry.for_scheme(s) is None]
    registry.add("sql", open_sql_storage, schemes=schemes, suffixes=FILE_SUFFIXES)
