"""The core's storage conformance suite, unchanged, against the HDF5 backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from pypet_rebuild.testing import StorageConformance


class TestHDF5Conformance(StorageConformance):
    @pytest.fixture
    def storage_url(self, tmp_path: Path) -> str:
        return str(tmp_path / "store.h5")
