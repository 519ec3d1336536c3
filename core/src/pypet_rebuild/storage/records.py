"""The neutral records that cross the boundary between the tree and a backend.

Backends never see ``Trajectory`` objects: they store and return these plain
records, so that a backend can be written (and tested) without knowing how
the tree is built, and a trajectory can move between backends unchanged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "NodeKind",
    "RunStatus",
    "NodeRecord",
    "RunRecord",
    "TrajectoryInfo",
    "RunColumns",
    "STATUS_CODES",
    "run_name",
    "RUN_NAME_PREFIX",
]

RUN_NAME_PREFIX = "run_"


def run_name(idx: int) -> str:
    """The stored name of run ``idx``: ``run_00000042``."""
    return f"{RUN_NAME_PREFIX}{idx:08d}"


class NodeKind(str, enum.Enum):
    GROUP = "group"
    PARAMETER = "parameter"
    RESULT = "result"
    LINK = "link"


class RunStatus(str, enum.Enum):
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass
class NodeRecord:
    """One node of the tree outside the per-run groups, or one leaf of a run.

    ``path`` is the full dotted name for ordinary nodes
    (``parameters.neuron.tau``). For the leaves of a run (inside a
    ``RunRecord``) it is the *run path*: the branch followed by the path
    below the run group, so ``results.runs.run_00000042.neuron.z`` is stored
    as ``results.neuron.z``. Backends store all runs' values of one run path
    and item together (columnar).

    ``data`` maps item names to values; parameters keep their default under
    the item ``"value"``. ``data is None`` means "not loaded" (a skeleton) or,
    in ``store_nodes``, "update comment and annotations only, keep the data".

    ``explored`` is a parameter's explored range, ``None`` if not explored.
    ``pickled`` names the items the user explicitly allowed to be pickled.
    """

    path: str
    kind: NodeKind
    comment: str = ""
    annotations: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] | None = None
    explored: list[Any] | None = None
    link_target: str | None = None
    pickled: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]


@dataclass
class RunRecord:
    """One finished run: its status record and the leaves it added.

    Times are seconds since the epoch. ``nodes`` is empty in what
    ``load_run_infos`` returns (status only).
    """

    idx: int
    status: RunStatus
    started: float
    finished: float
    error: str | None = None
    nodes: list[NodeRecord] = field(default_factory=list)

    @property
    def name(self) -> str:
        return run_name(self.idx)

    @property
    def duration(self) -> float:
        return self.finished - self.started


@dataclass
class TrajectoryInfo:
    """What identifies a stored trajectory, plus free-form metadata.

    ``metadata`` holds JSON-compatible provenance (package and Python
    versions, environment name, hostname, plugin-added entries).
    """

    name: str
    created: float
    comment: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


# Status codes of ``RunColumns.status`` (0 is "not stored" where arrays are indexed by run).
STATUS_CODES = {RunStatus.COMPLETED: 1, RunStatus.FAILED: 2}


@dataclass
class RunColumns:
    """The status records of every stored run as arrays, sorted by index.

    A million runs are four arrays, not a million ``RunRecord`` objects: this
    is what loading and the analysis layer read. ``status`` holds
    ``STATUS_CODES``; ``errors`` only the failed runs' tracebacks.
    """

    idx: np.ndarray
    status: np.ndarray
    started: np.ndarray
    finished: np.ndarray
    errors: dict[int, str] = field(default_factory=dict)

    @classmethod
    def from_records(cls, runs: Sequence[RunRecord]) -> RunColumns:
        ordered = sorted(runs, key=lambda r: r.idx)
        return cls(
            np.fromiter((r.idx for r in ordered), dtype=np.int64, count=len(ordered)),
            np.fromiter((STATUS_CODES[r.status] for r in ordered), dtype=np.int8, count=len(ordered)),
            np.fromiter((r.started for r in ordered), dtype=np.float64, count=len(ordered)),
            np.fromiter((r.finished for r in ordered), dtype=np.float64, count=len(ordered)),
            {r.idx: r.error for r in ordered if r.error},
        )

    def __len__(self) -> int:
        return len(self.idx)
