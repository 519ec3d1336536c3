"""The missing-plugin hint fits how pypet-rebuild was installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from pypet_rebuild import MissingPluginError, PluginHost
from pypet_rebuild._install_hint import install_command

CHECKOUT = Path(__file__).resolve().parents[2]


def _checkout(tmp_path: Path) -> Path:
    for folder in ("core", "backends/sql"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "pyproject.toml").write_text("[project]\n")
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    return tmp_path


def test_an_index_install_gets_the_extra() -> None:
    assert install_command("sql", None) == "pip install 'pypet-rebuild[sql]'"


def test_an_editable_checkout_install_gets_the_folder(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    record = {"url": (root / "core").as_uri(), "dir_info": {"editable": True}}
    assert install_command("sql", record).startswith(f"pip install -e {root / 'backends' / 'sql'} ")


def test_a_plain_checkout_install_gets_the_folder_without_editable(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    record = {"url": (root / "core").as_uri(), "dir_info": {}}
    assert install_command("sql", record).startswith(f"pip install {root / 'backends' / 'sql'} ")


def test_a_plugin_without_a_folder_in_the_checkout_gets_the_extra(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    record = {"url": (root / "core").as_uri(), "dir_info": {"editable": True}}
    assert install_command("mongo", record) == "pip install 'pypet-rebuild[mongo]'"


def test_a_local_install_that_is_not_a_checkout_gets_the_extra(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    record = {"url": (tmp_path / "elsewhere").as_uri(), "dir_info": {"editable": True}}
    assert install_command("sql", record) == "pip install 'pypet-rebuild[sql]'"


def test_this_checkouts_install_names_its_own_folder() -> None:
    """requirements-dev.txt installs the core with ``-e ./core``: the error a
    developer meets here must name this checkout's folder, not the index."""
    with pytest.raises(MissingPluginError) as caught:
        PluginHost(autoload=False).open_storage("postgresql://localhost/db")
    assert f"pip install -e {CHECKOUT / 'backends' / 'sql'}" in str(caught.value)
