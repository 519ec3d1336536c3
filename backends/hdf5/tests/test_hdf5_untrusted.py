"""Crafted HDF5 files: pickles planted with plain h5py run nothing on load."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from pypet_rebuild.testing import Planted, UntrustedDataConformance
from pypet_rebuild.testing.untrusted import TRAJECTORY


def _edit_json_attribute(obj: Any, name: str, edit: Any) -> None:
    meta = json.loads(obj.attrs[name])
    edit(meta)
    obj.attrs[name] = json.dumps(meta)


def _replace_dataset(group: h5py.Group, name: str, blob: bytes) -> None:
    del group[name]
    group.create_dataset(name, data=np.frombuffer(blob, dtype=np.uint8))


def _set_packed_item(group: h5py.Group, item: str, blob: bytes) -> None:
    _replace_dataset(group, item, blob)

    def edit(meta: dict[str, Any]) -> None:
        meta["items"][item] = "packed"

    _edit_json_attribute(group, "pypet_node", edit)


class TestHDF5Untrusted(UntrustedDataConformance):
    @pytest.fixture
    def storage_url(self, tmp_path: Path) -> str:
        return str(tmp_path / "crafted.h5")

    def plant(self, url: str, place: str, planted: Planted) -> None:
        with h5py.File(url, "r+") as h5:
            traj = h5[TRAJECTORY]
            if place == "metadata":
                _edit_json_attribute(
                    traj, "pypet_trajectory", lambda info: info["metadata"]["v"].append(["planted", planted.tree])
                )
            elif place == "parameter":
                _set_packed_item(traj["parameters/y"], "value", planted.blob())
            elif place == "explored":
                _replace_dataset(traj["parameters/x"], "_range", planted.blob([planted.bomb]))

                def packed_range(meta: dict[str, Any]) -> None:
                    meta["range"] = "packed"

                _edit_json_attribute(traj["parameters/x"], "pypet_node", packed_range)
            elif place == "annotations":
                blob = base64.b64encode(planted.blob({"a": planted.bomb})).decode("ascii")

                def annotations(meta: dict[str, Any]) -> None:
                    meta["annotations"] = {"packed": blob}

                _edit_json_attribute(traj["results/r"], "pypet_node", annotations)
            elif place == "result":
                _set_packed_item(traj["results/r"], "r", planted.blob())
            else:
                column = traj["_runs/columns/results.z/z"]
                index = column["run_index"][()]
                index[index == 1] = -1  # run 1's stacked row now counts as replaced
                column["run_index"][...] = index
                packed = column.create_dataset("packed", (1,), dtype=h5py.vlen_dtype(np.uint8))
                packed[0] = np.frombuffer(planted.blob(), dtype=np.uint8)
                column.create_dataset("packed_run_index", data=np.array([1], dtype=np.int64))
