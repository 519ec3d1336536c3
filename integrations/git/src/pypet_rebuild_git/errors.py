"""The git integration's errors, in the project's hierarchy."""

from __future__ import annotations

from pypet_rebuild.errors import PypetRebuildError

__all__ = ["GitDirtyError", "GitProvenanceError"]


class GitProvenanceError(PypetRebuildError):
    """The repository could not be read or committed (not a repository, no commit yet, git failed)."""


class GitDirtyError(GitProvenanceError):
    """``git_fail=True`` and tracked files had uncommitted changes; ``files`` lists them."""

    def __init__(self, message: str, files: list[str]) -> None:
        super().__init__(message)
        self.files = files
