"""Files written by the real pypet, made once per test session.

pypet runs in its own virtual environment (``pypet_rebuild_compat.reference``):
0.6.1, whose layout 0.7 kept, and 0.5.2, the last with the older layout
(sparse matrices as components), which runs on 0.6.1's packages from an
overlay folder; 0.7.0 on request. They are cached under ``.venv-pypet/`` at the repository
root (or where ``PYPET_REBUILD_PYPET_VENV`` points), so only the first
session pays for the install. Without PyPI the tests that need pypet skip,
except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pypet_rebuild_compat.reference import (
    PYPET_VERSION,
    REFERENCES,
    ensure_pypet_overlay,
    ensure_pypet_venv,
    sdist_member,
    venv_python,
)

HERE = Path(__file__).resolve().parent
PYPET_SIDE = HERE / "pypet_side"
REPO = HERE.parents[2]
HISTORIC_FILE = "pypet/tests/testdata/pypet_v0_1b_6.hdf5"
# 0.7.0 (same layout as 0.6.1, on a pyenv Python >= 3.12) costs one more
# environment: opt in with PYPET_REBUILD_PYPET_VERSIONS=0.6.1,0.5.2,0.7.0.
PYPET_VERSIONS = tuple(os.environ.get("PYPET_REBUILD_PYPET_VERSIONS", f"{PYPET_VERSION},0.5.2").split(","))
_OWN_ENVIRONMENTS = {reference.version: reference for reference in REFERENCES}

sys.path[:0] = [str(PYPET_SIDE), str(HERE)]  # normal_form and our_dump, shared by both sides


def _cache() -> Path:
    return Path(os.environ.get("PYPET_REBUILD_PYPET_VENV", REPO / ".venv-pypet"))


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (under CI=true this is a failure, not a skip)")
    pytest.skip(message)


@dataclass(frozen=True)
class PypetRunner:
    """How to run one of the pypet-side scripts under one real pypet version."""

    version: str
    python: Path
    overlay: Path | None = None

    def run(self, script: str, *args: str) -> str:
        env = dict(os.environ, PYTHONPATH=str(self.overlay)) if self.overlay else None
        done = subprocess.run(
            [str(self.python), str(PYPET_SIDE / script), *args], capture_output=True, text=True, cwd=PYPET_SIDE, env=env
        )
        if done.returncode != 0:
            pytest.fail(f"{script} failed under pypet {self.version}:\n{done.stderr[-4000:]}")
        return done.stdout


@pytest.fixture(scope="session", params=PYPET_VERSIONS, ids=[f"pypet-{v}" for v in PYPET_VERSIONS])
def pypet(request: pytest.FixtureRequest) -> PypetRunner:
    version, cache = request.param, _cache()
    reference = _OWN_ENVIRONMENTS.get(version, _OWN_ENVIRONMENTS[PYPET_VERSION])
    venv = cache / f"pypet-{reference.version}"
    overlay = None
    try:
        ensure_pypet_venv(venv, cache / f"install-{reference.version}.log", reference)
        if version != reference.version:
            overlay = ensure_pypet_overlay(venv, cache / f"overlay-{version}", version, cache / f"install-{version}.log")
    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
        _unavailable(f"the real pypet {version} could not be installed: {error}")
    return PypetRunner(version, venv_python(venv), overlay)


@pytest.fixture(scope="session")
def pypet_files(pypet: PypetRunner, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kinds.hdf5, pickled.hdf5 and two.hdf5, written by pypet itself."""
    folder = tmp_path_factory.mktemp(f"written-by-pypet-{pypet.version}")
    pypet.run("write_files.py", str(folder))
    return folder


@pytest.fixture(scope="session")
def pypet_dump(pypet: PypetRunner):
    """What pypet itself loads from a file, in the normal form, cached per file."""
    dumps: dict[Path, Any] = {}

    def dump(path: Path) -> Any:
        if path not in dumps:
            dumps[path] = json.loads(pypet.run("dump_with_pypet.py", str(path)))
        return dumps[path]

    return dump


@pytest.fixture(scope="session")
def historic_file() -> Path:
    """pypet's own sample file from version 0.1b6, out of its source distribution."""
    cache = _cache() / "sdist"
    try:
        return sdist_member(HISTORIC_FILE, cache, _cache() / "sdist.log")
    except (RuntimeError, OSError) as error:
        _unavailable(f"pypet's source distribution could not be had: {error}")
        raise
