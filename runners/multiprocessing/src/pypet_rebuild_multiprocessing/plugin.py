"""Entry point ``multiprocessing``: registers the runner of the same name."""

from __future__ import annotations

from pypet_rebuild.plugins import hookimpl
from pypet_rebuild.registries import RunnerRegistry

from pypet_rebuild_multiprocessing.runner import MultiprocessingRunner


@hookimpl
def pypet_rebuild_register_runners(registry: RunnerRegistry) -> None:
    registry.add(MultiprocessingRunner.name, MultiprocessingRunner)
