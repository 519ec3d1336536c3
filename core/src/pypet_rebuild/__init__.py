"""pypet-rebuild: explore the parameter space of simulations and keep every
parameter and result together, durably, in one place."""

from __future__ import annotations

from pypet_rebuild.environment import Environment
from pypet_rebuild.errors import (
    DuplicateNameError,
    ExplorationError,
    InvalidNameError,
    JobError,
    MergeError,
    MissingPluginError,
    NodeNotFoundError,
    NotUniqueNodeError,
    ParameterLockedError,
    PluginError,
    PluginLoadError,
    PypetRebuildError,
    RunFailedError,
    RunnerError,
    SchemaVersionError,
    StorageError,
    StorageLockedError,
    TrajectoryNotFoundError,
    UnsafeValueError,
    UnsupportedTypeError,
)
from pypet_rebuild.exploration import cartesian_product
from pypet_rebuild.leaves import Parameter, Result
from pypet_rebuild.merging import merge_all_in_folder, merge_trajectories
from pypet_rebuild.persistence import LoadLevel, load_trajectory
from pypet_rebuild.plugins import PluginHost, get_plugin_host, hookimpl
from pypet_rebuild.provenance import package_version
from pypet_rebuild.runner import Runner, RunOutcome, RunPlan, execute_run
from pypet_rebuild.storage.base import Capability, StorageBackend
from pypet_rebuild.storage.records import NodeKind, NodeRecord, RunRecord, RunStatus, TrajectoryInfo
from pypet_rebuild.trajectory import Trajectory
from pypet_rebuild.tree import Group, Leaf, Node

__version__ = package_version()

LOAD_NOTHING = LoadLevel.NOTHING
LOAD_SKELETON = LoadLevel.SKELETON
LOAD_DATA = LoadLevel.DATA

__all__ = [
    "Capability",
    "DuplicateNameError",
    "Environment",
    "ExplorationError",
    "Group",
    "InvalidNameError",
    "JobError",
    "LOAD_DATA",
    "LOAD_NOTHING",
    "LOAD_SKELETON",
    "Leaf",
    "LoadLevel",
    "MergeError",
    "MissingPluginError",
    "Node",
    "NodeKind",
    "NodeNotFoundError",
    "NodeRecord",
    "NotUniqueNodeError",
    "Parameter",
    "ParameterLockedError",
    "PluginError",
    "PluginHost",
    "PluginLoadError",
    "PypetRebuildError",
    "Result",
    "RunFailedError",
    "RunOutcome",
    "RunPlan",
    "RunRecord",
    "RunStatus",
    "Runner",
    "RunnerError",
    "SchemaVersionError",
    "StorageBackend",
    "StorageError",
    "StorageLockedError",
    "Trajectory",
    "TrajectoryInfo",
    "TrajectoryNotFoundError",
    "UnsafeValueError",
    "UnsupportedTypeError",
    "cartesian_product",
    "execute_run",
    "get_plugin_host",
    "hookimpl",
    "load_trajectory",
]
