"""Every distribution of the repository ships py.typed, and the licence is there."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTIONS = sorted(
    p.parent for p in ROOT.glob("*/*/pyproject.toml") if p.parent.parts[-2] in ("backends", "runners", "integrations")
) + [ROOT / "core"]


@pytest.mark.parametrize("folder", DISTRIBUTIONS, ids=[str(d.relative_to(ROOT)) for d in DISTRIBUTIONS])
def test_each_package_is_marked_typed_and_ships_the_marker(folder: Path) -> None:
    packages = [p for p in (folder / "src").iterdir() if (p / "__init__.py").is_file()]
    assert packages, f"{folder} has no package under src/"
    for package in packages:
        assert (package / "py.typed").is_file(), f"{package} lacks py.typed"
    config = tomllib.loads((folder / "pyproject.toml").read_text())
    package_data = config.get("tool", {}).get("setuptools", {}).get("package-data", {})
    assert any("py.typed" in files for files in package_data.values()), (
        f"{folder}/pyproject.toml must list py.typed in [tool.setuptools.package-data]"
    )


def test_the_licence_is_the_one_the_metadata_names() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License") and "the pypet-rebuild developers" in text
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == {"text": "BSD-3-Clause"}
