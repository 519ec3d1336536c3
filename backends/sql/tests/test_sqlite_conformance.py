"""The core's storage conformance suite against SQLite files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pypet_rebuild.testing import StorageConformance


class TestSQLiteConformance(StorageConformance):
    @pytest.fixture
    def storage_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'store.db'}"
