"""Files written by the real pypet, made once per test session.

pypet runs in its own virtual environment (``pypet_rebuild_compat.reference``),
cached under ``.venv-pypet/`` at the repository root (or where
``PYPET_REBUILD_PYPET_VENV`` points) so that only the first session pays
for the install. Without network or PyPI the tests that need pypet skip,
except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pypet_rebuild_compat.reference import PYPET_VERSION, ensure_pypet_venv, sdist_member, venv_python

HERE = Path(__file__).resolve().parent
PYPET_SIDE = HERE / "pypet_side"
REPO = HERE.parents[2]
HISTORIC_FILE = "pypet/tests/testdata/pypet_v0_1b_6.hdf5"

sys.path[:0] = [str(PYPET_SIDE), str(HERE)]  # normal_form and our_dump, shared by both sides


def _cache() -> Path:
    return Path(os.environ.get("PYPET_REBUILD_PYPET_VENV", REPO / ".venv-pypet"))


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (under CI=true this is a failure, not a skip)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pypet_python() -> Path:
    cache = _cache()
    try:
        ensure_pypet_venv(cache / f"pypet-{PYPET_VERSION}", cache / "install.log")
    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
        _unavailable(f"the real pypet {PYPET_VERSION} could not be installed: {error}")
    return venv_python(cache / f"pypet-{PYPET_VERSION}")


def _run_pypet(python: Path, script: str, *args: str) -> str:
    done = subprocess.run([str(python), str(PYPET_SIDE / script), *args], capture_output=True, text=True, cwd=PYPET_SIDE)
    if done.returncode != 0:
        pytest.fail(f"{script} failed under pypet:\n{done.stderr[-4000:]}")
    return done.stdout


@pytest.fixture(scope="session")
def pypet_files(pypet_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kinds.hdf5, pickled.hdf5 and two.hdf5, written by pypet itself."""
    folder = tmp_path_factory.mktemp("written-by-pypet")
    _run_pypet(pypet_python, "write_files.py", str(folder))
    return folder


@pytest.fixture(scope="session")
def historic_file() -> Path:
    """pypet's own sample file from version 0.1b6, out of its source distribution."""
    cache = _cache() / "sdist"
    try:
        return sdist_member(HISTORIC_FILE, cache, _cache() / "sdist.log")
    except (RuntimeError, OSError) as error:
        _unavailable(f"pypet's source distribution could not be had: {error}")
        raise


@pytest.fixture(scope="session")
def pypet_dump(pypet_python: Path):
    """What pypet itself loads from a file, in the normal form, cached per file."""
    dumps: dict[Path, Any] = {}

    def dump(path: Path) -> Any:
        if path not in dumps:
            dumps[path] = json.loads(_run_pypet(pypet_python, "dump_with_pypet.py", str(path)))
        return dumps[path]

    return dump
