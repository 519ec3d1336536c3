"""The core's storage conformance suite, unchanged, on mongomock and on a
real MongoDB wire-protocol server (see conftest.py for where it comes from)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pypet_rebuild.testing import StorageConformance


class TestMongomockConformance(StorageConformance):
    @pytest.fixture
    def storage_url(self, tmp_path: Any) -> str:
        return f"mongomock://{uuid.uuid4().hex}"


class TestMongoServerConformance(StorageConformance):
    """On the session's server: nx-27017 by default, ``PYPET_REBUILD_MONGO_URI`` when set."""

    @pytest.fixture
    def storage_url(self, server_url: str) -> str:
        return server_url
