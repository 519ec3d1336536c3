"""The core's storage conformance suite against a real PostgreSQL server.

One database for the module, emptied after every test (see ``postgres_emptied_url``).
"""

from __future__ import annotations

import pytest

from pypet_rebuild.testing import StorageConformance


class TestPostgreSQLConformance(StorageConformance):
    @pytest.fixture
    def storage_url(self, postgres_emptied_url: str) -> str:
        return postgres_emptied_url
