"""Crafted SQL databases: pickles planted with plain SQL run nothing on load.

The planting uses SQLAlchemy core with hand-written statements, not the
backend's code, on SQLite and on the real PostgreSQL server of conftest.py.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from pypet_rebuild import StorageError, TrajectoryInfo, get_plugin_host
from pypet_rebuild.testing import Planted, UntrustedDataConformance
from pypet_rebuild.testing.untrusted import TRAJECTORY

_TRAJ_ID = "(SELECT id FROM pypet_trajectories WHERE name = :traj)"
_ITEM = f"UPDATE pypet_node_items SET value_type = NULL, number = NULL, blob = :blob WHERE traj_id = {_TRAJ_ID} AND path = :path AND item = :item"
_NODE = f"UPDATE pypet_nodes SET {{column}} = :blob WHERE traj_id = {_TRAJ_ID} AND path = :path"
_RUN_ITEM = (
    f"UPDATE pypet_run_items SET value_type = NULL, number = NULL, blob = :blob "
    f"WHERE traj_id = {_TRAJ_ID} AND run_path = :path AND item = :item AND idx = :idx"
)


class TestSQLUntrusted(UntrustedDataConformance):
    # Trajectory metadata is a JSON column that never goes through the value codec.
    inert_places = frozenset({"metadata"})

    @pytest.fixture
    def storage_url(self, any_url: str) -> str:
        return any_url

    def plant(self, url: str, place: str, planted: Planted) -> None:
        engine = sa.create_engine(url, poolclass=NullPool)
        try:
            with engine.begin() as connection:
                connection.execute(*self._statement(place, planted))
        finally:
            engine.dispose()

    @staticmethod
    def _statement(place: str, planted: Planted) -> tuple[sa.TextClause, dict]:
        bound = {"traj": TRAJECTORY, "blob": planted.blob()}
        if place == "metadata":
            statement = sa.text(
                "UPDATE pypet_trajectories SET metadata = :metadata WHERE name = :traj"
            ).bindparams(sa.bindparam("metadata", type_=sa.JSON))
            return statement, {"traj": TRAJECTORY, "metadata": {"planted": planted.tree}}
        if place == "parameter":
            return sa.text(_ITEM), {**bound, "path": "parameters.y", "item": "value"}
        if place == "explored":
            return sa.text(_NODE.format(column="explored")), {
                **bound, "path": "parameters.x", "blob": planted.blob([planted.bomb])
            }
        if place == "annotations":
            return sa.text(_NODE.format(column="annotations")), {
                **bound, "path": "results.r", "blob": planted.blob({"a": planted.bomb})
            }
        if place == "result":
            return sa.text(_ITEM), {**bound, "path": "results.r", "item": "r"}
        return sa.text(_RUN_ITEM), {**bound, "path": "results.z", "item": "z", "idx": 1}


def test_the_metadata_column_holds_plain_json(sqlite_url: str) -> None:
    """Why metadata is inert on SQL: the backend stores nothing but JSON there."""
    with get_plugin_host().open_storage(sqlite_url) as backend:
        with pytest.raises(StorageError, match="must be JSON"):
            backend.create_trajectory(TrajectoryInfo("t", 1.0, metadata={"s": {1, 2}}))
