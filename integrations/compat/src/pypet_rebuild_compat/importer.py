"""Converting a pypet file into any pypet-rebuild storage, trajectory by trajectory."""

from __future__ import annotations

import os
from collections.abc import Sequence

from pypet_rebuild.plugins import PluginHost
from pypet_rebuild.storage.base import StorageBackend
from pypet_rebuild.storage.records import TrajectoryInfo
from pypet_rebuild.transfer import copy_trajectory

from pypet_rebuild_compat.pypet_file import PypetFileBackend

__all__ = ["import_pypet"]


def import_pypet(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str] | StorageBackend,
    names: Sequence[str] | None = None,
    *,
    allow_pickle: bool = False,
    overwrite: bool = False,
    plugin_host: PluginHost | None = None,
) -> list[TrajectoryInfo]:
    """Copy the pypet file's trajectories (all, or those in ``names``) to ``destination``.

    The source is opened read-only and is never changed. Pickled leaves need
    ``allow_pickle=True``; they stay pickled items in the destination.
    Returns the destination's trajectory infos, in the source's order.
    """
    with PypetFileBackend(os.fspath(source), allow_pickle=allow_pickle) as reader:
        chosen = list(names) if names else [info.name for info in reader.list_trajectories()]
        return [
            copy_trajectory(reader, destination, name, overwrite=overwrite, plugin_host=plugin_host)
            for name in chosen
        ]
