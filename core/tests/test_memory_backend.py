from __future__ import annotations

import uuid

import pytest

from pypet_rebuild.memory_backend import _NAMED_STORES
from pypet_rebuild.testing import Planted, StorageConformance, UntrustedDataConformance
from pypet_rebuild.testing.untrusted import TRAJECTORY


class TestMemoryBackend(StorageConformance):
    @pytest.fixture
    def storage_url(self) -> str:
        # A named store: every open of this URL in the process sees the same data.
        return f"memory://{uuid.uuid4().hex}"


class TestMemoryUntrusted(UntrustedDataConformance):
    """The memory store's "raw driver" is its dict of packed blobs."""

    inert_places = frozenset({"metadata"})  # kept as Python objects, never decoded
    shared_between_processes = False

    @pytest.fixture
    def storage_url(self) -> str:
        return f"memory://{uuid.uuid4().hex}"

    def plant(self, url: str, place: str, planted: Planted) -> None:
        stored = _NAMED_STORES[url.split("://", 1)[1]][TRAJECTORY]
        if place == "metadata":
            stored.info.metadata["planted"] = planted.tree
        elif place == "parameter":
            stored.nodes["parameters.y"].data["value"] = planted.blob()
        elif place == "explored":
            stored.nodes["parameters.x"].explored = planted.blob([planted.bomb])
        elif place == "annotations":
            stored.nodes["results.r"].annotations = planted.blob({"a": planted.bomb})
        elif place == "result":
            stored.nodes["results.r"].data["r"] = planted.blob()
        else:
            stored.run_nodes[1]["results.z"].data["z"] = planted.blob()
