from __future__ import annotations

import subprocess
import sys
import uuid
from fractions import Fraction
from importlib import metadata

import pytest

from pypet_rebuild import (
    Environment,
    MissingPluginError,
    PluginError,
    PluginHost,
    PluginLoadError,
    Trajectory,
    hookimpl,
    load_trajectory,
)
from pypet_rebuild.plugins import DISABLE_ENV


def _example_installed() -> bool:
    return any(ep.name == "example" for ep in metadata.entry_points(group="pypet_rebuild"))


needs_example = pytest.mark.skipif(
    not _example_installed(), reason="tests/example_plugin is not installed (pip install -r requirements-dev.txt)"
)


def test_builtins_are_registered_like_any_plugin() -> None:
    host = PluginHost(autoload=False)
    assert set(host.plugins) == {"memory_backend", "serial_runner"}
    assert host.plugins["memory_backend"].backends == ["memory"]
    assert host.plugins["serial_runner"].runners == ["serial"]
    assert host.storage.for_scheme("memory") is not None


def test_builtins_can_be_disabled() -> None:
    host = PluginHost(autoload=False, disabled={"serial_runner"})
    with pytest.raises(MissingPluginError, match="serial"):
        host.make_runner("serial")


def test_missing_plugin_names_the_extra_to_install() -> None:
    host = PluginHost(autoload=False)
    with pytest.raises(MissingPluginError, match=r"pip install .*(backends/mongo|'pypet-rebuild\[mongo\]')"):
        host.open_storage("mongodb://localhost/db")
    with pytest.raises(MissingPluginError, match=r"pip install .*(backends/hdf5|'pypet-rebuild\[hdf5\]')"):
        host.open_storage("results.h5")
    with pytest.raises(MissingPluginError, match=r"pip install .*(runners/mpi|'pypet-rebuild\[mpi\]')"):
        host.make_runner("mpi")


def test_disabled_by_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DISABLE_ENV, "memory_backend, serial_runner")
    host = PluginHost(autoload=False)
    assert host.plugins == {}
    with pytest.raises(MissingPluginError, match="no installed plugin provides"):
        host.open_storage("memory://")


class _BrokenEntryPoint:
    name = "sql"
    value = "broken_module.plugin"
    dist = None

    def load(self) -> object:
        raise ImportError("No module named 'sqlalchemy'")


def test_installed_plugin_that_fails_to_import_is_reported_with_its_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    real = metadata.entry_points
    monkeypatch.setattr(
        metadata,
        "entry_points",
        lambda group=None: [_BrokenEntryPoint()] if group == "pypet_rebuild" else real(group=group),
    )
    host = PluginHost(autoload=True)
    assert isinstance(host.plugins["sql"].error, ImportError)
    with pytest.raises(PluginLoadError, match="failed to load") as error:
        host.open_storage("sqlite:///x.db")
    assert isinstance(error.value.__cause__, ImportError)


def test_two_plugins_claiming_one_scheme_is_an_error() -> None:
    class Clash:
        @hookimpl
        def pypet_rebuild_register_storage_backends(self, registry) -> None:  # type: ignore[no-untyped-def]
            registry.add("clash", lambda url: None, schemes=("memory",))

    with pytest.raises(PluginError, match="already opens"):
        PluginHost(autoload=False, extra_plugins=(("clash", Clash()),))


@needs_example
def test_third_party_distribution_is_discovered_and_used() -> None:
    host = PluginHost()
    info = host.plugins["example"]
    assert info.distribution == "pypet-rebuild-example-plugin" and info.version == "0.0.1"
    assert (info.backends, info.runners, info.value_types) == (["scratch"], ["reversed"], ["example.Fraction"])
    url = f"scratch://{uuid.uuid4().hex}"
    traj = Trajectory("third_party")
    traj.add_parameter("ratio", Fraction(1, 2))
    traj.explore({"ratio": [Fraction(1, 2), Fraction(2, 3), Fraction(3, 4)]})
    order: list[int] = []

    def job(traj: Trajectory) -> int:
        order.append(traj.idx)
        traj.add_result("inverse", 1 / traj.ratio)
        return traj.idx * 10

    with Environment(traj, url, runner="reversed", plugin_host=host, progress=False, log_to_console=False) as env:
        returned = env.run(job)
    assert order == [2, 1, 0]
    assert type(returned) is list and returned == [(0, 0), (1, 10), (2, 20)]  # run order, whatever the runner
    loaded = load_trajectory(url, plugin_host=host)
    assert loaded.get_from_runs("inverse") == {
        "run_00000000": Fraction(2), "run_00000001": Fraction(3, 2), "run_00000002": Fraction(4, 3)
    }
    assert loaded.get("ratio").range[1] == Fraction(2, 3)


def test_cli_lists_plugins() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pypet_rebuild", "plugins"], capture_output=True, text=True, check=True
    )
    assert "memory_backend  (pypet-rebuild-core" in result.stdout
    assert "memory opens: memory://" in result.stdout
    assert "runners: serial" in result.stdout


def test_cli_reports_errors_without_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pypet_rebuild", "list", "nosuch.txt"], capture_output=True, text=True
    )
    assert result.returncode == 2 and result.stderr.startswith("error: cannot tell which storage backend")
    assert "Traceback" not in result.stderr
