"""Registers the ``mongo`` storage backend with pypet-rebuild."""

from __future__ import annotations

from pypet_rebuild.plugins import hookimpl
from pypet_rebuild.registries import StorageRegistry
from pypet_rebuild_mongo.backend import open_mongo


@hookimpl
def pypet_rebuild_register_storage_backends(registry: StorageRegistry) -> None:
    registry.add("mongo", open_mongo, schemes=("mongodb", "mongodb+srv", "mongomock"))
