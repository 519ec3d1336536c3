"""Crafted MongoDB stores: pickles planted with the raw driver run nothing on load.

On mongomock always; on a real server when ``PYPET_REBUILD_MONGO_URI`` names one.
The planting edits documents with plain driver calls (``update_one``), on the
database handle of an opened backend (a mongomock store lives only in its
process, behind that handle).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from pypet_rebuild.plugins import get_plugin_host
from pypet_rebuild.testing import Planted, UntrustedDataConformance
from pypet_rebuild.testing.untrusted import TRAJECTORY

SERVER_ENV = "PYPET_REBUILD_MONGO_URI"


def _plant(url: str, place: str, planted: Planted) -> None:
    backend = get_plugin_host().open_storage(url)
    try:
        database = backend.database
        uid = database["trajectories"].find_one({"_id": TRAJECTORY})["uid"]
        tree = planted.tree
        if place == "metadata":
            database["trajectories"].update_one({"_id": TRAJECTORY}, {"$set": {"metadata.planted": tree}})
            return
        if place == "run_value":
            chunk = {"traj": uid, "run_path": "results.z", "item": "z"}
            values: list[Any] = [{"t": "float", "v": 1.0}, tree, {"t": "float", "v": 3.0}]
            database["run_items"].update_one(chunk, {"$set": {"values": values}, "$unset": {"stack": "", "array": ""}})
            return
        path, change = {
            "parameter": ("parameters.y", {"data.value": tree}),
            "explored": ("parameters.x", {"explored": {"t": "list", "v": [tree]}}),
            "annotations": ("results.r", {"annotations.a": tree}),
            "result": ("results.r", {"data.r": tree}),
        }[place]
        assert database["nodes"].update_one({"traj": uid, "path": path}, {"$set": change}).modified_count == 1
    finally:
        backend.close()


class TestMongomockUntrusted(UntrustedDataConformance):
    shared_between_processes = False
    @pytest.fixture
    def storage_url(self) -> str:
        pytest.importorskip("mongomock")
        return f"mongomock://{uuid.uuid4().hex}"

    def plant(self, url: str, place: str, planted: Planted) -> None:
        _plant(url, place, planted)


class TestMongoServerUntrusted(UntrustedDataConformance):
    @pytest.fixture
    def storage_url(self) -> Iterator[str]:
        uri = os.environ.get(SERVER_ENV)
        if not uri:
            pytest.skip(f"{SERVER_ENV} not set: no MongoDB server to test against")
        import pymongo

        database = f"pypet_rebuild_untrusted_{uuid.uuid4().hex[:12]}"
        yield urlsplit(uri)._replace(path=f"/{database}").geturl()
        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
        try:
            client.drop_database(database)
        finally:
            client.close()

    def plant(self, url: str, place: str, planted: Planted) -> None:
        _plant(url, place, planted)
