"""Commit tracked changes and describe the commit, with GitPython.

Why a commit before the runs: results are only reproducible if the code
that produced them can be found again. Like ``git commit -a``, only files
git already tracks are committed; new files are never added behind the
user's back.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from pypet_rebuild_git.errors import GitDirtyError, GitProvenanceError

__all__ = ["GitRecord", "commit_tracked_changes", "describe_repository", "mask_remote_url"]


@dataclass(frozen=True)
class GitRecord:
    """What is recorded under ``config.git``: the commit the exploration ran from."""

    hexsha: str
    name_rev: str
    committed_date: int
    message: str
    branch_name: str
    dirty: bool
    committed: bool
    remote_url: str
    repository: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _gitpython() -> ModuleType:
    try:
        import git
    except ImportError as exc:  # GitPython is a dependency, but may be broken or removed
        raise GitProvenanceError(
            "git provenance needs GitPython, which cannot be imported; install it with "
            "pip install 'pypet-rebuild[git]'"
        ) from exc
    return git


def _open(path: str | os.PathLike[str]) -> Any:
    git = _gitpython()
    try:
        repo = git.Repo(os.fspath(path), search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitProvenanceError(
            f"git_repository={os.fspath(path)!r} is not inside a git repository; pass the folder of "
            "your code's repository, or leave git_repository out"
        ) from None
    if repo.bare:
        raise GitProvenanceError(f"git_repository={os.fspath(path)!r} is a bare repository; pass a work tree")
    if not repo.head.is_valid():
        raise GitProvenanceError(
            f"the repository at {repo.working_tree_dir!r} has no commit yet; make a first commit"
        )
    return repo


def changed_tracked_files(repo: Any) -> list[str]:
    """Tracked files whose content differs from HEAD, staged or not."""
    output = repo.git.status("--porcelain", "--untracked-files=no", "-z")
    files = []
    entries = iter(output.split("\0"))
    for entry in entries:
        if not entry:
            continue
        status, path = entry[:2], entry[3:]
        if "R" in status or "C" in status:
            next(entries, None)  # -z puts a rename's source path after it
        files.append(path)
    return sorted(files)


def mask_remote_url(url: str) -> str:
    """The remote URL without credentials: ``https://token@host/x`` -> ``https://***@host/x``.

    scp-like addresses (``git@host:org/repo``) name a login, not a secret, and stay as they are.
    """
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    if parts.scheme == "ssh" and parts.password is None:
        return url
    return parts._replace(netloc=f"***@{host}").geturl()


def _remote_url(repo: Any) -> str:
    remotes = {remote.name: remote for remote in repo.remotes}
    remote = remotes.get("origin") or next(iter(remotes.values()), None)
    if remote is None:
        return ""
    urls = list(remote.urls)
    return mask_remote_url(urls[0]) if urls else ""


def describe_repository(repo: Any, *, dirty: bool, committed: bool) -> GitRecord:
    commit = repo.head.commit
    branch = "" if repo.head.is_detached else repo.active_branch.name
    return GitRecord(
        hexsha=commit.hexsha,
        name_rev=commit.name_rev,
        committed_date=int(commit.committed_date),
        message=str(commit.message).strip(),
        branch_name=branch,
        dirty=dirty,
        committed=committed,
        remote_url=_remote_url(repo),
        repository=str(repo.working_tree_dir),
    )


def commit_tracked_changes(
    path: str | os.PathLike[str], message: str, *, fail: bool = False
) -> GitRecord:
    """Commit every changed tracked file under ``message`` (``git add -u``), then describe HEAD.

    With ``fail=True`` a dirty tree raises :class:`GitDirtyError` instead and
    nothing is committed. A clean tree is described as it is.
    """
    git = _gitpython()
    repo = _open(path)
    changed = changed_tracked_files(repo)
    if changed and fail:
        listed = ", ".join(changed[:20]) + (f" and {len(changed) - 20} more" if len(changed) > 20 else "")
        raise GitDirtyError(
            f"the repository at {repo.working_tree_dir!r} has uncommitted changes to tracked files "
            f"({listed}); commit them, or pass git_fail=False to have them committed",
            changed,
        )
    if changed:
        try:
            repo.git.add(update=True)
            repo.git.commit("-m", message)
        except git.GitCommandError as exc:
            raise GitProvenanceError(
                f"committing the changes in {repo.working_tree_dir!r} failed: {str(exc.stderr).strip()}"
            ) from exc
    return describe_repository(repo, dirty=bool(changed), committed=bool(changed))
