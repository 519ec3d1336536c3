"""DEAP through the Environment: the example end to end, ``toolbox.map = env.run_map``, the logbook type."""

from __future__ import annotations

import random
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from deap import base, creator, tools

from pypet_rebuild import Environment, Trajectory, get_plugin_host, load_trajectory
from pypet_rebuild_deap import EvaluationFailedError, add_evolution_parameters, evaluate_population

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "deap_one_max.py"

if not hasattr(creator, "TestFitnessMin"):
    creator.create("TestFitnessMin", base.Fitness, weights=(-1.0,))
    creator.create("TestVector", list, fitness=creator.TestFitnessMin)


def sphere(traj: Trajectory, genes: list[float]) -> tuple[float]:
    return (float(np.sum(np.square(genes))),)


def failing_on_negative_first_gene(traj: Trajectory, genes: list[float]) -> tuple[float]:
    if genes[0] < 0:
        raise ValueError("negative first gene")
    return sphere(traj, genes)


def _file_storage(tmp_path: Path) -> str:
    if get_plugin_host().storage.for_suffix(".h5") is None:
        pytest.skip("the hdf5 backend is not installed")
    return str(tmp_path / "evolution.h5")


# The multiprocessing runner starts its workers anew for every env.run (one per generation): fewer there.
@pytest.mark.parametrize(("runner", "last"), [("serial", 8), ("multiprocessing", 4)])
def test_the_example_stores_every_generation_and_the_best_never_gets_worse(
    tmp_path: Path, runner: str, last: int
) -> None:
    storage = _file_storage(tmp_path)
    command = [sys.executable, str(EXAMPLE), "--generations", str(last), "--population", "16", "--genes", "24",
               "--runner", runner, "--ncores", "2", "--storage", storage]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    traj = load_trajectory(storage, "deap_one_max")
    assert traj.is_completed()
    generations = np.asarray(traj.get("generation").range)
    logbook = traj.results.logbook
    assert sorted(set(generations.tolist())) == list(range(last + 1))
    assert logbook.gen.tolist() == list(range(last + 1))
    assert logbook.nevals.tolist() == np.bincount(generations).tolist()
    assert len(traj) == int(logbook.nevals.sum()) and logbook.nevals[0] == 16
    # Every stored fitness is that of the stored individual.
    _, individuals = traj.get_column("individual")
    _, fitness = traj.get_column("fitness")
    assert individuals.shape == (len(traj), 24)
    assert np.array_equal(fitness[:, 0], individuals.sum(axis=1))
    # With one elite, each generation's best is the best evaluated so far: it never decreases.
    best_so_far = [fitness[generations <= g, 0].max() for g in range(last + 1)]
    assert logbook.max.tolist() == best_so_far
    assert np.all(np.diff(logbook.max) >= 0)
    hall = traj.results.hall_of_fame
    assert hall.fitness[0, 0] == fitness.max() and hall.individuals[0].sum() == fitness.max()
    assert f"best individual: {fitness.max():.0f} of 24 ones" in done.stdout


def test_toolbox_map_is_env_run_map(tmp_path: Path) -> None:
    """pypet's pattern: expand by one point per individual, then ``toolbox.map(evaluate, individuals)``."""
    traj = Trajectory("map_pattern")
    add_evolution_parameters(traj)
    random.seed(1)
    toolbox = base.Toolbox()
    toolbox.register("individual", tools.initRepeat, creator.TestVector, lambda: random.uniform(-1, 1), 3)
    toolbox.register("evaluate", sphere)
    population = [toolbox.individual() for _ in range(5)]
    url = f"memory://{uuid.uuid4().hex}"
    with Environment(traj, url, progress=False, log_to_console=False) as env:
        toolbox.register("map", env.run_map)
        for generation in range(2):
            traj.expand({"generation": [generation] * 5, "ind_idx": list(range(5))})
            for (idx, fitness), ind in zip(toolbox.map(toolbox.evaluate, [list(i) for i in population]), population):
                traj.idx = idx
                assert (traj.generation, traj.ind_idx) == (generation, idx % 5)
                ind.fitness.values = fitness
            traj.idx = -1
            population = [toolbox.clone(ind) for ind in population[::-1]]
    assert len(load_trajectory(url)) == 10


def test_a_failed_evaluation_raises_after_storing_the_generation() -> None:
    traj = Trajectory("failing")
    add_evolution_parameters(traj)
    population = [creator.TestVector([x, 1.0]) for x in (1.0, -1.0, 2.0)]
    with Environment(traj, "memory://", progress=False, log_to_console=False) as env:
        with pytest.raises(EvaluationFailedError, match=r"generation 0 failed in the runs \[1\]"):
            evaluate_population(env, failing_on_negative_first_gene, population, 0)
        assert "negative first gene" in (traj.run_info(1).error or "")
        assert traj.is_completed(0) and traj.is_completed(2)
        with pytest.raises(EvaluationFailedError, match="not completed"):
            evaluate_population(env, sphere, [creator.TestVector([3.0, 1.0])], 1)


@pytest.mark.parametrize("kind", ["memory", "hdf5"])
def test_a_whole_logbook_is_a_value(tmp_path: Path, kind: str) -> None:
    url = f"memory://{uuid.uuid4().hex}" if kind == "memory" else _file_storage(tmp_path)
    logbook = tools.Logbook()
    logbook.header = ["gen", "fitness"]
    logbook.record(gen=0, fitness={"max": 3.0, "mean": 1.5}, size={"max": 4})
    logbook.record(gen=1, fitness={"max": 4.0, "mean": 2.5}, size={"max": 4})
    traj = Trajectory("logged")
    with Environment(traj, url, progress=False, log_to_console=False) as env:
        env.run(sphere, [1.0])  # creates the trajectory in the storage
        traj.add_result("log", logbook)
        traj.store()
    loaded = load_trajectory(url, "logged").results.log
    assert type(loaded) is tools.Logbook and loaded.header == ["gen", "fitness"]
    assert loaded.select("gen") == [0, 1]
    assert loaded.chapters["fitness"].select("max") == [3.0, 4.0]
    assert loaded.chapters["size"].select("max") == [4, 4]
