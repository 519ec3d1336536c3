"""docs/migration.md's blocks, run beside a file written by the real pypet.

The page's blocks are marked not-run for the repository-wide snippet test,
which has no pypet file; here each runs as written, in a directory where
``old.hdf5`` is ``kinds.hdf5`` from ``write_files.py``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PYPET_VERSION, REPO

PAGE = REPO / "docs" / "migration.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```$", PAGE.read_text(encoding="utf-8"), flags=re.S | re.M)


@pytest.mark.parametrize("pypet", [PYPET_VERSION], indirect=True, ids=[f"pypet-{PYPET_VERSION}"])
@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_migration_page_block_runs_beside_a_pypet_file(pypet_files: Path, tmp_path: Path, block: str) -> None:
    shutil.copy(pypet_files / "kinds.hdf5", tmp_path / "old.hdf5")
    (tmp_path / "snippet.py").write_text(block, encoding="utf-8")
    done = subprocess.run([sys.executable, "snippet.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_the_page_has_blocks() -> None:
    assert len(BLOCKS) >= 2
