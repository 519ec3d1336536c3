"""The core's storage conformance suite, unchanged, on mongomock and (when
``PYPET_REBUILD_MONGO_URI`` names one) on a real MongoDB server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from pypet_rebuild.testing import StorageConformance

SERVER_ENV = "PYPET_REBUILD_MONGO_URI"


class TestMongomockConformance(StorageConformance):
    @pytest.fixture
    def storage_url(self, tmp_path: Any) -> str:
        return f"mongomock://{uuid.uuid4().hex}"


class TestMongoServerConformance(StorageConformance):
    @pytest.fixture
    def storage_url(self, tmp_path: Any) -> Iterator[str]:
        uri = os.environ.get(SERVER_ENV)
        if not uri:
            pytest.skip(f"{SERVER_ENV} not set: no MongoDB server to test against")
        import pymongo

        database = f"pypet_rebuild_test_{uuid.uuid4().hex[:12]}"
        parts = urlsplit(uri)
        yield parts._replace(path=f"/{database}").geturl()
        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
        try:
            client.drop_database(database)
        finally:
            client.close()
