"""Fixtures for the MongoDB backend's own tests: a fresh mongomock store each,
and a real MongoDB wire-protocol server for the tests that need one.

The server comes from, in this order:

1. ``PYPET_REBUILD_MONGO_URI``: an existing server (MongoDB itself, say);
   each test gets its own database, dropped afterwards;
2. a throw-away ``nx-27017`` server (a MongoDB wire-protocol server on
   SQLite, installed by requirements-dev.txt) started for this test session
   on 127.0.0.1 at a free port, its data in a temporary folder.

Without either, the server tests are skipped with the reason shown, except
under CI (``CI=true``), where that is a failure: CI must test a server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pypet_rebuild.plugins import get_plugin_host
from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus, TrajectoryInfo
from pypet_rebuild_mongo import MongoBackend

pytest.importorskip("mongomock")

SERVER_ENV = "PYPET_REBUILD_MONGO_URI"
START_SECONDS = 30.0


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"a MongoDB server is required under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(uri: str) -> bool:
    import pymongo

    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=500)
    try:
        client.admin.command("ping")
        return True
    except pymongo.errors.PyMongoError:
        return False
    finally:
        client.close()


def _start_nx(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start nx-27017 on a free port; retried, since another program may take the port first."""
    command = [sys.executable, "-m", "nx_27017.nx_27017"]
    problems = []
    for _ in range(3):
        port = _free_port()
        log = root / f"server_{port}.log"
        process = subprocess.Popen(
            [*command, "--data-dir", str(root / "data"), "--host", "127.0.0.1", "--port", str(port),
             "--log-file", str(log), "--pid-file", str(root / "server.pid")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        uri = f"mongodb://127.0.0.1:{port}"
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            if _answers(uri):
                return process, uri
            time.sleep(0.2)
        process.kill()
        process.wait()
        problems.append(f"port {port}: exit code {process.returncode}; {log.read_text() if log.exists() else ''}")
    raise RuntimeError("nx-27017 did not start: " + " | ".join(problems))


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[str]:
    """The URI (no database) of a MongoDB wire-protocol server for this test session."""
    external = os.environ.get(SERVER_ENV)
    if external:
        yield external
        return
    try:
        import nx_27017  # noqa: F401
    except ImportError:
        _unavailable(f"nx-27017 is not installed (pip install -r requirements-dev.txt) and {SERVER_ENV} is not set")
    root = Path(tempfile.mkdtemp(prefix="pypet-rebuild-mongo-"))
    try:
        process, uri = _start_nx(root)
    except RuntimeError as exc:
        shutil.rmtree(root, ignore_errors=True)
        _unavailable(str(exc))
    try:
        yield uri
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def server_url(mongo_server: str) -> Iterator[str]:
    """A new database on the test server, dropped after the test."""
    import pymongo

    database = f"pypet_rebuild_test_{uuid.uuid4().hex[:12]}"
    yield urlsplit(mongo_server)._replace(path=f"/{database}").geturl()
    client = pymongo.MongoClient(mongo_server, serverSelectionTimeoutMS=5000)
    try:
        client.drop_database(database)
    finally:
        client.close()


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
