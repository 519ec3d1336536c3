"""The builtin ``serial`` runner: every run in this process, one after another."""

from __future__ import annotations

from typing import Any

from pypet_rebuild.plugins import hookimpl
from pypet_rebuild.registries import RunnerRegistry
from pypet_rebuild.runner import DispatchSink, OutcomeSink, Runner, RunPlan, execute_run, reject_unknown_options

__all__ = ["SerialRunner"]


class SerialRunner(Runner):
    name = "serial"

    def __init__(self, **options: Any) -> None:
        reject_unknown_options(self.name, options)

    def execute(self, plan: RunPlan, on_outcome: OutcomeSink, on_dispatch: DispatchSink) -> None:
        for idx in plan.indices:
            on_dispatch(idx)
            on_outcome(execute_run(plan, idx))


@hookimpl
def pypet_rebuild_register_runners(registry: RunnerRegistry) -> None:
    registry.add(SerialRunner.name, SerialRunner)
