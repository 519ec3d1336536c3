from __future__ import annotations

import uuid

import pytest

from pypet_rebuild.testing import StorageConformance


class TestMemoryBackend(StorageConformance):
    @pytest.fixture
    def storage_url(self) -> str:
        # A named store: every open of this URL in the process sees the same data.
        return f"memory://{uuid.uuid4().hex}"
