"""Git provenance for pypet-rebuild: the commit an exploration ran from, kept with its data."""

from __future__ import annotations

from pypet_rebuild_git.errors import GitDirtyError, GitProvenanceError
from pypet_rebuild_git.provenance import GitRecord, commit_tracked_changes, describe_repository, mask_remote_url

__all__ = [
    "GitDirtyError",
    "GitProvenanceError",
    "GitRecord",
    "commit_tracked_changes",
    "describe_repository",
    "mask_remote_url",
]
