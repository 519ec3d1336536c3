"""Conformance suites that every backend and runner must pass.

Subclass them in your plugin's tests, ours and third parties' alike::

    class TestMyBackend(StorageConformance):
        @pytest.fixture
        def storage_url(self, tmp_path):
            return f"mystore://{tmp_path}/db"
"""

from __future__ import annotations

from pypet_rebuild.testing.runners import RunnerConformance
from pypet_rebuild.testing.storage import StorageConformance
from pypet_rebuild.testing.untrusted import Planted, UntrustedDataConformance

__all__ = ["Planted", "RunnerConformance", "StorageConformance", "UntrustedDataConformance"]
