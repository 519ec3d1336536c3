"""Fixtures for the MongoDB backend's own tests: a fresh mongomock store each."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pypet_rebuild.plugins import get_plugin_host
from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus, TrajectoryInfo
from pypet_rebuild_mongo import MongoBackend

pytest.importorskip("mongomock")


@pytest.fixture
def url() -> str:
    return f"mongomock://{uuid.uuid4().hex}"


@pytest.fixture
def open_backend(url: str) -> Iterator[Callable[..., MongoBackend]]:
    """Open ``url`` (with options) through the plugin host, as users do; closed afterwards."""
    opened: list[MongoBackend] = []

    def open_(**options: Any) -> MongoBackend:
        backend = get_plugin_host().open_storage(url, **options)
        opened.append(backend)
        return backend

    yield open_
    for backend in opened:
        backend.close()


@pytest.fixture
def backend(open_backend: Callable[..., MongoBackend]) -> MongoBackend:
    """An open backend holding one empty trajectory ``traj``."""
    opened = open_backend()
    opened.create_trajectory(TrajectoryInfo("traj", time.time()))
    return opened


def _run(idx: int, **items: Any) -> RunRecord:
    nodes = [NodeRecord(f"results.{name}", NodeKind.RESULT, data={name: value}) for name, value in items.items()]
    return RunRecord(idx, RunStatus.COMPLETED, 100.0 + idx, 100.5 + idx, None, nodes)


@pytest.fixture
def make_run() -> Callable[..., RunRecord]:
    """A completed run adding one result leaf per keyword: ``z=1.5`` -> ``results.z``."""
    return _run


@pytest.fixture
def trajectory_document() -> Callable[..., dict[str, Any]]:
    """The raw trajectory document, where the write protocol keeps its state."""

    def document(backend: MongoBackend, name: str = "traj") -> dict[str, Any]:
        return backend.database["trajectories"].find_one({"_id": name})

    return document
