"""The runner conformance suite, in this process: a single MPI rank."""

from __future__ import annotations

from pathlib import Path

import pytest

from pypet_rebuild.testing import RunnerConformance
from pypet_rebuild.testing.runners import STORAGE_KINDS, storage_url_for


class TestMPIRunnerSingleRank(RunnerConformance):
    runner_name = "mpi"

    @pytest.fixture(params=STORAGE_KINDS)
    def storage_url(self, request: pytest.FixtureRequest, tmp_path: Path) -> str:
        return storage_url_for(request.param, tmp_path)
