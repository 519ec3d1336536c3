"""How to install a missing plugin, said right for how pypet-rebuild was installed.

From the package index the extras resolve (``pip install 'pypet-rebuild[sql]'``).
From a checkout they do not: the sibling distributions are folders of the
checkout, not on the index, so the hint names the folder to install.
"""

from __future__ import annotations

import functools
import json
import shlex
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["install_command", "checkout_install"]

# Where the checkout keeps its distributions: backends/sql, runners/mpi, ...
_KIND_FOLDERS = ("backends", "runners", "integrations")


@functools.cache
def _core_direct_url() -> Mapping[str, Any] | None:
    """PEP 610's record of where the core was installed from (None: an index)."""
    try:
        text = metadata.distribution("pypet-rebuild-core").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def checkout_install(direct_url: Mapping[str, Any] | None) -> tuple[Path, bool] | None:
    """The checkout's root and whether the install was editable, if the core
    was installed from the ``core/`` folder of a checkout."""
    if not direct_url or not str(direct_url.get("url", "")).startswith("file://"):
        return None
    core = Path(unquote(urlsplit(str(direct_url["url"])).path))
    if core.name != "core" or not (core.parent / "pyproject.toml").is_file():
        return None
    editable = bool((direct_url.get("dir_info") or {}).get("editable"))
    return core.parent, editable


def install_command(plugin: str, direct_url: Mapping[str, Any] | None | bool = True) -> str:
    """The pip command that installs ``plugin``; ``direct_url=True`` reads how
    the installed core was installed (tests pass a record or ``None``)."""
    record = _core_direct_url() if direct_url is True else direct_url
    checkout = checkout_install(record)  # type: ignore[arg-type]
    if checkout is not None:
        root, editable = checkout
        for kind in _KIND_FOLDERS:
            target = root / kind / plugin
            if (target / "pyproject.toml").is_file():
                flag = "-e " if editable else ""
                return (
                    f"pip install {flag}{shlex.quote(str(target))} (pypet-rebuild is installed from the "
                    f"checkout {root}, whose sibling distributions are not on the package index)"
                )
    return f"pip install 'pypet-rebuild[{plugin}]'"
