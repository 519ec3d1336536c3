"""Plugins claim Environment keyword arguments and observe the exploration's start."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pypet_rebuild import Environment, PluginError, PluginHost, RunnerError, Trajectory, hookimpl, load_trajectory


class Provenance:
    """A plugin with an option of its own; it records what it was given."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.started: list[list[int]] = []

    @hookimpl
    def pypet_rebuild_register_environment_options(self, registry) -> None:  # type: ignore[no-untyped-def]
        registry.add("lab_notebook", None, help="where the lab keeps its notes")
        registry.add("lab_strict", False)

    @hookimpl
    def pypet_rebuild_environment_created(self, environment: Environment) -> None:
        options = environment.plugin_options
        self.seen.append((options["lab_notebook"], options["lab_strict"]))
        if options["lab_strict"]:
            raise PluginError("the lab notebook refuses this environment")
        if options["lab_notebook"] is not None:
            environment.trajectory.add_config("lab.notebook", options["lab_notebook"])

    @hookimpl
    def pypet_rebuild_exploration_started(self, environment: Environment, trajectory: Trajectory, indices: list[int]) -> None:
        self.started.append(list(indices))


def _traj() -> Trajectory:
    traj = Trajectory("claimed")
    traj.add_parameter("x", 1)
    traj.explore({"x": [1, 2, 3]})
    return traj


def _job(traj: Trajectory) -> int:
    return traj.x


def test_claimed_options_reach_the_plugin_not_the_runner() -> None:
    plugin = Provenance()
    host = PluginHost(autoload=False, extra_plugins=(("lab", plugin),))
    assert host.plugins["lab"].environment_options == ["lab_notebook", "lab_strict"]
    assert host.plugins["lab"].lifecycle_hooks == [
        "pypet_rebuild_environment_created", "pypet_rebuild_exploration_started"
    ]
    url = f"memory://{uuid.uuid4().hex}"
    with Environment(_traj(), url, plugin_host=host, lab_notebook="page 12", progress=False, log_to_console=False) as env:
        assert env.plugin_options == {"lab_notebook": "page 12", "lab_strict": False}
        env.run(_job)
    assert plugin.seen == [("page 12", False)]
    assert load_trajectory(url, plugin_host=host).config.lab.notebook == "page 12"


def test_defaults_fill_options_not_given_and_the_rest_still_go_to_the_runner() -> None:
    plugin = Provenance()
    host = PluginHost(autoload=False, extra_plugins=(("lab", plugin),))
    with Environment(_traj(), "memory://", plugin_host=host, progress=False, log_to_console=False):
        pass
    assert plugin.seen == [(None, False)]
    with pytest.raises(RunnerError, match="ncores"):
        Environment(_traj(), "memory://", plugin_host=host, lab_notebook="x", ncores=2)


def test_without_the_plugin_the_option_is_unknown() -> None:
    host = PluginHost(autoload=False)
    with pytest.raises(RunnerError, match="lab_notebook"):
        Environment(_traj(), "memory://", plugin_host=host, lab_notebook="x")


def test_two_plugins_claiming_one_option_is_an_error() -> None:
    with pytest.raises(PluginError, match="claimed twice"):
        PluginHost(autoload=False, extra_plugins=(("lab", Provenance()), ("lab_again", Provenance())))


def test_a_plugin_refusing_the_environment_releases_its_storage() -> None:
    host = PluginHost(autoload=False, extra_plugins=(("lab", Provenance()),))
    closed: list[bool] = []
    backend = host.open_storage(f"memory://{uuid.uuid4().hex}")
    real_close = backend.close
    backend.close = lambda: (closed.append(True), real_close())[1]  # type: ignore[method-assign]
    with pytest.raises(PluginError, match="refuses"):
        Environment(_traj(), backend, plugin_host=host, lab_strict=True, log_to_console=False)
    assert closed == [True]


def test_exploration_started_names_the_pending_runs() -> None:
    plugin = Provenance()
    host = PluginHost(autoload=False, extra_plugins=(("lab", plugin),))
    with Environment(_traj(), "memory://", plugin_host=host, progress=False, log_to_console=False) as env:
        env.run(_job)
        env.trajectory.expand({"x": [4, 5]})
        env.run(_job)
    assert plugin.started == [[0, 1, 2], [3, 4]]


def test_plugin_value_types_are_known_before_any_environment_exists() -> None:
    """A script's first line may be ``add_parameter`` with a plugin's type; workers start the same way."""
    import subprocess
    import sys
    from importlib import metadata

    if not any(ep.name == "example" for ep in metadata.entry_points(group="pypet_rebuild")):
        pytest.skip("tests/example_plugin is not installed (pip install -r requirements-dev.txt)")
    script = (
        "from fractions import Fraction\n"
        "from pypet_rebuild import Trajectory, values\n"
        "traj = Trajectory('fresh')\n"
        "traj.add_parameter('ratio', Fraction(1, 3))\n"
        "print(values.unpack(values.pack(Fraction(2, 7))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "2/7"
