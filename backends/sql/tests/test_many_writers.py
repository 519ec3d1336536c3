"""Eight writer processes store runs of one trajectory at once, one is killed:
nothing lost, nothing stored twice (SQLite on one machine, real PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from pypet_rebuild.testing.writers import stress_writers


def test_eight_writers_and_a_killed_one_lose_and_duplicate_nothing(any_new_url: str, tmp_path: Path) -> None:
    report = stress_writers(any_new_url, tmp_path, writers=8, runs=240)
    assert report.killed_had_stored > 0, "the killed writer should have stored some runs first"
    assert report.lost == [] and report.duplicated == []
    assert report.foreign == [] and report.redone == []
