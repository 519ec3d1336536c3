"""The ``git`` plugin: ``Environment(..., git_repository=PATH, git_message=..., git_fail=...)``.

On the coordinating process, when the environment is created, tracked
changes are committed (or refused with ``git_fail=True``) and the commit is
recorded as config entries under ``config.git``, so every backend stores it
with the trajectory.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from pypet_rebuild import hookimpl
from pypet_rebuild.registries import EnvironmentOptionRegistry

from pypet_rebuild_git.provenance import GitRecord, commit_tracked_changes

if TYPE_CHECKING:
    from pypet_rebuild import Environment, Trajectory

logger = logging.getLogger("pypet_rebuild.git")


@hookimpl
def pypet_rebuild_register_environment_options(registry: EnvironmentOptionRegistry) -> None:
    registry.add("git_repository", None, help="path inside the repository of the code to commit and record")
    registry.add("git_message", "", help="added to the commit message")
    registry.add("git_fail", False, help="raise GitDirtyError instead of committing changed tracked files")


def commit_message(traj: Trajectory, user_message: str) -> str:
    created = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(traj.created))
    lines = [f"pypet-rebuild: trajectory {traj.name!r}, created {created}"]
    if traj.comment:
        lines.append(f"Comment: {traj.comment}")
    if user_message:
        lines += ["", user_message]
    return "\n".join(lines)


def _record(traj: Trajectory, record: GitRecord) -> None:
    if "config.git" in traj:  # resumed: the commit it first ran from stays on record
        logger.info("trajectory %r already records a git commit; keeping that record", traj.name)
        return
    for key, value in record.as_dict().items():
        traj.add_config(f"git.{key}", value)


@hookimpl
def pypet_rebuild_environment_created(environment: Environment) -> None:
    options = environment.plugin_options
    path = options.get("git_repository")
    if path is None:
        return
    traj = environment.trajectory
    record = commit_tracked_changes(
        path, commit_message(traj, str(options.get("git_message") or "")), fail=bool(options.get("git_fail"))
    )
    if record.committed:
        logger.info("committed the changed tracked files of %s as %s", record.repository, record.hexsha)
    _record(traj, record)
