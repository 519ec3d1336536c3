"""Every hook pypet-rebuild calls, and when.

Plugins implement these with ``@pypet_rebuild.hookimpl`` and register under
the entry-point group ``pypet_rebuild``. The core's own in-memory backend and
serial runner use exactly the same hooks. Registration hooks receive a
registry object and add to it; lifecycle hooks observe and return nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pypet_rebuild.environment import Environment
    from pypet_rebuild.registries import EnvironmentOptionRegistry, RunnerRegistry, StorageRegistry
    from pypet_rebuild.runner import RunOutcome
    from pypet_rebuild.trajectory import Trajectory
    from pypet_rebuild.values import ValueTypeRegistry

PROJECT_NAME = "pypet_rebuild"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


@hookspec
def pypet_rebuild_register_storage_backends(registry: StorageRegistry) -> None:
    """Add storage backends with ``registry.add(name, opener, schemes=, suffixes=)``.

    Called once when the plugin host is built. ``opener(url, **options)``
    must return a ``StorageBackend``; ``schemes`` are URL schemes it answers
    (``"sqlite"``), ``suffixes`` file endings of plain paths (``".h5"``).
    ``recognizes(path)``, if given, is asked first about every existing file
    path, for formats a suffix cannot tell apart (pypet's HDF5 files).
    """


@hookspec
def pypet_rebuild_register_runners(registry: RunnerRegistry) -> None:
    """Add runners with ``registry.add(name, factory)``.

    Called once when the plugin host is built. ``factory(**options)`` must
    return a ``Runner``; unknown options should raise ``RunnerError``.
    """


@hookspec
def pypet_rebuild_register_value_types(registry: ValueTypeRegistry) -> None:
    """Teach every backend a new value type with ``registry.add(cls, tag, to_portable, from_portable)``.

    Called once when the plugin host is built. ``to_portable`` turns an
    instance into a value of a type the core already stores; the tag is how
    it is recognised when loaded, so it must never change.
    """


@hookspec
def pypet_rebuild_register_environment_options(registry: EnvironmentOptionRegistry) -> None:
    """Claim keyword arguments of ``Environment`` with ``registry.add(name, default, help=)``.

    Called once when the plugin host is built. A claimed option is taken out
    of the keywords handed to the runner and is readable, given or defaulted,
    as ``environment.plugin_options[name]`` from ``pypet_rebuild_environment_created``
    on. Name options after the plugin (``git_repository``) so that they cannot
    clash with a runner's.
    """


@hookspec
def pypet_rebuild_environment_created(environment: Environment) -> None:
    """Called at the end of ``Environment.__init__`` on the coordinating
    process, once its trajectory exists; provenance plugins record metadata
    into ``environment.trajectory`` here."""


@hookspec
def pypet_rebuild_exploration_started(environment: Environment, trajectory: Trajectory, indices: list[int]) -> None:
    """Called on the coordinating process when ``Environment.run`` has stored
    the trajectory and is about to hand out the runs ``indices``."""


@hookspec
def pypet_rebuild_before_run(environment: Environment, trajectory: Trajectory, idx: int) -> None:
    """Called on the coordinating process just before run ``idx`` is handed
    to a worker (or, for the serial runner, executed)."""


@hookspec
def pypet_rebuild_after_run(environment: Environment, trajectory: Trajectory, outcome: RunOutcome) -> None:
    """Called on the coordinating process when run ``outcome.idx`` has
    finished, before it is stored."""


@hookspec
def pypet_rebuild_exploration_finished(
    environment: Environment, trajectory: Trajectory, results: list[tuple[int, Any]]
) -> None:
    """Called on the coordinating process after ``Environment.run`` stored
    its last batch, with what ``run`` is about to return."""
