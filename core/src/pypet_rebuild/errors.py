"""One exception hierarchy for everything pypet-rebuild raises on purpose.

Every message says what was wrong and how to fix it, so that a scientist who
meets one at the end of a long exploration knows what to change without
reading our source.
"""

from __future__ import annotations

__all__ = [
    "PypetRebuildError",
    "InvalidNameError",
    "InvalidCommentError",
    "DuplicateNameError",
    "NodeNotFoundError",
    "NotUniqueNodeError",
    "ParameterLockedError",
    "ExplorationError",
    "UnsupportedTypeError",
    "PluginError",
    "MissingPluginError",
    "PluginLoadError",
    "StorageError",
    "TrajectoryNotFoundError",
    "StorageLockedError",
    "DamagedDataError",
    "SchemaVersionError",
    "UnsafeValueError",
    "RunnerError",
    "JobError",
    "RunFailedError",
    "MergeError",
    "StorageWarning",
]


class PypetRebuildError(Exception):
    """Base class: catch this to catch every error the toolkit raises on purpose."""


class InvalidNameError(PypetRebuildError, ValueError):
    """A node name is not identifier-like, or is reserved."""


class InvalidCommentError(PypetRebuildError, ValueError):
    """A comment is not text every backend stores (not a str, or holds a NUL character)."""


class DuplicateNameError(PypetRebuildError, ValueError):
    """A node of that name already exists where a new one was to be added."""


class NodeNotFoundError(PypetRebuildError, AttributeError, KeyError):
    """No node answers to a name.

    It is also an ``AttributeError`` and a ``KeyError`` so that ``hasattr``,
    ``getattr(traj, name, default)`` and ``name in traj`` keep their usual
    meaning under natural naming.
    """

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class NotUniqueNodeError(PypetRebuildError, LookupError):
    """A shortcut names more than one node; the full name is needed."""


class ParameterLockedError(PypetRebuildError):
    """A parameter's value was changed after the value had been used."""


class ExplorationError(PypetRebuildError, ValueError):
    """An exploration request cannot be carried out as given."""


class UnsupportedTypeError(PypetRebuildError, TypeError):
    """A value's type cannot be stored without pickling it."""


class PluginError(PypetRebuildError):
    """Base class for problems finding or loading plugins."""


class MissingPluginError(PluginError):
    """A backend, runner or other plugin was asked for but is not installed."""


class PluginLoadError(PluginError):
    """A plugin is installed but failed while being imported or registered."""


class StorageError(PypetRebuildError):
    """Reading or writing stored data failed; stored data is left as it was."""


class TrajectoryNotFoundError(StorageError, LookupError):
    """The storage holds no trajectory of the requested name or index."""


class StorageLockedError(StorageError):
    """Another process holds the storage open for writing."""


class DamagedDataError(StorageError):
    """Stored bytes fail their checksum: the store was damaged after it was written."""


class SchemaVersionError(StorageError):
    """The storage was written by an incompatible layout version."""


class UnsafeValueError(StorageError):
    """Stored data holds a pickle where the reader did not allow one.

    Unpickling runs code chosen by whoever wrote the file, so it happens only
    for result items the reader allowed (``allow_pickle=True``); metadata,
    annotations, parameters and explored ranges are refused even then.
    """


class RunnerError(PypetRebuildError):
    """A runner could not execute the exploration."""


class JobError(PypetRebuildError, TypeError):
    """The job handed to ``Environment.run`` cannot be run (not callable, not picklable)."""


class RunFailedError(PypetRebuildError):
    """One or more runs raised; raised at the end of ``run`` when asked to."""


class MergeError(PypetRebuildError, ValueError):
    """Two trajectories cannot be merged as asked (different parameters, nothing to add)."""


class StorageWarning(UserWarning):
    """Storage found something wrong that it could repair without losing data (said what it did)."""
