from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pypet_rebuild.testing import RunnerConformance
from pypet_rebuild.testing.runners import STORAGE_KINDS, storage_url_for


class TestMultiprocessingRunner(RunnerConformance):
    runner_name = "multiprocessing"

    @pytest.fixture
    def runner_options(self) -> dict[str, Any]:
        return {"ncores": 2, "start_method": "spawn"}

    @pytest.fixture(params=STORAGE_KINDS)
    def storage_url(self, request: pytest.FixtureRequest, tmp_path: Path) -> str:
        return storage_url_for(request.param, tmp_path)
