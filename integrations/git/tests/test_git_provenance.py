"""Git provenance against real temporary repositories."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from pypet_rebuild import Environment, Trajectory, get_plugin_host, load_trajectory
from pypet_rebuild_git import GitDirtyError, GitProvenanceError, mask_remote_url


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real repository with one commit on ``main``: a tracked script and a tracked config."""
    path = tmp_path / "code"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Test Scientist")
    git(path, "config", "user.email", "scientist@example.org")
    git(path, "config", "commit.gpgsign", "false")
    (path / "simulate.py").write_text("RATE = 1\n")
    (path / "config.toml").write_text("steps = 10\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "first")
    return path


def _env(repo: Path | str, storage: str | None = None, **options: object) -> Environment:
    traj = Trajectory("sweep", comment="rate scan")
    traj.add_parameter("rate", 1.0)
    traj.explore({"rate": [1.0, 2.0]})
    return Environment(
        traj, storage or f"memory://{uuid.uuid4().hex}", git_repository=repo,
        progress=False, log_to_console=False, **options,
    )


def _job(traj: Trajectory) -> float:
    return traj.rate * 2


def test_the_plugin_is_discovered_with_its_options() -> None:
    info = get_plugin_host().plugins["git"]
    assert info.error is None
    assert info.environment_options == ["git_fail", "git_message", "git_repository"]
    assert "pypet_rebuild_environment_created" in info.lifecycle_hooks


def test_clean_tree_is_recorded_without_a_new_commit(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    with _env(repo) as env:
        git_config = env.trajectory.config.git
        assert git_config.hexsha == head
        assert git_config.committed is False and git_config.dirty is False
        assert git_config.branch_name == "main"
        assert git_config.message == "first"
        assert git_config.name_rev == f"{head} main"
        assert git_config.committed_date == int(git(repo, "log", "-1", "--format=%ct"))
    assert git(repo, "rev-list", "--count", "HEAD") == "1"


def test_dirty_tree_is_committed_tracked_files_only(repo: Path) -> None:
    (repo / "simulate.py").write_text("RATE = 2\n")
    git(repo, "rm", "-q", "--cached", "config.toml")  # a staged deletion is committed too
    (repo / "notes.txt").write_text("untracked, must stay untracked\n")
    with _env(repo, git_message="faster rate") as env:
        record = env.trajectory.config.git
        new_head = git(repo, "rev-parse", "HEAD")
        assert record.hexsha == new_head
        assert record.committed is True and record.dirty is True
    message = git(repo, "log", "-1", "--format=%B")
    assert "'sweep'" in message and "rate scan" in message and "faster rate" in message
    assert "created 20" in message
    assert git(repo, "show", "--name-status", "--format=", "HEAD").splitlines() == [
        "D\tconfig.toml", "M\tsimulate.py"
    ]
    assert git(repo, "status", "--porcelain").splitlines() == ["?? config.toml", "?? notes.txt"]


def test_git_fail_refuses_a_dirty_tree_and_lists_the_files(repo: Path) -> None:
    (repo / "simulate.py").write_text("RATE = 3\n")
    (repo / "config.toml").write_text("steps = 20\n")
    with pytest.raises(GitDirtyError, match="config.toml, simulate.py") as caught:
        _env(repo, git_fail=True)
    assert caught.value.files == ["config.toml", "simulate.py"]
    assert git(repo, "rev-list", "--count", "HEAD") == "1"
    with _env(repo, git_fail=False) as env:  # the same tree, allowed this time
        assert env.trajectory.config.git.committed is True


def test_git_fail_passes_a_clean_tree(repo: Path) -> None:
    with _env(repo, git_fail=True) as env:
        assert env.trajectory.config.git.dirty is False


def test_detached_head(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "--detach", first)
    (repo / "simulate.py").write_text("RATE = 4\n")
    with _env(repo) as env:
        record = env.trajectory.config.git
        assert record.branch_name == ""
        assert record.committed is True
        assert record.hexsha == git(repo, "rev-parse", "HEAD") != first


def test_not_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(GitProvenanceError, match="is not inside a git repository"):
        _env(plain)
    with pytest.raises(GitProvenanceError, match="is not inside a git repository"):
        _env(tmp_path / "missing")


def test_repository_without_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    with pytest.raises(GitProvenanceError, match="no commit yet"):
        _env(tmp_path)


def test_a_subfolder_finds_its_repository(repo: Path) -> None:
    (repo / "sub").mkdir()
    with _env(repo / "sub") as env:
        assert env.trajectory.config.git.repository == str(repo)


def test_remote_credentials_are_masked(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://alice:s3cret@git.example.org/lab/code.git")
    with _env(repo) as env:
        assert env.trajectory.config.git.remote_url == "https://***@git.example.org/lab/code.git"
    assert mask_remote_url("https://ghp_token@host/x.git") == "https://***@host/x.git"
    assert mask_remote_url("git@host:lab/code.git") == "git@host:lab/code.git"
    assert mask_remote_url("ssh://git@host/lab/code.git") == "ssh://git@host/lab/code.git"
    assert mask_remote_url("https://host/x.git") == "https://host/x.git"


def test_without_the_option_nothing_is_recorded() -> None:
    traj = Trajectory("plain")
    with Environment(traj, "memory://", progress=False, log_to_console=False) as env:
        assert "config.git" not in env.trajectory
        assert env.plugin_options["git_repository"] is None


def _storages(tmp_path: Path) -> list[str]:
    host = get_plugin_host()
    urls = [f"memory://{uuid.uuid4().hex}"]
    if host.storage.for_suffix(".h5") is not None:
        urls.append(str(tmp_path / "runs.h5"))
    if host.storage.for_scheme("sqlite") is not None:
        urls.append(f"sqlite:///{tmp_path / 'runs.db'}")
    if host.storage.for_scheme("mongomock") is not None:
        urls.append(f"mongomock://localhost/{uuid.uuid4().hex}")
    return urls


@pytest.mark.parametrize("kind", ["memory", "hdf5", "sqlite", "mongomock"])
def test_the_record_is_stored_on_every_backend(repo: Path, tmp_path: Path, kind: str) -> None:
    urls = {url.split(":", 1)[0] if "://" in url else "hdf5": url for url in _storages(tmp_path)}
    if kind not in urls:
        pytest.skip(f"the {kind} backend is not installed")
    url = urls[kind]
    (repo / "simulate.py").write_text("RATE = 5\n")
    with _env(repo, url) as env:
        env.run(_job)
    loaded = load_trajectory(url, "sweep")
    assert loaded.config.git.hexsha == git(repo, "rev-parse", "HEAD")
    assert loaded.config.git.dirty is True
    assert loaded.config.git.branch_name == "main"
