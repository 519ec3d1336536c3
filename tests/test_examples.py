"""The examples run end to end and store what they print."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pypet_rebuild import get_plugin_host, load_trajectory

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _hdf5_or_skip() -> None:
    if get_plugin_host().storage.for_suffix(".h5") is None:
        if os.environ.get("CI"):
            pytest.fail("the hdf5 backend must be installed in CI")
        pytest.skip("the hdf5 backend is not installed")


def _run(script: str, *args: str, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_cellular_automaton_stores_the_paper_grid_and_analysis_reads_it(tmp_path: Path) -> None:
    _hdf5_or_skip()
    out = _run("cellular_automaton.py", cwd=tmp_path)
    path = tmp_path / "results" / "cellular_automaton.h5"
    traj = load_trajectory(str(path))
    assert len(traj) == 12 and traj.is_completed()
    assert sorted(set(traj.get("rule_number").range)) == [10, 30, 90, 110, 184, 190]
    traj.idx = 2  # rule 30 from a single cell: the famous triangle
    pattern = traj.results.runs.crun.pattern
    assert pattern.shape == (250, 400) and pattern[0].sum() == 1
    assert f"{int(pattern.sum()):>23}" in out
    assert (tmp_path / "logs" / "cellular_automaton" / "main.log").exists()
    analysis = _run("analyse.py", str(path), cwd=tmp_path)
    _, density = traj.get_column("final_density")
    assert f"rule  30: mean final density {np.mean(density[[2, 3]]):.3f}" in analysis


def test_multiplication_sweep(tmp_path: Path) -> None:
    _hdf5_or_skip()
    out = _run("multiplication.py", cwd=tmp_path)
    traj = load_trajectory(str(tmp_path / "results" / "multiplication.h5"))
    assert traj.get_column("z")[1].tolist() == [x * y for x in (1.0, 2.0, 3.0, 4.0) for y in (6.0, 7.0, 8.0)]
    assert "   11   4.0   8.0   32.0" in out


def test_adaptive_search_refines_towards_the_peak(tmp_path: Path) -> None:
    _hdf5_or_skip()
    out = _run("adaptive_search.py", cwd=tmp_path)
    traj = load_trajectory(str(tmp_path / "results" / "adaptive_search.h5"))
    rounds = [traj.results.rounds.get(f"round_{k}") for k in range(len(traj.results.rounds.children))]
    assert len(rounds) >= 5 and traj.is_completed()
    assert [r.best for r in rounds] == sorted(r.best for r in rounds)  # never worse than the round before
    assert abs(rounds[-1].x - 0.37) < 0.02 and abs(rounds[-1].y + 1.21) < 0.02
    assert len(traj) == 25 + 9 * (len(rounds) - 1)
    assert f"{len(traj)} runs in {len(rounds)} rounds" in out


def test_merge_example_appends_and_drops_duplicates(tmp_path: Path) -> None:
    _hdf5_or_skip()
    out = _run("merge_trajectories.py", cwd=tmp_path)
    traj = load_trajectory(str(tmp_path / "results" / "merge_example" / "monday.h5"))
    assert traj.explored_parameters["parameters.damping"].range == [0.01, 0.02, 0.03, 0.04, 0.05, 0.06]
    _, amplitudes = traj.get_column("amplitude")
    assert np.all(np.diff(amplitudes) < 0)  # more damping, less amplitude left
    assert "wednesday added 1 new run(s); the merged sweep has 6 runs" in out
    assert len(traj.config.merge.children) == 2
